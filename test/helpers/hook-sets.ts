import type { HubOptions } from '../../src/index.js';

/** A call `relay-rules` saw. */
export interface SeenRelay {
  from: string;
  to: string;
  type: string;
}

/**
 * Hook behaviours by name, each built from a plain-JSON state. The hub calls
 * some hooks synchronously (`authorizeRelay`), so a hub in another process
 * (the Bun child) cannot call back a closure of the test: there the same
 * set is built from this module, with the state the test gave, and runs
 * inside the child; the test changes or reads the state through the harness.
 * In this process the set runs as it is. Each must use nothing but its state.
 */
export const hookSets = {
  /** `authorizeRelay` refusing the `from>to` pairs in `blocked`; each call is recorded in `seen`. */
  'relay-rules': (state: { blocked: string[]; seen: SeenRelay[] }): HubOptions => ({
    authorizeRelay: ({ from, to, type }) => {
      state.seen.push({ from: from.name, to, type });
      return !state.blocked.includes(`${from.name}>${to}`);
    },
  }),
  /** `authorizeRelay` refusing every relay to a name in `hidden`. */
  'hide-names': (state: { hidden: string[] }): HubOptions => ({
    authorizeRelay: ({ to }) => !state.hidden.includes(to),
  }),
} as const;

export type HookSetName = keyof typeof hookSets;
export type HookSetState<N extends HookSetName> = Parameters<(typeof hookSets)[N]>[0];

/** Where a set's state lives when its hooks run in another process: `update` merges a patch there and answers the state. */
export interface RemoteHookState {
  update(patch: object): Promise<unknown>;
}

const NAMED = Symbol('named hook set');

/**
 * A named hook set for one hub: `options` go into the hub's options (in
 * this process they are the set's hooks over a local state; the Bun harness
 * recognises them and builds the same set in the child). Change the state
 * with `update()` and read it with `state()`: both reach wherever the hooks run.
 */
export class NamedHooks<N extends HookSetName> {
  readonly options: HubOptions;
  private readonly local: HookSetState<N>;
  private remote: RemoteHookState | undefined;

  constructor(
    readonly set: N,
    initial: HookSetState<N>,
  ) {
    this.local = structuredClone(initial);
    this.options = (hookSets[set] as (state: HookSetState<N>) => HubOptions)(this.local);
    for (const hook of Object.values(this.options)) {
      if (typeof hook === 'function') (hook as unknown as Record<symbol, unknown>)[NAMED] = this;
    }
  }

  /** The state as it is now here (what a child starts from). */
  get snapshot(): HookSetState<N> {
    return structuredClone(this.local);
  }

  /** The hooks run elsewhere from now on; `update()` and `state()` go there. */
  bind(remote: RemoteHookState): void {
    this.remote = remote;
  }

  /** Merges `patch` into the state; resolves once the hooks see it. */
  async update(patch: Partial<HookSetState<N>>): Promise<void> {
    Object.assign(this.local, patch);
    await this.remote?.update(patch);
  }

  /** The state as the hooks left it. */
  async state(): Promise<HookSetState<N>> {
    return this.remote === undefined ? this.local : ((await this.remote.update({})) as HookSetState<N>);
  }
}

/** The named set a hook of `options` came from, if any. */
export function namedHooksOf(value: unknown): NamedHooks<HookSetName> | undefined {
  if (typeof value !== 'function') return undefined;
  return (value as unknown as Record<symbol, NamedHooks<HookSetName> | undefined>)[NAMED];
}
