import type { HttpSession } from './http-session.js';

/** The bounds a table keeps. */
export interface SessionLimits {
  /** Sessions at once (`maxSessions`). */
  readonly maxSessions: number;
  /** Sessions not logged in, per TCP connection. */
  readonly maxPendingPerConnection: number;
  /** Sessions not logged in, per remote address. */
  readonly maxPendingPerAddress: number;
  /** `sessionTimeout`. */
  readonly sessionTimeout: number;
}

/** The close code of a session evicted for a newer one from the same connection or address. */
export const EVICTED = 1013;

/**
 * The sessions of one attachment by id, and the bounds on them: `maxSessions`
 * in all; of those not logged in yet, a few per TCP connection and per
 * address (a new one evicts the oldest: such a session holds no name and
 * little memory, and its client can start again), so that one connection or
 * one address cannot fill the table for everyone else. A session is
 * forgotten once its client has its close event, when it is lost, or
 * `sessionTimeout` after it closed, whatever the client does.
 */
export class SessionTable {
  private readonly sessions = new Map<string, HttpSession>();
  private readonly byConnection = new Map<object, Set<HttpSession>>();
  private readonly byAddress = new Map<string, Set<HttpSession>>();

  constructor(private readonly limits: SessionLimits) {}

  get(id: string): HttpSession | undefined {
    return this.sessions.get(id);
  }

  /** Sessions held, closed ones not yet forgotten included. */
  get size(): number {
    return this.sessions.size;
  }

  /** Sessions open. */
  get open(): number {
    let open = 0;
    for (const session of this.sessions.values()) if (session.open) open++;
    return open;
  }

  values(): IterableIterator<HttpSession> {
    return this.sessions.values();
  }

  /** Whether one more session fits under `maxSessions`. */
  get hasRoom(): boolean {
    return this.sessions.size < this.limits.maxSessions;
  }

  /** Adds a new (pending) session; evicts the oldest pending one of its connection or address past their bounds. */
  add(session: HttpSession): void {
    this.sessions.set(session.id, session);
    this.enter(this.byConnection, session.connection, session, this.limits.maxPendingPerConnection);
    this.enter(this.byAddress, session.address, session, this.limits.maxPendingPerAddress);
  }

  /** The session logged in: it no longer counts against its connection and address. */
  joined(session: HttpSession): void {
    if (!session.pending) return;
    session.pending = false;
    this.leave(this.byConnection, session.connection, session);
    this.leave(this.byAddress, session.address, session);
  }

  /** Forgets the session (a later request for it is answered 404). */
  forget(session: HttpSession): void {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    this.joined(session);
  }

  /**
   * Loses sessions whose client stopped making requests (the hub sees 1006)
   * and forgets closed ones `sessionTimeout` after they closed.
   */
  sweep(now: number): void {
    const { sessionTimeout } = this.limits;
    for (const session of [...this.sessions.values()]) {
      if (!session.open) {
        if (now - session.closedAt > sessionTimeout) {
          session.endReader();
          this.forget(session);
        }
        continue;
      }
      if (!session.downlink.polling && now - session.lastSeen > sessionTimeout) session.lost();
    }
  }

  /** Forgets every session. */
  clear(): void {
    this.sessions.clear();
    this.byConnection.clear();
    this.byAddress.clear();
  }

  private enter<K>(groups: Map<K, Set<HttpSession>>, key: K, session: HttpSession, max: number): void {
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = new Set()));
    group.add(session);
    while (group.size > max) {
      // A Set keeps insertion order: the first is the oldest.
      const oldest = group.values().next().value!;
      this.evict(oldest);
    }
  }

  private leave<K>(groups: Map<K, Set<HttpSession>>, key: K, session: HttpSession): void {
    const group = groups.get(key);
    if (group === undefined || !group.delete(session)) return;
    if (group.size === 0) groups.delete(key);
  }

  private evict(session: HttpSession): void {
    // Forgotten at once, so it frees its place under maxSessions too; the hub sees it close.
    this.forget(session);
    session.closeByAdapter(EVICTED, 'too many sessions not logged in from this client');
    session.endReader();
  }
}
