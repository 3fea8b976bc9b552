import { CloseCode } from '../protocol/close-codes.js';
import type { Backplane } from './backplane.js';
import type { Connection } from './connection.js';
import { ConnectionState } from './connection-state.js';
import type { Router } from './router.js';

/**
 * A hub's life: accepting, draining, closed; and the open connections a
 * drain or a close waits for, counted per remote address (the transports'
 * per-address caps read the counts).
 */
export class HubLifecycle {
  /** `close()` was called. */
  closing = false;
  private draining: (() => void) | undefined;
  /** Open connections per remote address, for the transports' per-address caps. */
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly connections: Set<Connection>,
    private readonly router: Router,
    private readonly backplane: Backplane | undefined,
  ) {}

  /** Whether new connections and logins are let in (neither `drain()` nor `close()` was called). */
  get accepting(): boolean {
    return !this.closing && this.draining === undefined;
  }

  /** Connections open from `address`. */
  openFrom(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  /** A connection was let in: it joins the set and its address's count. */
  track(connection: Connection): void {
    this.connections.add(connection);
    const address = connection.remoteAddress;
    if (address !== undefined) this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
  }

  /** A connection is no longer open here: it leaves the set and its address's count. */
  untrack(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    const address = connection.remoteAddress;
    if (address === undefined) return;
    const count = (this.perAddress.get(address) ?? 1) - 1;
    if (count > 0) this.perAddress.set(address, count);
    else this.perAddress.delete(address);
  }

  /** See `SignallingHub.drain()`; `timeout` is checked already. */
  async drain(timeout: number): Promise<void> {
    if (this.closing) return;
    if (this.draining === undefined) {
      const drained = new Promise<void>((resolve) => (this.draining = resolve));
      for (const connection of [...this.connections]) {
        if (!connection.dropToResume('server restarting: reconnect and resume')) {
          connection.close(CloseCode.GoingAway, 'server going away', 'hub-closed');
        }
      }
      this.settleDrain();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout)))]);
      clearTimeout(timer);
    }
    await this.close();
  }

  /**
   * Resolves a drain once nothing is left: no connection and, with a backplane,
   * no reserved name (without one, nobody can resume elsewhere: nothing to wait for).
   */
  settleDrain(): void {
    if (this.draining === undefined || this.connections.size > 0) return;
    if (this.backplane !== undefined && this.router.count(ConnectionState.Dropped) > 0) return;
    this.draining();
  }

  /** See `SignallingHub.close()`. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const connection of [...this.connections]) connection.close(CloseCode.GoingAway, 'hub closed', 'hub-closed');
    for (const connection of this.router.inState(ConnectionState.Dropped)) {
      connection.close(CloseCode.GoingAway, 'hub closed', 'hub-closed');
    }
    this.draining?.();
    await this.backplane?.close();
  }
}
