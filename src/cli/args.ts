import { parseArgs } from 'node:util';
import { InvalidOptionError } from '../core/errors.js';
import { type HubOptions, type RateLimitOptions, resolveHubOptions } from '../core/options.js';
import { suggest } from '../core/option-check.js';
import { resolveAttachOptions } from '../transports/attach-options.js';
import { resolvePeerjsOptions } from '../dialects/peerjs/options.js';
import { resolveYWebrtcOptions } from '../dialects/y-webrtc/options.js';
import type { LogLimit } from './log-budget.js';
import { type CliIdentity, identityAttachOptions, parseIdentity } from './identity.js';
import { isRedisUrl, parseRedisClusterUrls, shown } from './redis-urls.js';
import {
  cliFlags,
  DEFAULT_PEERJS_PATH,
  DEFAULT_Y_WEBRTC_PATH,
  defaultLogLimit,
  type LogFormat,
  type LogLevel,
  logLevels,
  OPTIONAL_VALUES,
} from './flags.js';

export { type CliFlag, cliFlags, defaultLogLimit, type LogFormat, type LogLevel, logLevels, usage } from './flags.js';

/** What the command line (and the environment) asked for. */
export interface CliOptions {
  port: number;
  host: string | undefined;
  path: string;
  /** Redis URL of the cluster backplane; undefined for a single node. */
  redis?: string | undefined;
  /** Seed URLs of a Redis Cluster carrying the backplane (exclusive with `redis`). */
  redisCluster?: readonly string[] | undefined;
  /** Where the node listens for node links (`--links`), and the host it advertises for them. */
  links?: { readonly links: string; readonly linksAdvertise: string | undefined } | undefined;
  /** Allowed browser origins; undefined for any. */
  origins?: readonly string[] | undefined;
  /** Hub options from the command line (only those given). */
  hub: Pick<HubOptions, 'rateLimit' | 'maxMessageBytes' | 'loginTimeout' | 'resumeGrace' | 'turn'>;
  /** Milliseconds a drain (SIGTERM) waits for peers to resume elsewhere; undefined for the hub's default. */
  drainTimeout?: number | undefined;
  /** WebSocket ping interval in ms (`attach()`'s `heartbeatInterval`); undefined for its default. */
  heartbeat?: number | undefined;
  /** Serve the HTTP fallback (`attach()`'s `httpFallback`) next to WebSockets. */
  httpFallback: boolean;
  /** Serve PeerJS clients too (`signalling-hub/peerjs`): its path and key; undefined when off. */
  peerjs?: { readonly path: string; readonly key: string } | undefined;
  /** Serve y-webrtc clients too (`signalling-hub/y-webrtc`): their path; undefined when off. */
  yWebrtc?: { readonly path: string } | undefined;
  /** Serve Prometheus metrics at `GET /metrics`. */
  metrics: boolean;
  /** Names, per-address caps, trusted proxies and the JWT check. */
  identity: CliIdentity;
  logFormat: LogFormat;
  logLevel: LogLevel;
  /** Lines of each kind a client can cause, per window; `false` for no limit. */
  logLimit: LogLimit | false;
  help: boolean;
  version: boolean;
}

/** One flag of the CLI as `--help` shows it. */
/** A bad command line or environment: the message is one line fit for the user. */
export class UsageError extends Error {}

const booleanWords: Record<string, boolean> = {
  '1': true,
  true: true,
  yes: true,
  on: true,
  '0': false,
  false: false,
  no: false,
  off: false,
  '': false,
};

/** A number when `text` looks like one, else the text (so that the check reports what was typed). */
function numeric(text: string): number | string {
  return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
}

/** Flag names of the hub's and attach()'s options, for error messages. */
const optionFlags: Record<string, string> = {
  maxMessageBytes: 'max-message-bytes',
  loginTimeout: 'login-timeout',
  rateLimit: 'rate-limit',
  'rateLimit.messagesPerSecond': 'rate-limit',
  'rateLimit.burst': 'rate-limit',
  heartbeatInterval: 'heartbeat',
  resumeGrace: 'resume-grace',
  'turn.urls': 'turn-url',
  'turn.ttl': 'turn-ttl',
  'turn.secret': 'turn-secret',
  path: 'path',
  origins: 'origins',
  trustProxy: 'trust-proxy',
};

