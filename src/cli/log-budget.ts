/**
 * How many lines of one kind the CLI writes per window before it only counts them. A client can
 * cause lines (refused logins, joins, relays failing while Redis is away) as fast as it can send;
 * without a budget that is gigabytes of log a day from one connection.
 */
export interface LogLimit {
  /** Lines of one kind written per window. */
  readonly lines: number;
  /** The window, in seconds. */
  readonly seconds: number;
}

interface Window {
  ends: number;
  written: number;
  suppressed: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Per kind of line (e.g. `login refused` with its reason): the first `lines` in each window pass;
 * later ones are counted, and when the window ends `summarise(kind, count)` is called once.
 */
export class LogBudget {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limit: LogLimit,
    private readonly summarise: (kind: string, suppressed: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a line of `kind` may be written now. */
  allow(kind: string): boolean {
    const now = this.now();
    let window = this.windows.get(kind);
    if (window === undefined || now >= window.ends) {
      if (window !== undefined) this.flush(kind, window);
      window = { ends: now + this.limit.seconds * 1000, written: 0, suppressed: 0, timer: undefined };
      this.windows.set(kind, window);
    }
    if (window.written < this.limit.lines) {
      window.written++;
      return true;
    }
    window.suppressed++;
    if (window.timer === undefined) {
      const ending = window;
      ending.timer = setTimeout(() => {
        this.flush(kind, ending);
        if (this.windows.get(kind) === ending) this.windows.delete(kind);
      }, ending.ends - now);
      // The summary of a window must not keep a process alive that is otherwise done.
      ending.timer.unref?.();
    }
    return false;
  }

  /** Writes the summaries of every open window now (e.g. before the process exits). */
  flushAll(): void {
    for (const [kind, window] of this.windows) this.flush(kind, window);
    this.windows.clear();
  }

  private flush(kind: string, window: Window): void {
    if (window.timer !== undefined) clearTimeout(window.timer);
    window.timer = undefined;
    if (window.suppressed > 0) this.summarise(kind, window.suppressed);
    window.suppressed = 0;
  }
}
