import fc from 'fast-check';
import type { Frame } from '../helpers/test-client.js';
import type { MatrixClient, Role, TestHub, TestTransportFactory } from '../matrix/factory.js';

/**
 * The protocol against a model. fast-check generates sequences of steps —
 * connect, login (free, taken, invalid, resume with the right or a wrong
 * token), relays of each type (valid, malformed, to missing names, to
 * oneself), leave, garbage, clean and abrupt closes, the host's
 * `disconnect()` and `send()` — over up to 8 clients on one node or on two
 * nodes through Redis (a client's role picks its node). A small reference
 * model says what each step must do. After every step:
 *
 * - every client received exactly the frames the model expects, in order
 *   (nothing lost, nothing misrouted, nothing extra);
 * - clients the server closed saw the expected close code;
 * - the registry of every node (`hub.getPeer()` for every name, `hub.size`)
 *   matches the model.
 *
 * It runs over any factory of the transport matrix. The rate limit is off:
 * it depends on time, which the model does not have.
 */

const SLOTS = 8;
export const NAMES = ['a', 'b', 'c', '__proto__', 'constructor', 'Zoë 🦊', 'x'.repeat(128), 'd'];
const INVALID_NAMES: unknown[] = ['', 'bad\u0000name', 'x'.repeat(129), 'lone\ud800', 42, null];
const RELAYS = ['offer', 'answer', 'candidate', 'leave'] as const;
type RelayType = (typeof RELAYS)[number];
/** A name no login can hold (a control character): the cluster barrier sends to it. */
const BARRIER = '\u0001barrier';

/** A frame the model expects: its fields, and how to compare the ones it cannot know. */
interface Expected {
  frame: Record<string, unknown>;
  /** Login success: `'new'` for any new token, or exactly this one (a repeated login). */
  token?: string;
  /** Runs with the real frame once it matched (e.g. to learn the token). */
  seen?: (frame: Frame) => void;
}

interface Slot {
  open: boolean;
  role: Role;
  name: string | undefined;
  token: string | undefined;
  /** Names in a call with this peer. */
  partners: Set<string>;
  expected: Expected[];
  /** The close code the server closes this client with, when the model says it does. */
  closedBy: number | undefined;
}

export class Model {
  readonly slots: Array<Slot | undefined> = Array.from({ length: SLOTS }, () => undefined);
  /** Name → slot holding it. */
  readonly holders = new Map<string, number>();
  /** Host sends (their results are checked at once). */
  sends = 0;

  constructor(readonly nodes: number) {}

  nodeOf(role: Role): number {
    return role === 'callee' && this.nodes > 1 ? 1 : 0;
  }

  expect(slot: number, expected: Expected): void {
    const s = this.slots[slot];
    if (s?.open) s.expected.push(expected);
  }

  error(slot: number, code: string, request?: string, target?: string): void {
    const frame: Record<string, unknown> = { type: 'error', code };
    if (request !== undefined) frame.request = request;
    if (target !== undefined) frame.target = target;
    this.expect(slot, { frame });
  }

  /** A connection is gone: its name is free, its partners (other than itself) hear leave. */
  gone(slot: number, closedBy: number | undefined): void {
    const s = this.slots[slot]!;
    s.open = false;
    s.closedBy = closedBy;
    const name = s.name;
    if (name === undefined) return;
    if (this.holders.get(name) === slot) this.holders.delete(name);
    this.notifyPartners(s, name);
  }

  notifyPartners(s: Slot, name: string): void {
    for (const partner of s.partners) {
      if (partner === name) continue;
      const holder = this.holders.get(partner);
      if (holder === undefined) continue;
      this.slots[holder]!.partners.delete(name);
      this.expect(holder, { frame: { type: 'leave', name } });
    }
    s.partners.clear();
  }
}

export interface Real {
  readonly hub: TestHub;
  readonly clients: Array<MatrixClient | undefined>;
  /** Frames arrive asynchronously (over a network): wait for them. */
  readonly async: boolean;
  readonly cluster: boolean;
  /** The transport has binary frames (the HTTP fallback has none: a binary garbage step sends invalid JSON there). */
  readonly binaryFrames: boolean;
  /** Steps run so far (for the long run's count). */
  steps: number;
}

// --- Checking ---

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

