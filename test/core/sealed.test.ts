import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// `npm test` builds first; these read what would be published.
const dist = new URL('../../dist/', import.meta.url);
const declarations = readdirSync(dist)
  .filter((file) => file.endsWith('.d.ts'))
  .map((file) => ({ file, text: readFileSync(new URL(file, dist), 'utf8') }));

describe('the published type declarations', () => {
  it('exist', () => {
    expect(declarations.map((d) => d.file)).toEqual(
      expect.arrayContaining(['index.d.ts', 'ws.d.ts', 'client.d.ts', 'redis.d.ts']),
    );
  });

  it.each(['Connection', 'Router', 'RateLimiter', 'WsTransport', 'HubCounters', 'ConnectionHost', 'ScriptRunner', 'NodeLease'])(
    'do not declare the internal %s',
    (name) => {
      for (const { file, text } of declarations) {
        expect(text, file).not.toMatch(new RegExp(`(class|interface) ${name}\\b`));
      }
    },
  );

  it('show the hub only its documented surface', () => {
    const index = declarations.map((d) => d.text).join('\n');
    const hub = /declare class SignallingHub(?:<[^>]*>)? extends[\s\S]*?\n}/.exec(index)?.[0] ?? '';
    expect(hub).not.toBe('');
    // Private members appear by name only, without their types.
    for (const member of ['router', 'host', 'counters', 'lifecycle'])
      expect(hub).toMatch(new RegExp(`private (readonly )?${member};`));
    for (const leaked of ['login(', 'joined(', 'release(', 'protocolError(', 'reportError(']) expect(hub).not.toContain(leaked);
  });
});
