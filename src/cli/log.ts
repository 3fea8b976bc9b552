import type { LogFormat, LogLevel } from './args.js';
import { LogBudget, type LogLimit } from './log-budget.js';

/** Values a log line carries besides its message; `undefined` ones are left out. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** The CLI's logger: one line per event on stderr. The library itself never logs. */
export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /**
   * A line a client can cause at will: at most the log limit's lines of each `kind` per window;
   * past that they are counted and one summary line follows when the window ends. `kind` must come
   * from a bounded set (an event and a reason code), never from what a client sent.
   */
  bounded(level: LogLevel, kind: string, message: string, fields?: LogFields): void;
  /** Whether lines of `level` are written (to skip building costly fields). */
  enabled(level: LogLevel): boolean;
  /** Writes the summaries of suppressed lines now, before the process exits. */
  flush(): void;
}

const rank: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/**
 * Characters that would let a value (a peer's name, an error message) forge or disguise a line:
 * controls (line breaks included), format characters (bidi overrides and isolates, zero-width
 * ones), the line and paragraph separators, and lone surrogates. Shown as `\uXXXX`.
 */
const unsafe = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|\p{Cs}/gu;

function escapeUnit(character: string): string {
  let out = '';
  for (let i = 0; i < character.length; i++) out += `\\u${character.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}

/** `text` with every unsafe character as a `\uXXXX` escape (valid inside a JSON string too). */
export function escapeForLog(text: string): string {
  return text.replace(unsafe, escapeUnit);
}

/** A text value as logfmt writes it: bare when it can be, quoted (JSON) otherwise. */
function textValue(value: string | number | boolean): string {
  const text = String(value);
  return /^[\w.:/@+,%[\]-]+$/.test(text) ? text : escapeForLog(JSON.stringify(text));
}

/**
 * A logger writing lines of `level` and more important ones, as text
 * (`2026-01-01T00:00:00.000Z INFO  message key=value`) or as JSON lines
 * (`{"time":…,"level":"info","msg":…,…}`), values escaped so that no value can
 * break a line or make it read as another.
 */
export function createLogger(options: {
  level: LogLevel;
  format: LogFormat;
  /** Lines of each kind a client can cause, per window; `false` for no limit. */
  limit?: LogLimit | false;
  write?: (line: string) => void;
  now?: () => Date;
}): Logger {
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const now = options.now ?? (() => new Date());
  const limit = rank[options.level];
  const log = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (rank[level] > limit) return;
    const time = now().toISOString();
    const defined = Object.entries(fields).filter(
      (entry): entry is [string, string | number | boolean] => entry[1] !== undefined,
    );
    if (options.format === 'json') {
      // The escapes only ever land inside JSON strings: every such character is inside one.
      write(`${escapeForLog(JSON.stringify({ time, level, msg: message, ...Object.fromEntries(defined) }))}\n`);
    } else {
      const pairs = defined.map(([key, value]) => ` ${key}=${textValue(value)}`).join('');
      write(`${time} ${level.toUpperCase().padEnd(5)} ${escapeForLog(message)}${pairs}\n`);
    }
  };
  const kinds = new Map<string, { level: LogLevel; message: string }>();
  const budget =
    options.limit === undefined || options.limit === false
      ? undefined
      : new LogBudget(options.limit, (kind, suppressed) => {
          const seen = kinds.get(kind);
          if (seen === undefined) return;
          log(
            seen.level,
            `${seen.message}: ${suppressed} more suppressed (log limit ${describeLimit(options.limit as LogLimit)})`,
            {
              kind,
              suppressed,
            },
          );
        });
  return {
    error: (message, fields) => log('error', message, fields),
    warn: (message, fields) => log('warn', message, fields),
    info: (message, fields) => log('info', message, fields),
    debug: (message, fields) => log('debug', message, fields),
    bounded: (level, kind, message, fields) => {
      if (rank[level] > limit) return;
      if (budget !== undefined) {
        kinds.set(kind, { level, message });
        if (!budget.allow(kind)) return;
      }
      log(level, message, fields);
    },
    enabled: (level) => rank[level] <= limit,
    flush: () => budget?.flushAll(),
  };
}

/** `50 lines per 10 s`. */
export function describeLimit(limit: LogLimit): string {
  return `${limit.lines} lines per ${limit.seconds} s`;
}
