import type { LogFormat, LogLevel } from './args.js';

/** Values a log line carries besides its message; `undefined` ones are left out. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** The CLI's logger: one line per event on stderr. The library itself never logs. */
export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** Whether lines of `level` are written (to skip building costly fields). */
  enabled(level: LogLevel): boolean;
}

const rank: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** A text value as logfmt writes it: bare when it can be, quoted (JSON) otherwise. */
function textValue(value: string | number | boolean): string {
  const text = String(value);
  return /^[\w.:/@+,%[\]-]+$/.test(text) ? text : JSON.stringify(text);
}

/**
 * A logger writing lines of `level` and more important ones, as text
 * (`2026-01-01T00:00:00.000Z INFO  message key=value`) or as JSON lines
 * (`{"time":…,"level":"info","msg":…,…}`).
 */
export function createLogger(options: {
  level: LogLevel;
  format: LogFormat;
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
      write(`${JSON.stringify({ time, level, msg: message, ...Object.fromEntries(defined) })}\n`);
    } else {
      const pairs = defined.map(([key, value]) => ` ${key}=${textValue(value)}`).join('');
      write(`${time} ${level.toUpperCase().padEnd(5)} ${message.replace(/[\r\n]+/g, ' ')}${pairs}\n`);
    }
  };
  return {
    error: (message, fields) => log('error', message, fields),
    warn: (message, fields) => log('warn', message, fields),
    info: (message, fields) => log('info', message, fields),
    debug: (message, fields) => log('debug', message, fields),
    enabled: (level) => rank[level] <= limit,
  };
}
