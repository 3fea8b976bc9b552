// The `bun` binary of the `bun` dev dependency, for the rows on Bun.serve; undefined when it is not installed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export function bunBinary() {
  const candidates = process.env.BUN_BINARY === undefined ? [] : [process.env.BUN_BINARY];
  const platform = `@oven/bun-${process.platform}-${process.arch === 'arm64' ? 'aarch64' : process.arch}`;
  // The platform package's binary, or the one bun's postinstall moved into bun/bin.
  for (const [pkg, file] of [
    [platform, 'bin/bun'],
    ['bun', 'bin/bun.exe'],
  ]) {
    try {
      candidates.push(join(dirname(require.resolve(`${pkg}/package.json`)), file));
    } catch {
      // not installed for this platform
    }
  }
  return candidates.find((path) => existsSync(path) && spawnSync(path, ['--version']).status === 0);
}