function matches(expected: Expected, frame: Frame): boolean {
  const actual: Record<string, unknown> = { ...frame };
  if (expected.frame.type === 'error' || (expected.frame.type === 'login' && expected.frame.success === false)) {
    if (typeof actual.message !== 'string') return false;
    delete actual.message;
  }
  if (expected.token !== undefined) {
    if (typeof actual.token !== 'string' || actual.token === '') return false;
    if (expected.token !== 'new' && actual.token !== expected.token) return false;
    delete actual.token;
  }
  return JSON.stringify(canonical(actual)) === JSON.stringify(canonical(expected.frame));
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return true;
}

const WAIT_MS = 5000;

/** `promise`'s value, or undefined after `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Checks frames, closes and the registry against the model after a step. */
async function verify(model: Model, real: Real, step: string): Promise<void> {
  const fail = (what: string) => {
    throw new Error(`after ${step}: ${what}`);
  };
  if (real.cluster) {
    // Forwards are answered asynchronously: once a send from each node is answered, the answers to
    // every earlier forward (and the call bookkeeping they do) have run.
    for (const hub of real.hub.hubs) await hub.send(BARRIER, { type: 'barrier' });
  }
  for (let i = 0; i < SLOTS; i++) {
    const slot = model.slots[i];
    const client = real.clients[i];
    if (slot === undefined || client === undefined) continue;
    const expected = slot.expected.splice(0);
    const inbox = client.inbox;
    if (expected.length > 0 && !(await until(() => inbox.length >= expected.length, real.async ? WAIT_MS : 0))) {
      fail(
        `client ${i} (${slot.name ?? 'no name'}) expected ${JSON.stringify(expected.map((e) => e.frame))}, got ${JSON.stringify(inbox)}`,
      );
    }
    const frames = inbox.splice(0, expected.length);
    expected.forEach((e, k) => {
      if (!matches(e, frames[k]!))
        fail(`client ${i} frame ${k}: expected ${JSON.stringify(e.frame)}, got ${JSON.stringify(frames[k])}`);
      e.seen?.(frames[k]!);
    });
    if (inbox.length > 0) fail(`client ${i} (${slot.name ?? 'no name'}) got unexpected frames ${JSON.stringify(inbox)}`);
    if (!slot.open && slot.closedBy !== undefined) {
      const code = await within(
        client.closed.then((closed) => closed.code),
        WAIT_MS,
      );
      if (code !== slot.closedBy) fail(`client ${i} closed with ${code}, expected ${slot.closedBy}`);
      slot.closedBy = undefined;
    }
  }
  const registryMatches = () =>
    real.hub.hubs.every((hub, node) => {
      let count = 0;
      for (const name of NAMES) {
        const holder = model.holders.get(name);
        const here = holder !== undefined && model.nodeOf(model.slots[holder]!.role) === node;
        if (here) count++;
        if ((hub.getPeer(name)?.name === name) !== here) return false;
      }
      return hub.size === count;
    });
  if (!(await until(registryMatches, real.async ? WAIT_MS : 0))) {
    const seen = real.hub.hubs.map((hub) => [...hub.peers()].map((peer) => peer.name));
    fail(`registry ${JSON.stringify(seen)} differs from the model ${JSON.stringify([...model.holders])}`);
  }
  if (real.cluster) await real.hub.settled();
}

// --- Commands ---

type Cmd = fc.AsyncCommand<Model, Real>;

abstract class Step implements Cmd {
  abstract check(model: Readonly<Model>): boolean;
  abstract toString(): string;
  protected abstract act(model: Model, real: Real): Promise<void> | void;

  async run(model: Model, real: Real): Promise<void> {
    await this.act(model, real);
    real.steps++;
    await verify(model, real, this.toString());
  }
}

const openSlot = (model: Readonly<Model>, slot: number) => model.slots[slot]?.open === true;

class Connect extends Step {
  constructor(
    readonly slot: number,
    readonly role: Role,
  ) {
    super();
  }
  check(model: Readonly<Model>) {
    return !openSlot(model, this.slot);
  }
  async act(model: Model, real: Real) {
    model.slots[this.slot] = {
      open: true,
      role: this.role,
      name: undefined,
      token: undefined,
      partners: new Set(),
      expected: [],
      closedBy: undefined,
    };
    real.clients[this.slot] = await real.hub.connect(this.role);
  }
  toString() {
    return `connect(${this.slot}, ${this.role})`;
  }
}

