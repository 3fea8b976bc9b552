import type { EventEmitter } from 'eventemitter3';
import type {
  PeerConnectionManager,
  PeerConnectionManagerEvents,
  SignallingClient,
  SignallingClientEvents,
} from '../../src/client.js';
import type { HubEvents, SignallingHub } from '../../src/index.js';

type FirstArg<F> = F extends (arg: infer A, ...rest: never[]) => unknown ? A : undefined;
/** eventemitter3's types do not let the events map be inferred from an emitter, so the emitters are listed. */
type EventsOf<E> = E extends SignallingClient
  ? SignallingClientEvents
  : E extends PeerConnectionManager
    ? PeerConnectionManagerEvents
    : E extends SignallingHub
      ? HubEvents
      : never;

/** The first argument of the next `event` from `emitter`; rejects after `timeoutMs`. */
export function nextEvent<
  E extends SignallingClient | PeerConnectionManager | SignallingHub,
  K extends keyof EventsOf<E> & string,
>(emitter: E, event: K, timeoutMs = 5000): Promise<FirstArg<EventsOf<E>[K]>> {
  const loose = emitter as unknown as EventEmitter<string>;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      loose.off(event, listener);
      reject(new Error(`no ${event} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (arg: unknown) => {
      clearTimeout(timer);
      resolve(arg as FirstArg<EventsOf<E>[K]>);
    };
    loose.once(event, listener);
  });
}

/** Resolves once `check()` is true, polling every 10 ms; rejects after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
