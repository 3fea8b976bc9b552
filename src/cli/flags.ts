import { hubDefaults } from '../core/options.js';
import { attachDefaults } from '../transports/attach-options.js';
import { identityFlags } from './identity.js';
import type { LogLimit } from './log-budget.js';

/*
 * The CLI's flags, once: parsing (args.ts), environment variables, `--help`
 * and the README's table all come from this list.
 */

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'text' | 'json';
export const logLevels: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export interface CliFlag {
  readonly name: string;
  readonly short?: string;
  readonly boolean?: true;
  /** May be given several times (the environment variable takes a comma-separated list). */
  readonly multiple?: true;
  /** The environment variable; none for --help and --version. */
  readonly env?: string;
  readonly value?: string;
  readonly default?: string;
  readonly help: string;
}

const defaultRateLimit =
  hubDefaults.rateLimit === false ? 'off' : `${hubDefaults.rateLimit.messagesPerSecond}:${hubDefaults.rateLimit.burst}`;

/** The default of `--log-limit`: a client that can cause lines at will gets 5 a second per kind, sustained. */
export const defaultLogLimit: LogLimit = Object.freeze({ lines: 50, seconds: 10 });

/** The PeerJS path of a bare `--peerjs` (peerjs-server's examples mount it there). */
export const DEFAULT_PEERJS_PATH = '/peerjs';
/** The y-webrtc path of a bare `--y-webrtc`. */
export const DEFAULT_Y_WEBRTC_PATH = '/y-webrtc';
/** Flags whose value may be left out, and the value they take then. */
export const OPTIONAL_VALUES: Record<string, string> = { '--peerjs': DEFAULT_PEERJS_PATH, '--y-webrtc': DEFAULT_Y_WEBRTC_PATH };