class Login extends Step {
  constructor(
    readonly slot: number,
    readonly name: unknown,
  ) {
    super();
  }
  check(model: Readonly<Model>) {
    return openSlot(model, this.slot);
  }
  act(model: Model, real: Real) {
    const s = model.slots[this.slot]!;
    const name = this.name;
    const refuse = (reason: string) => model.expect(this.slot, { frame: { type: 'login', success: false, reason } });
    if (typeof name !== 'string' || !NAMES.includes(name)) refuse('invalid-name');
    else if (s.name !== undefined) {
      if (s.name === name) model.expect(this.slot, { frame: { type: 'login', success: true, name }, token: s.token });
      else refuse('already-logged-in');
    } else if (model.holders.has(name)) refuse('name-taken');
    else {
      model.holders.set(name, this.slot);
      s.name = name;
      model.expect(this.slot, {
        frame: { type: 'login', success: true, name },
        token: 'new',
        seen: (frame) => (s.token = frame.token as string),
      });
    }
    real.clients[this.slot]!.send({ type: 'login', name });
  }
  toString() {
    return `login(${this.slot}, ${JSON.stringify(this.name)})`;
  }
}

/** Logs in with another client's name and its token (right or wrong): a reconnecting client. */
class Resume extends Step {
  constructor(
    readonly slot: number,
    readonly from: number,
    readonly rightToken: boolean,
  ) {
    super();
  }
  check(model: Readonly<Model>) {
    return (
      openSlot(model, this.slot) &&
      this.from !== this.slot &&
      openSlot(model, this.from) &&
      model.slots[this.from]!.name !== undefined
    );
  }
  act(model: Model, real: Real) {
    const s = model.slots[this.slot]!;
    const holder = model.slots[this.from]!;
    const name = holder.name!;
    const token = this.rightToken ? holder.token! : 'not-the-token';
    const sameNode = model.nodeOf(s.role) === model.nodeOf(holder.role);
    if (s.name !== undefined) {
      model.expect(this.slot, { frame: { type: 'login', success: false, reason: 'already-logged-in' } });
    } else if (!this.rightToken || !sameNode) {
      // A wrong token, or a take-over asked of a node that does not hold the name: name-taken.
      model.expect(this.slot, { frame: { type: 'login', success: false, reason: 'name-taken' } });
    } else {
      // The old connection is closed with 4409; its partners hear leave; the name moves over.
      model.holders.set(name, this.slot);
      holder.open = false;
      holder.closedBy = 4409;
      model.notifyPartners(holder, name);
      s.name = name;
      model.expect(this.slot, {
        // A login with a token says whether it took the name back.
        frame: { type: 'login', success: true, name, resumed: true },
        token: 'new',
        seen: (frame) => (s.token = frame.token as string),
      });
    }
    real.clients[this.slot]!.send({ type: 'login', name, token });
  }
  toString() {
    return `resume(${this.slot}, from ${this.from}, ${this.rightToken ? 'right' : 'wrong'} token)`;
  }
}

type Malformed = 'none' | 'missing-payload' | 'numeric-target';

class Relay extends Step {
  constructor(
    readonly slot: number,
    readonly type: RelayType,
    readonly target: string,
    readonly payload: unknown,
    readonly malformed: Malformed,
  ) {
    super();
  }
  check(model: Readonly<Model>) {
    return openSlot(model, this.slot) && !(this.malformed === 'missing-payload' && this.type === 'leave');
  }
  act(model: Model, real: Real) {
    const { slot, type, target } = this;
    const s = model.slots[slot]!;
    // The payload as it travels: JSON (no undefined, no -0).
    const payload = JSON.parse(JSON.stringify(this.payload ?? null)) as unknown;
    const message: Record<string, unknown> = { type, name: this.malformed === 'numeric-target' ? 5 : target };
    if (type !== 'leave' && this.malformed !== 'missing-payload') message[type] = payload;
    if (s.name === undefined) model.error(slot, 'not-logged-in', type);
    else if (this.malformed === 'numeric-target') model.error(slot, 'invalid-message', type);
    else if (this.malformed === 'missing-payload') model.error(slot, 'invalid-message', type, target);
    else {
      const holder = model.holders.get(target);
      if (holder === undefined) model.error(slot, 'peer-not-found', type, target);
      else {
        const h = model.slots[holder]!;
        model.expect(holder, { frame: type === 'leave' ? { type, name: s.name } : { type, [type]: payload, name: s.name } });
        if (type === 'offer' || type === 'answer') {
          s.partners.add(target);
          h.partners.add(s.name);
        } else if (type === 'leave') {
          s.partners.delete(target);
          h.partners.delete(s.name);
        }
      }
    }
    real.clients[slot]!.send(message);
  }
  toString() {
    return `relay(${this.slot}, ${this.type} → ${JSON.stringify(this.target)}, ${JSON.stringify(this.payload)}${this.malformed === 'none' ? '' : `, ${this.malformed}`})`;
  }
}

