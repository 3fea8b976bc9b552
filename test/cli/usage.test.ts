import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../helpers/cli-process.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** `--help` and `--version` work whatever else the environment holds: they are how a user finds out what is wrong. */
describe('--help and --version with a half-set environment', () => {
  let built: Awaited<ReturnType<typeof buildCli>>;
  beforeAll(async () => {
    built = await buildCli();
  }, 60_000);
  afterAll(() => built?.remove());

  const run = (args: string[], env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, [built.script, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

  const environments: Array<[string, NodeJS.ProcessEnv]> = [
    ['a TURN secret without a TURN URL', { SIGNALLING_HUB_TURN_SECRET: 'the-shared-secret' }],
    ['a bad PORT', { PORT: 'eighty' }],
    ['a bad log level', { SIGNALLING_HUB_LOG_LEVEL: 'loud' }],
  ];

  it.each(environments)('--help prints the help and exits 0 with %s', (_label, env) => {
    for (const flag of ['--help', '-h']) {
      const result = run([flag], env);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^Usage: signalling-hub \[options\]/);
    }
  });

  it.each(environments)('--version prints the version and exits 0 with %s', (_label, env) => {
    for (const flag of ['--version', '-v']) {
      const result = run([flag], env);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(`${version}\n`);
    }
  });

  it('without --help the same environment is still refused in one line, the secret never shown', () => {
    const result = run([], { SIGNALLING_HUB_TURN_SECRET: 'the-shared-secret' });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^signalling-hub: --turn-url must be given with --turn-secret/);
    expect(result.stderr).not.toContain('the-shared-secret');
  });

  it.each([['0/10'], ['10'], ['10/0'], ['many/10']])('refuses --log-limit %s in one line', (value) => {
    const result = run(['--log-limit', value], {});
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /^signalling-hub: --log-limit must be <lines>\/<seconds> \(whole numbers from 1\) or off, got /,
    );
  });
});
