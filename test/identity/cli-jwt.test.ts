import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildCli, CliProcess } from '../helpers/cli-process.js';
import { TestClient } from '../helpers/test-client.js';

const b64 = (value: object | Buffer) =>
  (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))).toString('base64url');
const SECRET = 'a-shared-secret-of-at-least-32-bytes!';

function hs256(claims: object, secret = SECRET, header: object = { alg: 'HS256', typ: 'JWT' }): string {
  const head = `${b64(header)}.${b64(claims)}`;
  return `${head}.${b64(createHmac('sha256', secret).update(head).digest())}`;
}

/** The handshake's HTTP status (101 when it opened: the socket is closed again at once). */
function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => {
      socket.terminate();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    socket.once('error', reject);
  });
}

describe('the CLI checks JWTs: the token decides who the peer is', () => {
  let built: Awaited<ReturnType<typeof buildCli>>;
  const dir = mkdtempSync(join(tmpdir(), 'signalling-hub-jwt-'));
  const processes: CliProcess[] = [];
  const clients: TestClient[] = [];
  beforeAll(async () => {
    built = await buildCli();
  }, 60_000);
  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.terminate();
    for (const node of processes.splice(0)) await node.kill();
  });
  afterAll(() => {
    built?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const node = await CliProcess.start(built.script, ['--port', '0', '--host', '127.0.0.1', ...args], 15_000, env);
    processes.push(node);
    return node;
  };

  it('HS256 from the environment: sub becomes the name (query parameter or Bearer), bad tokens get 401', async () => {
    const node = await start([], { SIGNALLING_HUB_JWT_SECRET: SECRET });
    const now = Math.floor(Date.now() / 1000);
    const good = hs256({ sub: 'ada', exp: now + 60 });
    const viaQuery = await TestClient.connect(`${node.url}?token=${good}`);
    clients.push(viaQuery);
    // Whatever name the login asks for, the token's subject is the name.
    expect(await viaQuery.login('mallory')).toMatchObject({ success: true, name: 'ada' });
    const viaHeader = await TestClient.connect(node.url, { headers: { authorization: `Bearer ${hs256({ sub: 'bob' })}` } });
    clients.push(viaHeader);
    expect(await viaHeader.request({ type: 'login' })).toMatchObject({ success: true, name: 'bob' });

    expect(await status(node.url)).toBe(401);
    expect(await status(`${node.url}?token=${hs256({ sub: 'ada', exp: now - 3600 })}`)).toBe(401);
    expect(await status(`${node.url}?token=${hs256({ sub: 'ada', nbf: now + 3600 })}`)).toBe(401);
    expect(await status(`${node.url}?token=${hs256({ sub: 'ada' }, 'another-secret-of-at-least-32-bytes')}`)).toBe(401);
    expect(await status(`${node.url}?token=${hs256({ exp: now + 60 })}`)).toBe(401);
    const unsigned = `${b64({ alg: 'none' })}.${b64({ sub: 'ada' })}.`;
    expect(await status(`${node.url}?token=${unsigned}`)).toBe(401);
    // The secret never shows in the output.
    expect(node.output).not.toContain(SECRET);
  });

  it('RS256 with a public key file; an HS256 token signed with the public key is refused', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const keyFile = join(dir, 'public.pem');
    writeFileSync(keyFile, pem);
    const node = await start(['--jwt-public-key-file', keyFile]);
    const head = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ sub: 'carol', exp: Math.floor(Date.now() / 1000) + 60 })}`;
    const token = `${head}.${b64(sign('sha256', Buffer.from(head), privateKey))}`;
    const client = await TestClient.connect(`${node.url}?token=${token}`);
    clients.push(client);
    expect(await client.login('x')).toMatchObject({ success: true, name: 'carol' });
    // Algorithm confusion: the public key used as an HMAC secret.
    expect(await status(`${node.url}?token=${hs256({ sub: 'carol' }, pem)}`)).toBe(401);
  });
});