const GARBAGE = {
  'invalid-json': ['{"type":"offer",', 'invalid-json'],
  'no-type': [JSON.stringify({ name: 'a' }), 'invalid-message'],
  array: ['[{"type":"login","name":"a"}]', 'invalid-message'],
  'numeric-type': [JSON.stringify({ type: 5 }), 'invalid-message'],
  'unknown-type': [JSON.stringify({ type: 'dance' }), 'unknown-type'],
  binary: ['', 'binary-not-supported'],
} as const;

class Garbage extends Step {
  constructor(
    readonly slot: number,
    readonly kind: keyof typeof GARBAGE,
  ) {
    super();
  }
  check(model: Readonly<Model>) {
    return openSlot(model, this.slot);
  }
  act(model: Model, real: Real) {
    const binary = this.kind === 'binary' && real.binaryFrames;
    const [text, code] = binary || this.kind !== 'binary' ? GARBAGE[this.kind] : GARBAGE['invalid-json'];
    model.error(this.slot, code, this.kind === 'unknown-type' ? 'dance' : undefined);
    const client = real.clients[this.slot]!;
    if (binary) client.sendBinary(Buffer.from('{}'));
    else client.send(text);
  }
  toString() {
    return `garbage(${this.slot}, ${this.kind})`;
  }
}

class Close extends Step {
  constructor(
    readonly slot: number,
    readonly abrupt: boolean,
  ) {
    super();
  }
  check(model: Readonly<Model>) {
    return openSlot(model, this.slot);
  }
  act(model: Model, real: Real) {
    model.gone(this.slot, undefined);
    const client = real.clients[this.slot]!;
    if (this.abrupt) client.abort();
    else client.close(1000);
  }
  toString() {
    return `close(${this.slot}, ${this.abrupt ? 'abrupt' : 'clean'})`;
  }
}

/** The host disconnects a name (4403), on the node that holds it. */
class Disconnect extends Step {
  constructor(readonly name: string) {
    super();
  }
  check() {
    return true;
  }
  act(model: Model, real: Real) {
    const holder = model.holders.get(this.name);
    const node = holder === undefined ? 0 : model.nodeOf(model.slots[holder]!.role);
    if (holder !== undefined) model.gone(holder, 4403);
    const done = real.hub.hubs[node]!.disconnect(this.name, 'fuzz');
    if (done !== (holder !== undefined)) throw new Error(`disconnect(${JSON.stringify(this.name)}) returned ${done}`);
  }
  toString() {
    return `disconnect(${JSON.stringify(this.name)})`;
  }
}

/** The host sends a message of its own from node 1 to a name (on any node). */
class HostSend extends Step {
  constructor(readonly name: string) {
    super();
  }
  check() {
    return true;
  }
  async act(model: Model, real: Real) {
    const holder = model.holders.get(this.name);
    const n = ++model.sends;
    if (holder !== undefined) model.expect(holder, { frame: { type: 'notice', n } });
    const delivered = await real.hub.hubs[0]!.send(this.name, { type: 'notice', n });
    if (delivered !== (holder !== undefined)) throw new Error(`send(${JSON.stringify(this.name)}) returned ${delivered}`);
  }
  toString() {
    return `hostSend(${JSON.stringify(this.name)})`;
  }
}

// --- Arbitraries ---

const slot = fc.integer({ min: 0, max: SLOTS - 1 });
const poolName = fc.constantFrom(...NAMES);
const role = fc.constantFrom<Role>('caller', 'callee');
const payload = fc.oneof(
  fc.constant({ type: 'offer', sdp: 'v=0\r\n' }),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
  fc.record({ candidate: fc.string({ unit: 'grapheme' }), sdpMid: fc.constant('0'), sdpMLineIndex: fc.nat(3) }),
);

