import type { LoginPhase } from './login-phase.js';
import type { Peer } from './peer.js';
import type { ResumeHold } from './resume-hold.js';

/**
 * What only some connections hold, or hold only for a while: the login phase
 * (until the login is decided), the resume hold (around a resume), the
 * peer's view (once something asked for it), the host's `data` (when
 * `authenticate` gave some) and the ICE refresh's timer (with TURN). One
 * object made on the first need and dropped when empty again, so that an
 * idle logged-in peer pays one field for all of them.
 */
export class ConnectionExtras {
  login: LoginPhase | undefined = undefined;
  hold: ResumeHold | undefined = undefined;
  view: Peer | undefined = undefined;
  data: unknown = undefined;
  iceTimer: ReturnType<typeof setTimeout> | undefined = undefined;

  /** Whether it holds nothing (the connection drops it then). */
  get empty(): boolean {
    return (
      this.login === undefined &&
      this.hold === undefined &&
      this.view === undefined &&
      this.data === undefined &&
      this.iceTimer === undefined
    );
  }
}

/** The fields of {@link ConnectionExtras}. */
export type ExtraKey = Exclude<keyof ConnectionExtras, 'empty'>;
