// Runs under Bun, started by test/helpers/bun-hub.ts: hubs on `Bun.serve` through
// `createBunHandler`, driven by the Node test over stdin/stdout, one JSON object per line.
// It imports the sources (Bun runs TypeScript) so the matrix needs no build.
import { createInterface } from 'node:readline';
import { createBunHandler } from '../../src/bun.js';
import type { BunHandler, BunServer, BunTransport, BunWebSocketHandler } from '../../src/bun.js';
import { type HubEvents, type HubOptions, LoginRefusedError, SignallingHub } from '../../src/index.js';
import type {
  ChildCommand,
  ChildMessage,
  HookName,
  SerializedError,
  WireHandlerOptions,
  WireHubOptions,
} from './bun-protocol.js';
import { type HookSetName, hookSets } from './hook-sets.js';

/** What the child uses of Bun's global (the tests are type-checked without bun-types). */
interface BunGlobal {
  serve(options: {
    port: number;
    hostname: string;
    fetch(request: Request, server: BunServer<BunTransport>): Promise<Response | undefined> | Response | undefined;
    websocket: BunWebSocketHandler<unknown>;
  }): { readonly port: number; stop(closeActiveConnections?: boolean): Promise<void> | void };
}
const Bun = (globalThis as unknown as { Bun: BunGlobal }).Bun;

interface Running {
  readonly hub: SignallingHub;
  readonly handler: BunHandler;
  readonly server: ReturnType<BunGlobal['serve']>;
}

const hubs = new Map<number, Running>();
/** The state of each hub's named hook set, which its hooks read here. */
const namedStates = new Map<number, object>();
let nextHub = 1;
let nextCall = 1;
const calls = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();

function write(message: ChildMessage): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message,
    code: typeof code === 'string' ? code : undefined,
    cause: error.cause === undefined ? undefined : serializeError(error.cause),
  };
}

const peersOf = (hub: SignallingHub) => [...hub.peers()];

/** Calls a hook of the Node test (its closure runs there) and waits for its answer. */
function callHook(hubId: number, hook: HookName, arg: unknown): Promise<unknown> {
  const callId = nextCall++;
  write({ kind: 'hook', hubId, callId, hook, arg });
  return new Promise((resolve, reject) => calls.set(callId, { resolve, reject }));
}

/**
 * Hub options from the wire: async hooks become calls to the test's closures;
 * a synchronous hook (validateName) came as its source and is rebuilt here.
 */
function hubOptions(hubId: number, wire: WireHubOptions): HubOptions {
  const { hooks, named, ...plain } = wire;
  const options: HubOptions = { ...(plain as HubOptions) };
  if (hooks.authenticate) {
    options.authenticate = ({ name, message, request, remoteAddress, upgrade }) =>
      callHook(hubId, 'authenticate', {
        name,
        message,
        remoteAddress,
        upgrade,
        request: request === undefined ? undefined : { url: request.url, headers: request.headers, socket: request.socket },
      });
  }
  if (hooks.iceServers) options.iceServers = (peer) => callHook(hubId, 'iceServers', peer) as never;
  if (hooks.authorizeJoin) options.authorizeJoin = (context) => callHook(hubId, 'authorizeJoin', context);
  if (hooks.validateName !== undefined) {
    // The hub calls it synchronously, so it cannot wait for the test process: its source is rebuilt here.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const build = new Function(`return (${hooks.validateName});`) as () => (name: string) => boolean;
    options.validateName = build();
  }
  if (named !== undefined) {
    // Synchronous hooks run here, from the shared registry, over a state the test updates with `named-hooks`.
    const { set, state } = named;
    namedStates.set(hubId, state);
    Object.assign(options, (hookSets[set as HookSetName] as (state: object) => HubOptions)(state));
  }
  return options;
}

const EVENTS: ReadonlyArray<keyof HubEvents> = [
  'peer-joined',
  'peer-left',
  'peer-dropped',
  'peer-resumed',
  'protocol-error',
  'error',
  'warning',
  'backplane-state',
  'room-joined',
  'room-parted',
];