export const commands = [
  fc.tuple(slot, role).map(([s, r]) => new Connect(s, r)),
  fc.tuple(slot, role).map(([s, r]) => new Connect(s, r)),
  fc
    .tuple(slot, fc.oneof({ arbitrary: poolName, weight: 5 }, { arbitrary: fc.constantFrom(...INVALID_NAMES), weight: 1 }))
    .map(([s, n]) => new Login(s, n)),
  fc.tuple(slot, poolName).map(([s, n]) => new Login(s, n)),
  fc.tuple(slot, slot, fc.boolean()).map(([s, from, right]) => new Resume(s, from, right)),
  ...[1, 2, 3, 4].map(() =>
    fc
      .tuple(
        slot,
        fc.constantFrom(...RELAYS),
        fc.oneof({ arbitrary: poolName, weight: 6 }, { arbitrary: fc.constant('nobody'), weight: 1 }),
        payload,
      )
      .map(([s, type, target, value]) => new Relay(s, type, target, value, 'none')),
  ),
  fc
    .tuple(slot, fc.constantFrom(...RELAYS), poolName, fc.constantFrom<Malformed>('missing-payload', 'numeric-target'))
    .map(([s, type, target, malformed]) => new Relay(s, type, target, 1, malformed)),
  fc
    .tuple(slot, fc.constantFrom(...(Object.keys(GARBAGE) as Array<keyof typeof GARBAGE>)))
    .map(([s, kind]) => new Garbage(s, kind)),
  fc.tuple(slot, fc.boolean()).map(([s, abrupt]) => new Close(s, abrupt)),
  poolName.map((name) => new Disconnect(name)),
  poolName.map((name) => new HostSend(name)),
];

// --- Running ---

export interface ProtocolFuzzOptions {
  factory: TestTransportFactory;
  seed: number;
  /** Stop after at least this many steps. */
  steps: number;
  /** Most steps per generated sequence (each sequence gets a fresh hub). */
  perRun?: number;
  /** Sequences per fast-check run (each run has its own seed: seed, seed + 1, …). */
  runsPerRound?: number;
  /** Shrink a failure to a minimal sequence (slow over a network). */
  shrink?: boolean;
  onProgress?: (result: ProtocolFuzzResult) => void;
}

export interface ProtocolFuzzResult {
  seed: number;
  /** Steps run (commands whose preconditions held). */
  steps: number;
  /** Sequences run, each against a fresh hub. */
  sequences: number;
  ms: number;
}

/**
 * Runs rounds of sequences until `steps` steps ran. Round `r` is a fast-check
 * run with seed `seed + r`; on a failure it throws fast-check's report, which
 * names that seed, the path and the (shrunk) failing sequence: `seed + r`
 * given as the seed replays it in the first round.
 */
export async function runProtocolFuzz(options: ProtocolFuzzOptions): Promise<ProtocolFuzzResult> {
  const { factory } = options;
  const perRun = options.perRun ?? 200;
  const result: ProtocolFuzzResult = { seed: options.seed, steps: 0, sequences: 0, ms: 0 };
  const started = Date.now();
  await factory.setup?.();
  try {
    for (let round = 0; result.steps < options.steps; round++) {
      await fc.assert(
        fc.asyncProperty(fc.commands(commands, { maxCommands: perRun, size: 'max' }), async (cmds) => {
          const hub = await factory.start({ rateLimit: false });
          const real: Real = {
            hub,
            clients: Array.from({ length: SLOTS }, () => undefined),
            async: factory.name.startsWith('in-memory') === false,
            cluster: factory.capabilities.nodes > 1,
            binaryFrames: factory.capabilities.binaryFrames,
            steps: 0,
          };
          try {
            await fc.asyncModelRun(() => ({ model: new Model(factory.capabilities.nodes), real }), cmds);
          } finally {
            result.steps += real.steps;
            result.sequences++;
            await hub.close();
          }
        }),
        {
          seed: options.seed + round,
          numRuns: options.runsPerRound ?? 50,
          endOnFailure: options.shrink === false,
          includeErrorInReport: true,
        },
      );
      result.ms = Date.now() - started;
      options.onProgress?.({ ...result });
    }
  } finally {
    await factory.teardown?.();
  }
  result.ms = Date.now() - started;
  return result;
}