/** Every flag, once: parsing, environment variables and `--help` come from this list. */
const flagList: CliFlag[] = [
  { name: 'port', env: 'PORT', value: '<n>', default: '9090', help: 'TCP port to listen on; 0 picks a free one' },
  { name: 'host', env: 'HOST', value: '<addr>', default: 'every interface', help: 'address to bind, e.g. 127.0.0.1' },
  { name: 'path', value: '<path>', default: '/', help: 'URL path of WebSocket connections' },
  {
    name: 'redis',
    value: '<url>',
    default: 'none (one node)',
    help: 'join a cluster of hubs through Redis (needs the redis package)',
  },
  {
    name: 'redis-cluster',
    value: '<url,url,…>',
    default: 'none',
    help: 'join a cluster of hubs through a Redis Cluster ≥ 7: seed URLs, comma-separated (needs the redis package)',
  },
  {
    name: 'links',
    value: '<host:port>',
    default: 'none',
    help: 'with --redis or --redis-cluster: listen there for links from the other nodes and relay to them over TCP, not through Redis (port 0 picks one)',
  },
  {
    name: 'links-advertise',
    value: '<host>',
    default: 'the --links host',
    help: 'the host other nodes dial for --links (needed when --links listens on 0.0.0.0 or ::)',
  },
  {
    name: 'origins',
    value: '<list>',
    default: 'any',
    help: 'Origin values browsers may connect from, comma-separated',
  },
  {
    name: 'rate-limit',
    value: '<rate>[:<burst>]',
    default: defaultRateLimit,
    help: 'messages per second per connection, and burst (twice the rate if left out); off disables',
  },
  {
    name: 'max-message-bytes',
    value: '<n>',
    default: String(hubDefaults.maxMessageBytes),
    help: 'largest message a client may send',
  },
  {
    name: 'login-timeout',
    value: '<ms>',
    default: String(hubDefaults.loginTimeout),
    help: 'time to log in before the connection is closed (4408); 0 disables',
  },
  {
    name: 'heartbeat',
    value: '<ms>',
    default: String(attachDefaults.heartbeatInterval),
    help: 'WebSocket ping interval (a client that missed a pong is dropped); 0 disables',
  },
  {
    name: 'resume-grace',
    value: '<ms>',
    default: String(hubDefaults.resumeGrace),
    help: 'how long a resumable peer that dropped keeps its name and calls; 0 disables resumption',
  },
  {
    name: 'drain-timeout',
    value: '<ms>',
    default: '5000 more than --resume-grace',
    help: 'on SIGTERM/SIGINT, how long to wait for peers to resume elsewhere before exiting',
  },
  {
    name: 'turn-secret',
    value: '<secret>',
    default: 'none',
    help: "issue TURN credentials signed with the TURN server's static-auth-secret (prefer the env variable)",
  },
  {
    name: 'turn-url',
    value: '<url>',
    multiple: true,
    default: 'none',
    help: 'a TURN/STUN URL the credentials are for, e.g. turn:turn.example.com:3478; repeatable',
  },
  { name: 'turn-ttl', value: '<s>', default: '3600', help: 'lifetime of TURN credentials in seconds (refreshed at ~80%)' },
  {
    name: 'http-fallback',
    value: 'on|off',
    default: 'on',
    help: 'serve the protocol over plain HTTP too, for clients whose WebSockets are blocked',
  },
  ...identityFlags,
  {
    name: 'peerjs',
    value: '[path]',
    default: 'off',
    help: `also serve PeerJS clients, as peerjs-server does, at a path (${DEFAULT_PEERJS_PATH} if left out): new Peer(id, { host, port, path })`,
  },
  { name: 'peerjs-key', value: '<key>', default: 'peerjs', help: 'the key PeerJS clients must give (new Peer(id, { key }))' },
  {
    name: 'y-webrtc',
    value: '[path]',
    default: 'off',
    help: `also serve y-webrtc clients, as its bin/server.js does, at a path (${DEFAULT_Y_WEBRTC_PATH} if left out): signaling: ['ws://host:port/path']`,
  },
  { name: 'metrics', boolean: true, default: 'off', help: 'serve Prometheus metrics at GET /metrics' },
  { name: 'log-format', value: 'text|json', default: 'text', help: 'log lines on stderr as text or as JSON lines' },
  { name: 'log-level', value: '<level>', default: 'info', help: `least important level logged: ${logLevels.join(', ')}` },
  {
    name: 'log-limit',
    value: '<lines>/<s>|off',
    default: `${defaultLogLimit.lines}/${defaultLogLimit.seconds}`,
    help: 'lines of each kind a client can cause per window, then one summary line; off for all',
  },
  { name: 'version', short: 'v', boolean: true, help: 'print the version' },
  { name: 'help', short: 'h', boolean: true, help: 'show this help' },
];
/** Every flag of the CLI, with its environment variable: what `--help` lists and the README's table documents. */
export const cliFlags: readonly CliFlag[] = flagList.map((flag) =>
  flag.env === undefined && flag.short === undefined ? { ...flag, env: envName(flag.name) } : flag,
);

function envName(flag: string): string {
  return `SIGNALLING_HUB_${flag.toUpperCase().replace(/-/g, '_')}`;
}

function usageText(): string {
  const rows = cliFlags.map((flag) => {
    const left = `${flag.short === undefined ? '    ' : `-${flag.short}, `}--${flag.name}${flag.value === undefined ? '' : ` ${flag.value}`}`;
    const notes = [flag.default === undefined ? '' : `default: ${flag.default}`, flag.env === undefined ? '' : `env ${flag.env}`]
      .filter((note) => note !== '')
      .join('; ');
    return `  ${left.padEnd(36)}${flag.help}${notes === '' ? '' : `\n  ${' '.repeat(36)}(${notes})`}`;
  });
  return `Usage: signalling-hub [options]

Runs a WebRTC signalling server speaking the classic tutorial protocol
({"type":"login","name":...}, offer, answer, candidate, leave), with a demo
page at /, GET /healthz, GET /readyz and, with --metrics, GET /metrics.

Options (each also from its environment variable; a flag wins over it):
${rows.join('\n')}

Logs go to stderr, one line per event. On SIGTERM or SIGINT it drains: new
connections get 503, resumable peers are told to reconnect and resume (close
4503; behind a load balancer they resume on another node), then it exits once
they are gone or --drain-timeout passed. A second signal exits at once.
`;
}

export const usage = usageText();
