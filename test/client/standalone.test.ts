import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const src = new URL('../../src/', import.meta.url);

/** The relative imports (type-only ones included) of every file under `src/<folder>`. */
function importsOf(folder: string): Array<{ file: string; target: string }> {
  const found: Array<{ file: string; target: string }> = [];
  for (const file of readdirSync(new URL(`${folder}/`, src), { recursive: true }) as string[]) {
    if (!file.endsWith('.ts')) continue;
    const text = readFileSync(new URL(`${folder}/${file}`, src), 'utf8');
    for (const match of text.matchAll(/(?:import|export)[^'";]*?from\s+'(\.[^']+)'/g)) {
      found.push({ file: `${folder}/${file}`, target: new URL(match[1]!, new URL(`${folder}/${file}`, src)).pathname });
    }
  }
  return found;
}

describe('the client stands alone', () => {
  it('src/client imports nothing from src/core, src/transports or src/cluster (type-only imports included)', () => {
    const imports = importsOf('client');
    expect(imports.length).toBeGreaterThan(10);
    const wrong = imports.filter(({ target }) => /\/src\/(core|transports|cluster|ops|cli)\//.test(target));
    expect(wrong).toEqual([]);
  });

  it('src/common depends on nothing but itself', () => {
    const wrong = importsOf('common').filter(({ target }) => !target.includes('/src/common/'));
    expect(wrong).toEqual([]);
  });
});