const noIdentity: CliIdentity = {
  assignNames: false,
  duplicateNames: undefined,
  maxConnectionsPerAddress: undefined,
  connectionRate: undefined,
  trustProxy: undefined,
  jwt: undefined,
};

function parseRateLimit(text: string): RateLimitOptions | false | string {
  if (/^(off|false|none)$/i.test(text.trim())) return false;
  const match = /^\s*([^:\s]+)\s*(?::\s*([^:\s]+)\s*)?$/.exec(text);
  if (match === null) return text;
  const messagesPerSecond = numeric(match[1]!);
  const burst =
    match[2] === undefined
      ? typeof messagesPerSecond === 'number'
        ? Math.max(1, Math.ceil(messagesPerSecond * 2))
        : 1
      : numeric(match[2]);
  return { messagesPerSecond, burst } as RateLimitOptions;
}

function parseLogLimit(text: string): LogLimit | false | undefined {
  if (/^\s*(off|false|none)\s*$/i.test(text)) return false;
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (match === null) return undefined;
  const lines = Number(match[1]);
  const seconds = Number(match[2]);
  if (lines < 1 || seconds < 1 || !Number.isSafeInteger(lines) || seconds > 86_400) return undefined;
  return { lines, seconds };
}

/**
 * Parses argv, with values of flags not given taken from `env` (`PORT`,
 * `HOST`, `SIGNALLING_HUB_*`). Throws {@link UsageError} with a one-line
 * message on bad input.
 */
