import { createHmac } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseCliArgs } from '../src/cli/args.js';
import { buildCli, CliProcess } from './helpers/cli-process.js';
import { freePort } from './helpers/redis-server.js';
import { TestClient } from './helpers/test-client.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string };

/** Every flag of the CLI, with the default `--help` must show (undefined: none shown). */
const everyFlag: Array<[string, string | undefined]> = [
  ['port', '9090; env PORT'],
  ['host', 'every interface; env HOST'],
  ['path', '/; env SIGNALLING_HUB_PATH'],
  ['redis', 'none (one node); env SIGNALLING_HUB_REDIS'],
  ['redis-cluster', 'none; env SIGNALLING_HUB_REDIS_CLUSTER'],
  ['links', 'none; env SIGNALLING_HUB_LINKS'],
  ['links-advertise', 'the --links host; env SIGNALLING_HUB_LINKS_ADVERTISE'],
  ['origins', 'any; env SIGNALLING_HUB_ORIGINS'],
  ['rate-limit', '1000:2000; env SIGNALLING_HUB_RATE_LIMIT'],
  ['max-message-bytes', '65536; env SIGNALLING_HUB_MAX_MESSAGE_BYTES'],
  ['login-timeout', '30000; env SIGNALLING_HUB_LOGIN_TIMEOUT'],
  ['heartbeat', '30000; env SIGNALLING_HUB_HEARTBEAT'],
  ['resume-grace', '15000; env SIGNALLING_HUB_RESUME_GRACE'],
  ['drain-timeout', '5000 more than --resume-grace; env SIGNALLING_HUB_DRAIN_TIMEOUT'],
  ['turn-secret', 'none; env SIGNALLING_HUB_TURN_SECRET'],
  ['turn-url', 'none; env SIGNALLING_HUB_TURN_URL'],
  ['turn-ttl', '3600; env SIGNALLING_HUB_TURN_TTL'],
  ['http-fallback', 'on; env SIGNALLING_HUB_HTTP_FALLBACK'],
  ['assign-names', 'off; env SIGNALLING_HUB_ASSIGN_NAMES'],
  ['duplicate-names', 'refuse; env SIGNALLING_HUB_DUPLICATE_NAMES'],
  ['max-connections-per-address', '0 (no cap); env SIGNALLING_HUB_MAX_CONNECTIONS_PER_ADDRESS'],
  ['connection-rate', 'off; env SIGNALLING_HUB_CONNECTION_RATE'],
  ['trust-proxy', 'none; env SIGNALLING_HUB_TRUST_PROXY'],
  ['jwt-secret', 'none; env SIGNALLING_HUB_JWT_SECRET'],
  ['jwt-secret-file', 'none; env SIGNALLING_HUB_JWT_SECRET_FILE'],
  ['jwt-public-key-file', 'none; env SIGNALLING_HUB_JWT_PUBLIC_KEY_FILE'],
  ['peerjs', 'off; env SIGNALLING_HUB_PEERJS'],
  ['peerjs-key', 'peerjs; env SIGNALLING_HUB_PEERJS_KEY'],
  ['y-webrtc', 'off; env SIGNALLING_HUB_Y_WEBRTC'],
  ['metrics', 'off; env SIGNALLING_HUB_METRICS'],
  ['log-format', 'text; env SIGNALLING_HUB_LOG_FORMAT'],
  ['log-level', 'info; env SIGNALLING_HUB_LOG_LEVEL'],
  ['log-limit', '50/10; env SIGNALLING_HUB_LOG_LIMIT'],
  ['version', undefined],
  ['help', undefined],
];

