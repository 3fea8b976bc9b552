import { parseArgs } from 'node:util';

/** What the command line asked for. */
export interface CliOptions {
  port: number;
  host: string | undefined;
  path: string;
  /** Redis URL of the cluster backplane; undefined for a single node. */
  redis?: string | undefined;
  help: boolean;
}

export const usage = `Usage: signalling-hub [options]

Runs a WebRTC signalling server speaking the classic tutorial protocol
({"type":"login","name":...}, offer, answer, candidate, leave).

Options:
  --port <n>     TCP port to listen on (default 9090; 0 picks a free one)
  --host <addr>  address to bind (default: every interface)
  --path <path>  URL path for WebSocket connections (default /)
  --redis <url>  join a cluster of hubs through Redis, e.g. redis://127.0.0.1:6379
                 (names are shared and messages relayed across every hub using it)
  -h, --help     show this help
`;

/** Parses argv; throws an Error whose message is fit for the user on bad input. */
export function parseCliArgs(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      path: { type: 'string' },
      redis: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  const port = values.port === undefined ? 9090 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0–65535, got ${values.port}`);
  const path = values.path ?? '/';
  if (!path.startsWith('/')) throw new Error(`--path must start with "/", got ${path}`);
  const redis = values.redis;
  if (redis !== undefined && !/^rediss?:\/\//.test(redis))
    throw new Error(`--redis must be a redis:// or rediss:// URL, got ${redis}`);
  return { port, host: values.host, path, redis, help: values.help ?? false };
}