function start(wire: WireHubOptions, wireHandler: WireHandlerOptions): { hubId: number; port: number } {
  const hubId = nextHub++;
  const { verifyUpgrade, ...handlerOptions } = wireHandler;
  const hub = new SignallingHub(hubOptions(hubId, wire));
  for (const event of EVENTS) {
    (hub as unknown as { on(event: string, listener: (payload: unknown) => void): void }).on(event, (payload) => {
      write({
        kind: 'event',
        hubId,
        event,
        payload: event === 'error' || event === 'warning' ? serializeError(payload) : payload,
        peers: peersOf(hub),
      });
    });
  }
  // Which transports the hub is given (the matrix checks the factory built what it says).
  const open = hub.open.bind(hub);
  hub.open = (transport, info) => {
    write({ kind: 'transport', hubId, transport: transport.constructor.name });
    return open(transport, info);
  };
  const handler = createBunHandler(hub, {
    ...handlerOptions,
    ...(verifyUpgrade === true && {
      verifyUpgrade: (request: Request) => {
        const headers: Record<string, string> = {};
        request.headers.forEach((value, name) => (headers[name] = value));
        return callHook(hubId, 'verifyUpgrade', { url: request.url, headers });
      },
    }),
  });
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: (request, bunServer) => handler.fetch(request, bunServer) ?? new Response('host app'),
    websocket: handler.websocket,
  });
  hubs.set(hubId, { hub, handler, server });
  return { hubId, port: server.port };
}

function running(hubId: number): Running {
  const found = hubs.get(hubId);
  if (found === undefined) throw new Error(`no hub ${hubId} in the Bun child`);
  return found;
}

async function run(command: ChildCommand): Promise<unknown> {
  switch (command.op) {
    case 'start':
      return start(command.options, command.handler);
    case 'sync':
      // Answered after everything the hub did before: the test's view is then at least this recent.
      return peersOf(running(command.hubId).hub);
    case 'send':
      return running(command.hubId).hub.send(command.name, command.message);
    case 'disconnect':
      return running(command.hubId).hub.disconnect(command.name, command.reason);
    case 'stats':
      return running(command.hubId).hub.stats();
    case 'room': {
      const hub = running(command.hubId).hub as unknown as Record<string, (...args: unknown[]) => unknown>;
      return hub[command.method]!(...command.args);
    }
    case 'call': {
      const hub = running(command.hubId).hub as unknown as Record<string, (...args: unknown[]) => unknown>;
      return hub[command.method]!(...command.args);
    }
    case 'named-hooks': {
      const state = namedStates.get(command.hubId);
      if (state === undefined) throw new Error(`hub ${command.hubId} has no named hook set`);
      return Object.assign(state, command.patch);
    }
    case 'drain':
      return running(command.hubId).hub.drain({ timeout: command.timeout });
    case 'connections':
      return running(command.hubId).handler.connections;
    case 'close-handler':
      return running(command.hubId).handler.close();
    case 'close': {
      const { hub, handler, server } = running(command.hubId);
      hubs.delete(command.hubId);
      namedStates.delete(command.hubId);
      await handler.close();
      await hub.close();
      await server.stop(true);
      return null;
    }
    case 'reply': {
      const call = calls.get(command.callId);
      calls.delete(command.callId);
      if (command.error !== undefined) {
        // A refusal with the host's message stays one (the hub tells it from a crash by its class).
        const error =
          command.error.name === 'LoginRefusedError'
            ? new LoginRefusedError(command.error.message)
            : Object.assign(new Error(command.error.message), { name: command.error.name });
        call?.reject(error);
      } else call?.resolve(command.result);
      return undefined;
    }
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line) as ChildCommand & { id?: number };
  const id = command.id;
  run(command).then(
    (result) => {
      if (id !== undefined) write({ kind: 'result', id, result });
    },
    (error: unknown) => {
      if (id !== undefined) write({ kind: 'result', id, error: serializeError(error) });
    },
  );
});
// The test process went away: so does this one.
process.stdin.on('end', () => process.exit(0));
write({ kind: 'ready' });