describe('the signalling-hub CLI', () => {
  let built: Awaited<ReturnType<typeof buildCli>>;
  let cli: string;
  const processes: CliProcess[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    built = await buildCli();
    cli = built.script;
  }, 60_000);
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(processes.splice(0).map((process) => process.kill()));
  });
  afterAll(() => built?.remove());

  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

  async function start(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliProcess> {
    const node = await CliProcess.start(cli, ['--port', '0', '--host', '127.0.0.1', ...args], 15_000, env);
    processes.push(node);
    return node;
  }

  async function connect(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
    const client = await TestClient.connect(url, options);
    clients.push(client);
    return client;
  }

  it('prints its version with --version and -v', () => {
    for (const flag of ['--version', '-v']) {
      const result = run([flag]);
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(`${version}\n`);
    }
  });

  it('--help lists every flag with its default and its environment variable', () => {
    const result = run(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: signalling-hub \[options\]/);
    const text = result.stdout.replace(/\s+/g, ' ');
    for (const [flag, notes] of everyFlag) {
      expect(text).toContain(`--${flag}`);
      if (notes !== undefined) expect(text).toMatch(new RegExp(`--${flag} .*?\\(default: ${notes.replace(/[()|]/g, '\\$&')}\\)`));
    }
    expect(result.stdout.match(/\(default: /g)).toHaveLength(everyFlag.filter(([, notes]) => notes !== undefined).length);
  });

  it.each([
    [['--port', 'abc'], {}, /^signalling-hub: --port must be 0–65535, got abc/],
    [['--port', '70000'], {}, /--port must be 0–65535/],
    [['--path', 'no-slash'], {}, /--path must be a path starting with "\/"/],
    [['--links', '127.0.0.1:0'], {}, /--links must be given with --redis or --redis-cluster/],
    [['--redis', 'redis://127.0.0.1:1', '--links', 'nowhere'], {}, /--links must be host:port/],
    [['--links-advertise', '10.0.0.5'], {}, /--links-advertise must be given with --links/],
    [['--bogus'], {}, /unknown option --bogus/],
    [['--prot', '1'], {}, /unknown option --prot; did you mean --port\?/],
    [['--max-message-bytes', 'lots'], {}, /--max-message-bytes must be a whole number from 64 to \d+, got "lots"/],
    [['--login-timeout=-5'], {}, /--login-timeout must be a whole number from 0 to \d+, got -5/],
    [['--rate-limit', '0'], {}, /--rate-limit rate must be a positive finite number, got 0/],
    [['--rate-limit', '10:0'], {}, /--rate-limit burst must be a whole number ≥ 1, got 0/],
    [['--rate-limit', 'fast'], {}, /--rate-limit rate must be a positive finite number, got "fast"/],
    [['--heartbeat', '1.5'], {}, /--heartbeat must be a whole number from 0 to \d+, got 1.5/],
    [['--origins', 'https://App.example/'], {}, /--origins must be an origin as browsers send it/],
    [['--log-level', 'loud'], {}, /--log-level must be error, warn, info, debug, got "loud"/],
    [['--log-format', 'xml'], {}, /--log-format must be text or json/],
    [['--redis', 'localhost:6379'], {}, /--redis must be a redis:\/\/ or rediss:\/\/ URL/],
    [['--redis-cluster', 'redis://a:1,b:2'], {}, /--redis-cluster must be redis:\/\/ or rediss:\/\/ URLs, comma-separated/],
    [['--redis-cluster', 'redis://:pw@a:1,nope'], {}, /URLs, comma-separated, got redis:\/\/a:1,nope \(see/],
    [['--redis', 'redis://a:1', '--redis-cluster', 'redis://b:2'], {}, /--redis-cluster must be left out when --redis is given/],
    [['--duplicate-names', 'merge'], {}, /--duplicate-names must be refuse, replace or suffix, got "merge"/],
    [['--max-connections-per-address', 'many'], {}, /--max-connections-per-address must be a whole number/],
    [['--connection-rate', '0'], {}, /--connection-rate must be <per second>\[:<burst>\]/],
    [['--trust-proxy', '10.0.0.0/99'], {}, /--trust-proxy must be a list of proxy addresses or CIDR ranges/],
    [['--jwt-secret', 'short'], {}, /--jwt-secret must be a secret of at least 32 bytes, got a shorter one/],
    [['--jwt-public-key-file', '/nonexistent/key.pem'], {}, /--jwt-public-key-file must be a readable file/],
    [[], { PORT: 'eighty' }, /^signalling-hub: PORT must be 0–65535, got eighty/],
    [[], { SIGNALLING_HUB_LOGIN_TIMEOUT: 'soon' }, /SIGNALLING_HUB_LOGIN_TIMEOUT must be a whole number/],
    [[], { SIGNALLING_HUB_METRICS: 'maybe' }, /SIGNALLING_HUB_METRICS must be 1, true, yes, on, 0, false, no or off/],
  ])('refuses %j %j with exit code 2 and one line', (args, env, message) => {
    const result = run(args, env);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });

  it('takes --redis-cluster as comma-separated seed URLs (or SIGNALLING_HUB_REDIS_CLUSTER)', () => {
    expect(parseCliArgs(['--redis-cluster', 'redis://10.0.0.1:7000, rediss://u:p@10.0.0.2:7001'])).toMatchObject({
      redis: undefined,
      redisCluster: ['redis://10.0.0.1:7000', 'rediss://u:p@10.0.0.2:7001'],
    });
    expect(parseCliArgs([], { SIGNALLING_HUB_REDIS_CLUSTER: 'redis://a:1' })).toMatchObject({ redisCluster: ['redis://a:1'] });
  });

  it('defaults to port 9090, every interface, path / and the hub defaults', () => {
    expect(parseCliArgs([])).toMatchObject({
      port: 9090,
      host: undefined,
      path: '/',
      hub: {},
      heartbeat: undefined,
      metrics: false,
      logFormat: 'text',
      logLevel: 'info',
      help: false,
      version: false,
    });
  });

  it('takes every flag from the environment, and a flag wins over its variable', () => {
    const env = {
      PORT: '1234',
      HOST: '::1',
      SIGNALLING_HUB_PATH: '/env',
      SIGNALLING_HUB_REDIS: 'redis://:secret@127.0.0.1:6379',
      SIGNALLING_HUB_ORIGINS: 'https://a.example, https://b.example',
      SIGNALLING_HUB_RATE_LIMIT: '50',
      SIGNALLING_HUB_MAX_MESSAGE_BYTES: '4096',
      SIGNALLING_HUB_LOGIN_TIMEOUT: '0',
      SIGNALLING_HUB_HEARTBEAT: '5000',
      SIGNALLING_HUB_METRICS: 'true',
      SIGNALLING_HUB_HTTP_FALLBACK: 'off',
      SIGNALLING_HUB_RESUME_GRACE: '2000',
      SIGNALLING_HUB_DRAIN_TIMEOUT: '3000',
      SIGNALLING_HUB_LOG_FORMAT: 'json',
      SIGNALLING_HUB_LOG_LEVEL: 'debug',
      SIGNALLING_HUB_ASSIGN_NAMES: 'yes',
      SIGNALLING_HUB_DUPLICATE_NAMES: 'suffix',
      SIGNALLING_HUB_MAX_CONNECTIONS_PER_ADDRESS: '100',
      SIGNALLING_HUB_CONNECTION_RATE: '5:20',
      SIGNALLING_HUB_TRUST_PROXY: '127.0.0.1, 10.0.0.0/8',
    };
    expect(parseCliArgs([], env)).toEqual({
      port: 1234,
      host: '::1',
      path: '/env',
      redis: 'redis://:secret@127.0.0.1:6379',
      origins: ['https://a.example', 'https://b.example'],
      hub: { rateLimit: { messagesPerSecond: 50, burst: 100 }, maxMessageBytes: 4096, loginTimeout: 0, resumeGrace: 2000 },
      drainTimeout: 3000,
      heartbeat: 5000,
      httpFallback: false,
      metrics: true,
      logFormat: 'json',
      logLevel: 'debug',
      logLimit: { lines: 50, seconds: 10 },
      identity: {
        assignNames: true,
        duplicateNames: 'suffix',
        maxConnectionsPerAddress: 100,
        connectionRate: { perSecond: 5, burst: 20 },
        trustProxy: ['127.0.0.1', '10.0.0.0/8'],
        jwt: undefined,
      },
      help: false,
      version: false,
    });
    const flags = ['--port', '80', '--path', '/flag', '--rate-limit', 'off', '--log-level', 'warn', '--metrics'];
    expect(parseCliArgs(flags, { ...env, SIGNALLING_HUB_METRICS: '0' })).toMatchObject({
      port: 80,
      host: '::1',
      path: '/flag',
      hub: { rateLimit: false, maxMessageBytes: 4096 },
      metrics: true,
      logLevel: 'warn',
    });
  });

  it('listens where PORT, HOST and SIGNALLING_HUB_PATH say, unless a flag says otherwise', async () => {
    const port = await freePort();
    const node = await CliProcess.start(cli, ['--path', '/flag'], 15_000, {
      PORT: String(port),
      HOST: '127.0.0.1',
      SIGNALLING_HUB_PATH: '/env',
    });
    processes.push(node);
    expect(node.url).toBe(`ws://127.0.0.1:${port}/flag`);
    expect(await (await connect(node.url)).login('UserA')).toMatchObject({ success: true });
  });

  it('names the WebSocket URL, the demo URL and the real bind address in its ready line', async () => {
    const node = await start(['--path', '/signal']);
    const port = new URL(node.url).port;
    const ready = node.lines().find((line) => line.includes('listening on'))!;
    expect(ready).toMatch(
      new RegExp(
        `^\\S+Z INFO  listening on ws://127\\.0\\.0\\.1:${port}/signal demo=http://127\\.0\\.0\\.1:${port}/ address=127\\.0\\.0\\.1:${port} version=${version.replace(/\./g, '\\.')}$`,
      ),
    );
  });

  it('serves a tutorial conversation, 404s other paths, and shuts down cleanly on SIGTERM', async () => {
    const node = await start(['--path', '/signal']);
    expect(node.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/signal$/);
    const a = await connect(node.url);
    const b = await connect(node.url);
    expect(await a.login('UserA')).toMatchObject({ success: true });
    expect(await b.login('UserB')).toMatchObject({ success: true });
    a.send({ type: 'offer', offer: { sdp: 'o' }, name: 'UserB' });
    expect(await b.nextOf('offer')).toEqual({ type: 'offer', offer: { sdp: 'o' }, name: 'UserA' });
    b.send({ type: 'answer', answer: { sdp: 'a' }, name: 'UserA' });
    expect(await a.nextOf('answer')).toEqual({ type: 'answer', answer: { sdp: 'a' }, name: 'UserB' });
    expect(await a.request('garbage')).toMatchObject({ type: 'error', code: 'invalid-json' });

    const status = await new Promise<number>((resolve) => {
      const stray = new WebSocket(node.url.replace('/signal', '/elsewhere'));
      stray.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      stray.on('error', () => {});
    });
    expect(status).toBe(404);

    await node.kill('SIGTERM');
    expect((await a.closed).code).toBe(1001);
    expect((await b.closed).code).toBe(1001);
    expect((await node.exited).code).toBe(0);
  });

  it('applies the hub options given on the command line', async () => {
    const node = await start([
      '--max-message-bytes',
      '200',
      '--login-timeout',
      '300',
      '--rate-limit',
      '1:1',
      '--origins',
      'https://ok.example',
      '--heartbeat',
      '100',
    ]);
    // Rate limit: one message, then `rate-limited`.
    const a = await connect(node.url);
    expect(await a.login('UserA')).toMatchObject({ success: true });
    expect(await a.request({ type: 'offer', offer: {}, name: 'nobody' })).toMatchObject({ code: 'rate-limited' });
    // Largest message: above 200 bytes the connection is closed with 1009.
    const big = await connect(node.url);
    big.send({ type: 'login', name: 'x'.repeat(300) });
    expect((await big.closed).code).toBe(1009);
    // Login timeout: 300 ms without a login closes with 4408.
    const idle = await connect(node.url);
    expect((await idle.closed).code).toBe(4408);
    // Origins: another browser origin is refused before the upgrade.
    const refused = await new Promise<number>((resolve) => {
      const socket = new WebSocket(node.url, { headers: { origin: 'https://evil.example' } });
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      socket.on('error', () => {});
    });
    expect(refused).toBe(403);
    // Heartbeat: pings every 100 ms.
    const pinged = await new Promise<boolean>((resolve, reject) => {
      const socket = new WebSocket(node.url, { headers: { origin: 'https://ok.example' } });
      socket.once('ping', () => {
        socket.close();
        resolve(true);
      });
      socket.once('error', reject);
    });
    expect(pinged).toBe(true);
  });

  it('logs one text line per start, join, leave, refused login and shutdown, on stderr, and no token', async () => {
    const node = await start([]);
    const a = await connect(node.url);
    const b = await connect(node.url);
    const login = await a.login('Alice Smith');
    expect(await b.login('Alice Smith')).toMatchObject({ success: false, reason: 'name-taken' });
    expect(await a.request('garbage')).toMatchObject({ code: 'invalid-json' });
    a.close(1000);
    await expect.poll(() => node.output).toContain('peer left');
    await node.kill('SIGTERM');
    const lines = node.lines().map((line) => line.replace(/^\S+Z /, ''));
    expect(lines).toEqual([
      expect.stringMatching(/^INFO {2}listening on ws:/),
      expect.stringMatching(/^INFO {2}peer joined name="Alice Smith" id=1 address=127\.0\.0\.1$/),
      'INFO  login refused reason=name-taken id=2',
      'INFO  peer left name="Alice Smith" id=1 reason=closed code=1000',
      'INFO  draining signal=SIGTERM peers=0',
      'INFO  shut down',
    ]);
    expect(node.output).not.toContain(String(login.token));
  });

  it('logs JSON lines with --log-format json, protocol errors at debug, and only warnings and errors at --log-level warn', async () => {
    const node = await start(['--log-format', 'json', '--log-level', 'debug']);
    const a = await connect(node.url);
    expect(await a.login('UserA')).toMatchObject({ success: true });
    expect(await a.request('garbage')).toMatchObject({ code: 'invalid-json' });
    await expect.poll(() => node.output).toContain('protocol error');
    const entries = node.lines().map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const entry of entries) expect(Object.keys(entry).slice(0, 3)).toEqual(['time', 'level', 'msg']);
    expect(entries[0]).toMatchObject({ level: 'info', version });
    expect(entries[0]!.msg).toMatch(/^listening on ws:/);
    expect(entries[1]).toMatchObject({ level: 'info', msg: 'peer joined', name: 'UserA', id: 1 });
    expect(entries[2]).toMatchObject({ level: 'debug', msg: 'protocol error', code: 'invalid-json', id: 1, name: 'UserA' });

    // At --log-level warn a quiet start prints nothing: wait for it through /healthz.
    const port = await freePort();
    const quiet = spawn(process.execPath, [cli, '--port', String(port), '--host', '127.0.0.1', '--log-level', 'warn'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    quiet.stdout.on('data', (data: Buffer) => (output += data.toString()));
    quiet.stderr.on('data', (data: Buffer) => (output += data.toString()));
    const exited = new Promise((resolve) => quiet.once('exit', resolve));
    try {
      await expect
        .poll(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status, { timeout: 15_000 })
        .toBe(200);
      const b = await connect(`ws://127.0.0.1:${port}/`);
      expect(await b.login('UserB')).toMatchObject({ success: true });
    } finally {
      quiet.kill('SIGTERM');
      await exited;
    }
    expect(output).toBe('');
  });

  it('issues TURN credentials from --turn-url and SIGNALLING_HUB_TURN_SECRET, and never shows the secret', async () => {
    const secret = 'cli-secret-0c41e9';
    const node = await start(
      ['--turn-url', 'turn:127.0.0.1:3478', '--turn-url', 'turns:turn.example.com:5349', '--turn-ttl', '120'],
      {
        SIGNALLING_HUB_TURN_SECRET: secret,
      },
    );
    const a = await connect(node.url);
    const reply = await a.login('turnuser');
    const [server] = reply.iceServers as Array<{ urls: string[]; username: string; credential: string }>;
    expect(server!.urls).toEqual(['turn:127.0.0.1:3478', 'turns:turn.example.com:5349']);
    expect(server!.username).toMatch(/^\d+:turnuser$/);
    expect(server!.credential).toBe(createHmac('sha1', secret).update(server!.username).digest('base64'));
    await node.kill('SIGTERM');
    expect(node.output).not.toContain(secret);
    const missing = run(['--turn-url', 'turn:x']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--turn-secret must be given/);
    const bad = run(['--turn-url', 'http://x', '--turn-secret', secret]);
    expect(bad.stderr).toMatch(/--turn-url must be/);
    expect(bad.stderr).not.toContain(secret);
  });

  it('serves the HTTP fallback by default, and not with --http-fallback off', async () => {
    const on = await start([]);
    expect((await fetch(`${on.origin}/?transport=http`, { method: 'POST' })).status).toBe(201);
    const off = await start(['--http-fallback', 'off']);
    expect((await fetch(`${off.origin}/?transport=http`, { method: 'POST' })).status).not.toBe(201);
    expect(run(['--http-fallback', 'maybe']).stderr).toMatch(/--http-fallback must be on or off/);
  });

  it('drains on SIGTERM: a resumable peer is told 4503 (reconnect and resume), a classic one 1001', async () => {
    const node = await start(['--resume-grace', '300']);
    const resumable = await connect(node.url);
    const classic = await connect(node.url);
    await resumable.login('keeps', { resume: true });
    await classic.login('plain');
    node.child.kill('SIGTERM');
    expect((await resumable.closed).code).toBe(4503);
    expect((await classic.closed).code).toBe(1001);
    expect((await node.exited).code).toBe(0);
    expect(node.output).toContain('peer dropped, may resume');
  });

  it('answers GET /healthz and /readyz, and /readyz says 503 once it shuts down', async () => {
    const node = await start([]);
    const live = await fetch(`${node.origin}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${node.origin}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { hub: 'open', server: 'listening', backplane: 'none' } });
    expect((await fetch(`${node.origin}/readyz`, { method: 'POST' })).status).toBe(405);

    // A client that does not answer the close handshake keeps the shutdown going for a while.
    const stuck = await connect(node.url);
    expect(await stuck.login('Stuck')).toMatchObject({ success: true });
    stuck.pauseReading();
    node.child.kill('SIGTERM');
    await expect.poll(() => node.output).toContain('draining');
    const draining = await fetch(`${node.origin}/readyz`);
    expect(draining.status).toBe(503);
    // Drained at once (no resumable peer), then closed while the stuck socket keeps the server up.
    expect(await draining.json()).toMatchObject({
      status: 'not-ready',
      checks: { hub: expect.stringMatching(/^(draining|closed)$/) },
    });
    expect((await node.exited).code).toBe(0);
  });

  it('serves GET /metrics only with --metrics, and its counters move with real traffic', async () => {
    const plain = await start([]);
    expect((await fetch(`${plain.origin}/metrics`)).status).toBe(404);

    const node = await start(['--metrics']);
    const scrape = async () => {
      const response = await fetch(`${node.origin}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      const values = new Map<string, number>();
      for (const line of (await response.text()).split('\n')) {
        const match = /^(\w+(?:\{[^}]*\})?) (\S+)$/.exec(line);
        if (match) values.set(match[1]!, Number(match[2]));
      }
      return values;
    };
    const before = await scrape();
    expect(before.get('signalling_hub_peers')).toBe(0);
    expect(before.get('signalling_hub_logins_total')).toBe(0);
    expect(before.get('signalling_hub_backplane_state{state="none"}')).toBe(1);
    expect(before.get('process_resident_memory_bytes')).toBeGreaterThan(0);

    const a = await connect(node.url);
    const b = await connect(node.url);
    await a.login('UserA');
    await b.login('UserB');
    expect(await (await connect(node.url)).login('UserA')).toMatchObject({ success: false });
    for (let i = 0; i < 3; i++) a.send({ type: 'candidate', candidate: { i }, name: 'UserB' });
    for (let i = 0; i < 3; i++) await b.nextOf('candidate');
    expect(await a.request('garbage')).toMatchObject({ code: 'invalid-json' });

    const after = await scrape();
    expect(after.get('signalling_hub_peers')).toBe(2);
    expect(after.get('signalling_hub_connections')).toBe(3);
    expect(after.get('signalling_hub_logins_total')).toBe(2);
    expect(after.get('signalling_hub_login_refusals_total{reason="name-taken"}')).toBe(1);
    expect(after.get('signalling_hub_relays_total{type="candidate",scope="local"}')).toBe(3);
    expect(after.get('signalling_hub_protocol_errors_total{code="invalid-json"}')).toBe(1);
    expect(after.get('signalling_hub_received_bytes_total')).toBeGreaterThan(before.get('signalling_hub_received_bytes_total')!);
    expect(after.get('signalling_hub_sent_bytes_total')).toBeGreaterThan(before.get('signalling_hub_sent_bytes_total')!);
    // Never a peer's name in a label.
    expect([...after.keys()].join('\n')).not.toMatch(/User[AB]/);

    b.close(1000);
    await expect.poll(async () => (await scrape()).get('signalling_hub_closes_total{code="1000"}')).toBe(1);
  });
});
