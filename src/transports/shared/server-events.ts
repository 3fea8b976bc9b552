/** The part of a Node server (`http`, `https`, `http2`) whose events are intercepted. */
export interface EmittingServer {
  emit(event: string | symbol, ...args: unknown[]): boolean;
}

/** Takes an event's arguments; returns `true` when it handled the event (no listener then sees it). */
export type Interceptor = (args: readonly unknown[]) => boolean;

/**
 * The one wrapper of a server's `emit`, kept on the server under a registry
 * symbol so that two copies of this library (its ESM and CommonJS builds)
 * share it. Its shape is a contract between copies: change it only with a new key.
 */
interface EventHook {
  readonly interceptors: Map<string | symbol, Interceptor[]>;
  unwrap(): void;
}

const HOOK = Symbol.for('signalling-hub.server-events.v1');

type WithHook = EmittingServer & { [HOOK]?: EventHook };

/**
 * Lets `interceptor` see each `event` of `server` before any listener does,
 * and keep it from them. A listener cannot do that: every listener of an
 * event runs whatever the others do, so another `upgrade` listener (a
 * `WebSocketServer({ server, path })`, which answers 400 to every other path)
 * or `request` listener (Express) would answer the same request too. The
 * server's `emit` is wrapped once; everything not intercepted goes on to
 * `emit` as before. Returns the function that stops it (the wrapper is taken
 * off with the last interceptor, unless something wrapped `emit` after it:
 * then it stays, passing everything on).
 */
export function interceptEvent(server: EmittingServer, event: string, interceptor: Interceptor): () => void {
  const host = server as WithHook;
  let hook = host[HOOK];
  if (hook === undefined) {
    const interceptors = new Map<string | symbol, Interceptor[]>();
    const ownEmit = Object.prototype.hasOwnProperty.call(server, 'emit');
    // Called with the server as `this`, as the server calls it.
    const original = Reflect.get<EmittingServer, 'emit'>(server, 'emit');
    const emit = function (this: unknown, name: string | symbol, ...args: unknown[]): boolean {
      const list = interceptors.get(name);
      if (list !== undefined) for (const intercept of list) if (intercept(args)) return true;
      return original.apply(this, [name, ...args]);
    };
    const created: EventHook = {
      interceptors,
      unwrap() {
        // Something wrapped emit after this: taking this one off would drop theirs.
        if (server.emit !== emit) return;
        if (ownEmit) server.emit = original;
        else delete (server as { emit?: unknown }).emit;
        delete host[HOOK];
      },
    };
    hook = created;
    Object.defineProperty(host, HOOK, { value: created, configurable: true, enumerable: false, writable: false });
    server.emit = emit;
  }
  const current = hook;
  const list = current.interceptors.get(event) ?? [];
  list.push(interceptor);
  current.interceptors.set(event, list);
  return () => {
    const index = list.indexOf(interceptor);
    if (index === -1) return;
    list.splice(index, 1);
    if (list.length === 0) current.interceptors.delete(event);
    if (current.interceptors.size === 0) current.unwrap();
  };
}
