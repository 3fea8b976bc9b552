import { CloseCode } from '../protocol/close-codes.js';
import type { Backplane } from './backplane.js';
import type { Connection } from './connection.js';
import { ConnectionState } from './connection-state.js';
import type { Router } from './router.js';

/** An address with connections open from more than one: its string (shared by them all) and how many. */
interface SharedAddress {
  readonly address: string;
  open: number;
}

/**
 * A hub's life: accepting, draining, closed; and the open connections a
 * drain or a close waits for, counted per remote address (the transports'
 * per-address caps read the counts). An open connection in the Joined state
 * is found by its name in the router and only counted here; the others
 * (not logged in yet, or handing their name over) are kept in a set, so
 * that an idle logged-in peer sits in one collection, not two.
 */
export class HubLifecycle {
  /** `close()` was called. */
  closing = false;
  /** Open connections in the Joined state (each holds its name in the router). */
  private joinedOpen = 0;
  private draining: (() => void) | undefined;
  /**
   * Open connections per remote address, for the transports' per-address caps: the address
   * itself while one is open (the key's own string), a count from two on. The address strings
   * are shared: every connection from an address holds the first one's, not a copy of its own.
   */
  private readonly perAddress = new Map<string, string | SharedAddress>();

  /** Open connections not in the Joined state. */
  private readonly connections = new Set<Connection>();

  constructor(
    private readonly router: Router,
    private readonly backplane: Backplane | undefined,
  ) {}

  /** Whether new connections and logins are let in (neither `drain()` nor `close()` was called). */
  get accepting(): boolean {
    return !this.closing && this.draining === undefined;
  }

  /** Connections open from `address`. */
  openFrom(address: string): number {
    const entry = this.perAddress.get(address);
    return entry === undefined ? 0 : typeof entry === 'string' ? 1 : entry.open;
  }

  /** `address` as the string the connections open from it hold already (the same text), for a new connection to share. */
  sharedAddress(address: string | undefined): string | undefined {
    if (address === undefined) return undefined;
    const entry = this.perAddress.get(address);
    return entry === undefined ? address : typeof entry === 'string' ? entry : entry.address;
  }

  /** Open connections. */
  get open(): number {
    return this.connections.size + this.joinedOpen;
  }

  /** The open connections, as they are now (safe to close them while going through them). */
  openConnections(): Connection[] {
    const open = [...this.connections];
    for (const connection of this.router.inState(ConnectionState.Joined)) open.push(connection);
    return open;
  }

  /**
   * An open connection entered the Joined state (`true`: it is found by its
   * name from now on, and counted) or left it (`false`: back in the set,
   * until it is untracked if it is no longer open). Only open connections
   * join, so a joined one is always tracked.
   */
  joinedChanged(connection: Connection, joined: boolean): void {
    if (joined) {
      if (this.connections.delete(connection)) this.joinedOpen++;
    } else {
      this.joinedOpen--;
      this.connections.add(connection);
    }
  }

  /** A connection was let in: it joins the set and its address's count. */
  track(connection: Connection): void {
    this.connections.add(connection);
    const address = connection.remoteAddress;
    if (address === undefined) return;
    const entry = this.perAddress.get(address);
    if (entry === undefined) this.perAddress.set(address, address);
    else if (typeof entry === 'string') this.perAddress.set(entry, { address: entry, open: 2 });
    else entry.open++;
  }

  /** A connection is no longer open here: it leaves the set and its address's count. */
  untrack(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    const address = connection.remoteAddress;
    if (address === undefined) return;
    const entry = this.perAddress.get(address);
    if (entry === undefined || typeof entry === 'string') this.perAddress.delete(address);
    else if (--entry.open === 1) this.perAddress.set(entry.address, entry.address);
  }

  /** See `SignallingHub.drain()`; `timeout` is checked already. */
  async drain(timeout: number): Promise<void> {
    if (this.closing) return;
    if (this.draining === undefined) {
      const drained = new Promise<void>((resolve) => (this.draining = resolve));
      for (const connection of this.openConnections()) {
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
    if (this.draining === undefined || this.open > 0) return;
    if (this.backplane !== undefined && this.router.count(ConnectionState.Dropped) > 0) return;
    this.draining();
  }

  /** See `SignallingHub.close()`. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const connection of this.openConnections()) connection.close(CloseCode.GoingAway, 'hub closed', 'hub-closed');
    for (const connection of this.router.inState(ConnectionState.Dropped)) {
      connection.close(CloseCode.GoingAway, 'hub closed', 'hub-closed');
    }
    this.draining?.();
    await this.backplane?.close();
  }
}
