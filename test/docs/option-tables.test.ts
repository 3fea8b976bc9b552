/**
 * The option tables of the docs against the code, both ways: every option the code has a
 * default for is documented, every documented option exists, and the documented default is
 * the code's.
 *
 * Table format (keep it simple, so anyone can add a row):
 *
 *     <!-- option-table: hub -->
 *     | option | default | meaning |
 *     | --- | --- | --- |
 *     | `maxNameLength` | `128` | … |
 *
 * - The marker comment names the table (a key of `tables` below) on the line right before it;
 *   each table appears once across the files in `files`.
 * - The first column holds the option in backticks. In the CLI table it holds the flag
 *   (`--port <n>`, or `-v`, `--version`), the `environment` column its variable in backticks.
 * - The `default` column (any case) starts with the default as a JavaScript literal in
 *   backticks (`128`, `'/'`, `{ messagesPerSecond: 1000, burst: 2000 }`, `Infinity` for no
 *   limit); units may follow (`5000` ms). Options without a plain value (a hook, a class, one
 *   derived from another option) are written in words (`—`, "2 × `maxPayload` + 4096") and
 *   only checked to exist. In the CLI table the default is `--help`'s, backticks aside.
 * - `\|` stands for a `|` inside a cell.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliFlags } from '../../src/cli/args.js';
import { clientDefaults, peerConnectionManagerDefaults } from '../../src/client.js';
import { hubDefaults } from '../../src/index.js';
import { peerjsDefaults } from '../../src/peerjs.js';
import { yWebrtcDefaults } from '../../src/y-webrtc.js';
import { redisBackplaneDefaults } from '../../src/redis.js';
import { attachDefaults, httpFallbackDefaults } from '../../src/ws.js';
import { bunHandlerDefaults } from '../../src/bun.js';

const files = ['README.md', 'docs/PROTOCOL.md', 'docs/CLIENT.md', 'docs/CLUSTER.md', 'docs/PEERJS.md', 'docs/Y-WEBRTC.md'];

/** Each documented table and the frozen defaults it documents. */
const tables: Record<string, object> = {
  hub: hubDefaults,
  attach: attachDefaults,
  'http-fallback': httpFallbackDefaults,
  redis: redisBackplaneDefaults,
  client: clientDefaults,
  'peer-connection-manager': peerConnectionManagerDefaults,
  bun: bunHandlerDefaults,
  peerjs: peerjsDefaults,
  'y-webrtc': yWebrtcDefaults,
};

interface Table {
  readonly file: string;
  readonly header: string[];
  readonly rows: string[][];
}

function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

/** Every marked table of the docs, by name. */
function documentedTables(): Map<string, Table[]> {
  const found = new Map<string, Table[]>();
  for (const file of files) {
    const lines = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8').split('\n');
    lines.forEach((line, index) => {
      const marker = /^<!--\s*option-table:\s*([\w-]+)\s*-->$/.exec(line.trim());
      if (marker === null) return;
      const block: string[] = [];
      for (let i = index + 1; i < lines.length && lines[i]!.trim().startsWith('|'); i++) block.push(lines[i]!);
      const [header = '', , ...rows] = block;
      const list = found.get(marker[1]!) ?? [];
      list.push({ file, header: cells(header).map((cell) => cell.toLowerCase()), rows: rows.map(cells) });
      found.set(marker[1]!, list);
    });
  }
  return found;
}

const documented = documentedTables();

function only(name: string): Table {
  const list = documented.get(name) ?? [];
  expect(
    list.map((table) => table.file),
    `tables marked "${name}"`,
  ).toHaveLength(1);
  return list[0]!;
}

/** The first code span of a cell, or undefined. */
function code(cell: string): string | undefined {
  return /`([^`]+)`/.exec(cell)?.[1];
}

/** A JavaScript literal as the docs write one: numbers, 'strings', booleans, Infinity, `{ key: value }`. */
function parseLiteral(text: string): unknown {
  if (text === 'Infinity') return Infinity;
  const json = text.replace(/'/g, '"').replace(/([{,]\s*)([A-Za-z_$][\w$]*)\s*:/g, '$1"$2":');
  return JSON.parse(json) as unknown;
}

describe('option tables in the docs', () => {
  it('are all known tables, each marked once', () => {
    expect([...documented.keys()].sort()).toEqual([...Object.keys(tables), 'cli'].sort());
    for (const [name, list] of documented) {
      expect(list.length, name).toBe(1);
      expect(list[0]!.rows.length, `rows of ${name}`).toBeGreaterThan(0);
    }
  });

  it.each(Object.keys(tables))('%s: every option documented, every documented one real, defaults agree', (name) => {
    const table = only(name);
    const defaults = tables[name] as Readonly<Record<string, unknown>>;
    const column = table.header.indexOf('default');
    expect(column, `${table.file}: a "default" column`).toBeGreaterThan(0);
    const rows = new Map(table.rows.map((row) => [code(row[0]!) ?? row[0]!, row]));
    expect([...rows.keys()].sort(), `${table.file}: options of ${name}`).toEqual(Object.keys(defaults).sort());
    for (const [option, row] of rows) {
      const expected = defaults[option];
      if (expected === undefined || typeof expected === 'function') continue;
      const cell = row[column]!;
      const literal = cell.startsWith('`') ? code(cell) : undefined;
      expect(literal, `${table.file}: ${name}.${option} default (${cell}) as a literal in backticks`).toBeDefined();
      const value = parseLiteral(literal!);
      // The resolved options spell "no limit" as null; users (and the docs) write Infinity.
      if (expected === null && value === Infinity) continue;
      expect(value, `${table.file}: ${name}.${option}`).toEqual(expected);
    }
  });

  it('cli: every flag documented with its variable and default, and no other', () => {
    const table = only('cli');
    const [envColumn, defaultColumn] = [table.header.indexOf('environment'), table.header.indexOf('default')];
    expect(envColumn).toBeGreaterThan(0);
    expect(defaultColumn).toBeGreaterThan(0);
    const rows = new Map(table.rows.map((row) => [/--([a-z-]+)/.exec(row[0]!)?.[1] ?? row[0]!, row]));
    expect([...rows.keys()].sort()).toEqual(cliFlags.map((flag) => flag.name).sort());
    for (const flag of cliFlags) {
      const row = rows.get(flag.name)!;
      expect(row[0], `--${flag.name}`).toContain(`\`--${flag.name}${flag.value === undefined ? '' : ` ${flag.value}`}\``);
      if (flag.short !== undefined) expect(row[0]).toContain(`\`-${flag.short}\``);
      expect(code(row[envColumn]!), `--${flag.name} environment`).toBe(flag.env);
      expect(row[defaultColumn]!.replace(/`/g, ''), `--${flag.name} default`).toBe(flag.default ?? '');
    }
  });
});
