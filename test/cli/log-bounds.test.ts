import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/cli/log.js';
import { buildCli, CliProcess } from '../helpers/cli-process.js';
import { TestClient } from '../helpers/test-client.js';

/** Characters a log line must never hold raw: controls but the line end, format characters, separators. */
const unsafeRaw = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** What a client can make the CLI write at info and above is bounded, and nothing it sends can forge a line. */
describe('CLI logs under a hostile client', () => {
  let built: Awaited<ReturnType<typeof buildCli>>;
  const processes: CliProcess[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    built = await buildCli();
  }, 60_000);
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(processes.splice(0).map((node) => node.kill()));
  });
  afterAll(() => built?.remove());

  async function start(args: string[]): Promise<CliProcess> {
    const node = await CliProcess.start(built.script, ['--port', '0', '--host', '127.0.0.1', ...args]);
    processes.push(node);
    return node;
  }

  async function connect(url: string): Promise<TestClient> {
    const client = await TestClient.connect(url);
    clients.push(client);
    return client;
  }

  /** Sends `count` logins for another name from a logged-in client and waits for every refusal. */
  async function refuseLogins(client: TestClient, count: number): Promise<void> {
    for (let i = 0; i < count; i++) client.send({ type: 'login', name: 'someone-else' });
    for (let i = 0; i < count; i++) {
      expect(await client.next((frame) => frame.type === 'login')).toMatchObject({
        success: false,
        reason: 'already-logged-in',
      });
    }
  }

  /** The lines after the start, as a barrier: `marker` (a later event's line) must have been written. */
  async function linesUntil(node: CliProcess, marker: RegExp): Promise<string[]> {
    await expect.poll(() => node.lines().some((line) => marker.test(line)), { timeout: 10_000 }).toBe(true);
    return node.lines();
  }

  it('writes at most the default 50 "login refused" lines per 10 s for 1,000 refused logins', async () => {
    const node = await start([]);
    const flooder = await connect(node.url);
    expect(await flooder.login('flooder')).toMatchObject({ success: true });
    await refuseLogins(flooder, 1000);
    // Barrier: a join after the flood; its line comes after every line the flood caused.
    const sentinel = await connect(node.url);
    expect(await sentinel.login('sentinel')).toMatchObject({ success: true });
    const lines = await linesUntil(node, /INFO {2}peer joined name=sentinel /);
    const refused = lines.filter((line) => / INFO {2}login refused reason=already-logged-in /.test(line));
    // Within 10 s of the flood's first line: one window. Slower than that, one more window at most per 10 s.
    expect(refused.length).toBeGreaterThanOrEqual(50);
    expect(refused.length).toBeLessThanOrEqual(100);
  }, 30_000);

  it('summarises what it suppressed per kind once the window ends (--log-limit), and counts every refusal', async () => {
    const node = await start(['--log-limit', '5/1', '--log-format', 'json']);
    const flooder = await connect(node.url);
    expect(await flooder.login('flooder')).toMatchObject({ success: true });
    await refuseLogins(flooder, 1000);
    type Entry = { level: string; msg: string; reason?: string; kind?: string; suppressed?: number };
    const entries = () => node.lines().map((line) => JSON.parse(line) as Entry);
    const refused = () => entries().filter((entry) => entry.msg === 'login refused');
    const summaries = () => entries().filter((entry) => entry.kind === 'login-refused:already-logged-in');
    const counted = () => refused().length + summaries().reduce((sum, entry) => sum + (entry.suppressed ?? 0), 0);
    // Every refusal is a line or counted in a summary, once each window (1 s) has ended.
    await expect.poll(counted, { timeout: 10_000 }).toBe(1000);
    expect(summaries().length).toBeGreaterThanOrEqual(1);
    for (const summary of summaries()) {
      expect(summary).toMatchObject({
        level: 'info',
        msg: expect.stringMatching(/^login refused: \d+ more suppressed \(log limit 5 lines per 1 s\)$/),
      });
    }
    // At most 5 lines per window, and a window with suppressed lines ends with one summary.
    expect(refused().length).toBeLessThanOrEqual(5 * (summaries().length + 1));
    // Lines of another kind have their own budget.
    const other = await connect(node.url);
    expect(await other.login('other')).toMatchObject({ success: true });
    await expect.poll(() => entries().some((entry) => entry.msg === 'peer joined'), { timeout: 5000 }).toBe(true);
  }, 30_000);

  it.each([
    ['a right-to-left override', 'admin\u202etxt.exe'],
    ['a left-to-right isolate', 'a\u2066b'],
    ['a line separator', 'evil\u2028INFO peer joined'],
    ['a paragraph separator', 'x\u2029y'],
    ['a zero-width space', 'ad\u200bmin'],
    ['a byte order mark', '\ufeffadmin'],
    ['a soft hyphen', 'ad\u00admin'],
  ])(
    'refuses a name holding %s with invalid-name, and its refusal line holds no such character',
    async (_label, name) => {
      const node = await start([]);
      const client = await connect(node.url);
      expect(await client.login(name)).toMatchObject({ success: false, reason: 'invalid-name' });
      expect(await client.login('fine')).toMatchObject({ success: true });
      const lines = await linesUntil(node, /INFO {2}peer joined name=fine /);
      expect(lines.some((line) => /login refused reason=invalid-name/.test(line))).toBe(true);
      expect(lines.filter((line) => unsafeRaw.test(line))).toEqual([]);
    },
    30_000,
  );

  it.each(['text', 'json'] as const)(
    'escapes a name with a joiner (allowed: joined emoji need it) in %s logs, and JSON lines read back the exact name',
    async (format) => {
      const node = await start(['--log-format', format]);
      const name = 'fam\u200d👩\u200c!';
      const client = await connect(node.url);
      expect(await client.login(name)).toMatchObject({ success: true, name });
      const lines = await linesUntil(node, /peer joined/);
      const joined = lines.find((line) => line.includes('peer joined'))!;
      expect(joined).not.toMatch(unsafeRaw);
      expect(joined).toContain('fam\\u200d👩\\u200c!');
      if (format === 'json') expect((JSON.parse(joined) as { name: string }).name).toBe(name);
    },
    30_000,
  );
});

describe('the CLI logger', () => {
  it.each(['text', 'json'] as const)('escapes controls, bidi controls and separators in %s messages and values', (format) => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', format, limit: false, write: (line) => lines.push(line) });
    const hostile = 'a\nINFO  forged\r\u202e\u2066\u2028\u2029\u0085\u007f\u200b\u{e0041}\ud800z';
    log.info(hostile, { name: hostile });
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toMatch(unsafeRaw);
    expect(line.slice(0, -1)).not.toMatch(/[\ud800-\udfff](?![\udc00-\udfff])/);
    for (const escape of ['\\u202e', '\\u2066', '\\u2028', '\\u2029', '\\u0085', '\\u007f', '\\u200b', '\\udb40\\udc41'])
      expect(line).toContain(escape);
    if (format === 'json') {
      const entry = JSON.parse(line) as { msg: string; name: string };
      expect(entry.name).toBe(hostile);
      expect(entry.msg).toBe(hostile);
    }
  });
});