export function parseCliArgs(argv: string[], env: NodeJS.ProcessEnv = {}): CliOptions {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({
      // `--peerjs` and `--y-webrtc` may come without their path: they take the default then.
      args: argv.map((arg, index) =>
        OPTIONAL_VALUES[arg] !== undefined && (index + 1 === argv.length || argv[index + 1]!.startsWith('-'))
          ? `${arg}=${OPTIONAL_VALUES[arg]}`
          : arg,
      ),
      options: Object.fromEntries(
        cliFlags.map((flag) => [
          flag.name,
          flag.short === undefined
            ? { type: flag.boolean ? 'boolean' : 'string', ...(flag.multiple ? { multiple: true } : {}) }
            : { type: 'boolean', short: flag.short },
        ]),
      ),
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec((error as Error).message)?.[1];
    if (unknown !== undefined) {
      const close = suggest(
        unknown.replace(/^-+/, ''),
        cliFlags.map((flag) => flag.name),
      );
      throw new UsageError(`unknown option ${unknown}${close === undefined ? '' : `; did you mean --${close}?`}`);
    }
    const message = (error as Error).message.split('\n')[0]!.replace(/^Option '(.*?)'/, '$1');
    throw new UsageError(message);
  }

  // Help and the version read nothing else: a half-set environment (a TURN secret without its URL,
  // a bad PORT) must not hide the one command that explains it.
  if (values.help === true || values.version === true) {
    return {
      port: 9090,
      host: undefined,
      path: '/',
      hub: {},
      httpFallback: true,
      metrics: false,
      identity: noIdentity,
      logFormat: 'text',
      logLevel: 'info',
      logLimit: defaultLogLimit,
      help: values.help === true,
      version: values.version === true,
    };
  }

  /** Where a value came from, for error messages. */
  const source: Record<string, string> = {};
  const get = (name: string): string | undefined => {
    const flag = cliFlags.find((entry) => entry.name === name)!;
    const given = values[name];
    if (Array.isArray(given) && given.length > 0) {
      source[name] = `--${name}`;
      return given.join(',');
    }
    if (typeof given === 'string') {
      source[name] = `--${name}`;
      return given;
    }
    const fromEnv = flag.env === undefined ? undefined : env[flag.env];
    if (fromEnv !== undefined && fromEnv !== '') {
      source[name] = flag.env!;
      return fromEnv;
    }
    return undefined;
  };
  const getBoolean = (name: string): boolean => {
    if (values[name] === true) return true;
    const flag = cliFlags.find((entry) => entry.name === name)!;
    const fromEnv = flag.env === undefined ? undefined : env[flag.env];
    if (fromEnv === undefined) return false;
    const value = booleanWords[fromEnv.trim().toLowerCase()];
    if (value === undefined)
      throw new UsageError(`${flag.env} must be 1, true, yes, on, 0, false, no or off, got ${JSON.stringify(fromEnv)}`);
    return value;
  };
  const bad = (name: string, expected: string, given: string): UsageError =>
    new UsageError(`${source[name] ?? `--${name}`} must be ${expected}, got ${given}`);

  const portText = get('port');
  const port = portText === undefined ? 9090 : Number(portText);
  if (portText !== undefined && (!/^\d+$/.test(portText.trim()) || port > 65535)) throw bad('port', '0–65535', portText);

  const host = get('host');
  const path = get('path') ?? '/';
  if (!path.startsWith('/')) throw bad('path', 'a path starting with "/"', path);
  const redis = get('redis');
  if (redis !== undefined && !isRedisUrl(redis)) throw bad('redis', 'a redis:// or rediss:// URL', shown(redis));
  const redisClusterText = get('redis-cluster');
  const redisCluster = redisClusterText === undefined ? undefined : parseRedisClusterUrls(redisClusterText);
  if (redisClusterText !== undefined && redisCluster === undefined)
    throw bad('redis-cluster', 'redis:// or rediss:// URLs, comma-separated', shown(redisClusterText));
  if (redis !== undefined && redisCluster !== undefined)
    throw bad('redis-cluster', `left out when ${source.redis ?? '--redis'} is given (one Redis or one Redis Cluster)`, 'both');
  const linksText = get('links');
  const linksAdvertise = get('links-advertise');
  if (linksText !== undefined && !/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/.test(linksText))
    throw bad('links', 'host:port, e.g. 10.0.0.5:7000', JSON.stringify(linksText));
  if (linksText !== undefined && redis === undefined && redisCluster === undefined)
    throw bad('links', 'given with --redis or --redis-cluster', JSON.stringify(linksText));
  if (linksAdvertise !== undefined && linksText === undefined)
    throw bad('links-advertise', 'given with --links', JSON.stringify(linksAdvertise));
  const links = linksText === undefined ? undefined : { links: linksText, linksAdvertise };

  const originsText = get('origins');
  const origins =
    originsText === undefined
      ? undefined
      : originsText
          .split(',')
          .map((origin) => origin.trim())
          .filter((origin) => origin !== '');

  const hub: CliOptions['hub'] = {};
  const rateLimit = get('rate-limit');
  if (rateLimit !== undefined) {
    const parsed = parseRateLimit(rateLimit);
    if (typeof parsed === 'string') throw bad('rate-limit', '<rate>[:<burst>] or off', JSON.stringify(parsed));
    hub.rateLimit = parsed;
  }
  const maxMessageBytes = get('max-message-bytes');
  if (maxMessageBytes !== undefined) hub.maxMessageBytes = numeric(maxMessageBytes) as number;
  const loginTimeout = get('login-timeout');
  if (loginTimeout !== undefined) hub.loginTimeout = numeric(loginTimeout) as number;
  const resumeGrace = get('resume-grace');
  if (resumeGrace !== undefined) hub.resumeGrace = numeric(resumeGrace) as number;
  const drainText = get('drain-timeout');
  const drainTimeout = drainText === undefined ? undefined : Number(drainText);
  if (drainText !== undefined && (!/^\d+$/.test(drainText.trim()) || !Number.isSafeInteger(drainTimeout)))
    throw bad('drain-timeout', 'a whole number of milliseconds', JSON.stringify(drainText));
  const turnSecret = get('turn-secret');
  const turnUrls = get('turn-url');
  const turnTtl = get('turn-ttl');
  if (turnSecret !== undefined || turnUrls !== undefined || turnTtl !== undefined) {
    // Never echoed: it is the TURN server's shared secret.
    if (turnSecret === undefined) throw bad('turn-secret', 'given with --turn-url (or SIGNALLING_HUB_TURN_SECRET)', 'nothing');
    if (turnUrls === undefined) throw bad('turn-url', 'given with --turn-secret', 'nothing');
    hub.turn = {
      secret: turnSecret,
      urls: turnUrls
        .split(',')
        .map((url) => url.trim())
        .filter((url) => url !== ''),
      ...(turnTtl === undefined ? {} : { ttl: numeric(turnTtl) as number }),
    };
  }
  const heartbeatText = get('heartbeat');
  const heartbeat = heartbeatText === undefined ? undefined : (numeric(heartbeatText) as number);
  const identity = parseIdentity(get, getBoolean, bad);

  // The hub's and attach()'s own checks: one source of truth for what a value may be.
  try {
    resolveHubOptions(hub);
    resolveAttachOptions({ path, origins, heartbeatInterval: heartbeat, ...identityAttachOptions(identity) });
  } catch (error) {
    if (!(error instanceof InvalidOptionError)) throw error;
    const option = error.option.replace(/\[\d+\]$/, '');
    const name = optionFlags[option] ?? option;
    const part = option === 'rateLimit.messagesPerSecond' ? ' rate' : option === 'rateLimit.burst' ? ' burst' : '';
    throw new UsageError(`${source[name] ?? `--${name}`}${part} must be ${error.expected}, got ${error.given}`);
  }

  const peerjsText = get('peerjs');
  let peerjs: CliOptions['peerjs'];
  const peerjsOn = peerjsText === undefined ? false : booleanWords[peerjsText.trim().toLowerCase()];
  if (peerjsText !== undefined && peerjsOn !== false) {
    const peerjsPath = peerjsOn === true ? DEFAULT_PEERJS_PATH : peerjsText;
    const key = get('peerjs-key');
    try {
      const resolved = resolvePeerjsOptions({ path: peerjsPath, ...(key === undefined ? {} : { key }) });
      peerjs = { path: resolved.path, key: resolved.key };
    } catch (error) {
      if (!(error instanceof InvalidOptionError)) throw error;
      const name = error.option === 'key' ? 'peerjs-key' : 'peerjs';
      throw new UsageError(`${source[name] ?? `--${name}`} must be ${error.expected}, got ${error.given}`);
    }
    if (!peerjsPath.startsWith('/')) throw bad('peerjs', 'a path starting with "/"', JSON.stringify(peerjsPath));
  }

  const yWebrtcText = get('y-webrtc');
  let yWebrtc: CliOptions['yWebrtc'];
  const yWebrtcOn = yWebrtcText === undefined ? false : booleanWords[yWebrtcText.trim().toLowerCase()];
  if (yWebrtcText !== undefined && yWebrtcOn !== false) {
    const yWebrtcPath = yWebrtcOn === true ? DEFAULT_Y_WEBRTC_PATH : yWebrtcText;
    try {
      yWebrtc = { path: resolveYWebrtcOptions({ path: yWebrtcPath }).path };
    } catch (error) {
      if (!(error instanceof InvalidOptionError)) throw error;
      throw new UsageError(`${source['y-webrtc'] ?? '--y-webrtc'} must be ${error.expected}, got ${error.given}`);
    }
    if (yWebrtc.path === path) throw bad('y-webrtc', 'a path other than --path', JSON.stringify(yWebrtcPath));
  }

  const fallbackText = get('http-fallback') ?? 'on';
  const httpFallback = booleanWords[fallbackText.trim().toLowerCase()];
  if (httpFallback === undefined) throw bad('http-fallback', 'on or off', JSON.stringify(fallbackText));
  const logFormat = get('log-format') ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw bad('log-format', 'text or json', JSON.stringify(logFormat));
  const logLevel = get('log-level') ?? 'info';
  if (!logLevels.includes(logLevel as LogLevel)) throw bad('log-level', logLevels.join(', '), JSON.stringify(logLevel));
  const logLimitText = get('log-limit');
  const logLimit = logLimitText === undefined ? defaultLogLimit : parseLogLimit(logLimitText);
  if (logLimit === undefined)
    throw bad('log-limit', '<lines>/<seconds> (whole numbers from 1) or off', JSON.stringify(logLimitText));

  return {
    port,
    host,
    path,
    redis,
    redisCluster,
    links,
    origins,
    hub,
    drainTimeout,
    heartbeat,
    httpFallback,
    peerjs,
    yWebrtc,
    metrics: getBoolean('metrics'),
    identity,
    logFormat,
    logLevel: logLevel as LogLevel,
    logLimit,
    help: false,
    version: false,
  };
}
