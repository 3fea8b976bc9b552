import { describe, expect, it } from 'vitest';
import type { Transport } from '../../src/index.js';
import type { TestTransportFactory } from '../matrix/factory.js';
import { transports } from '../matrix/transports.js';
import { seedFrom } from './prng.js';
import { runProtocolFuzz } from './protocol.js';

const factory = (name: string) => transports.find((t) => t.name === name)!;

/**
 * The CI run of the protocol fuzzer against its model (the long run: `npm run fuzz:protocol`).
 * A fresh seed each run, printed; `FUZZ_SEED=<seed>` replays it (fast-check's report names the
 * seed of the failing round).
 */
describe('the protocol against a reference model', () => {
  it.each([
    ['in-memory (text)', 3000, 200],
    ['in-memory (bytes)', 1000, 200],
    ['ws (fast frame reader)', 300, 100],
    ['two nodes through Redis', 200, 100],
    ['two nodes through Redis, relays over node links', 200, 100],
    ['two nodes through a Redis Cluster', 200, 100],
    ['HTTP fallback (POST up, long-poll down)', 200, 100],
  ] as const)(
    '%s: every delivered frame and the registry match the model',
    async (name, steps, perRun) => {
      const seed = seedFrom(process.env.FUZZ_SEED);
      console.log(`protocol fuzz over ${name}: seed ${seed} (FUZZ_SEED=${seed} replays it)`);
      const result = await runProtocolFuzz({
        factory: factory(name),
        seed,
        steps,
        perRun,
        runsPerRound: name.startsWith('in-memory') ? 20 : 2,
        shrink: name.startsWith('in-memory'),
      });
      console.log(JSON.stringify(result));
      expect(result.steps).toBeGreaterThanOrEqual(steps);
    },
    120_000,
  );
});

/** The in-memory transport with a planted defect: frames the `keep` test refuses are lost, or sent twice. */
function faulty(fault: 'lose leave' | 'duplicate candidates'): TestTransportFactory {
  const inner = factory('in-memory (text)');
  return {
    ...inner,
    name: `in-memory, ${fault}`,
    async start(options) {
      const hub = await inner.start(options);
      const node = hub.hubs[0]!;
      const open = node.open.bind(node);
      node.open = (transport, info) => {
        const broken: Transport = {
          send(message) {
            const text = typeof message === 'string' ? message : Buffer.from(message).toString();
            if (fault === 'lose leave' && text.includes('"type":"leave"')) return;
            transport.send(message);
            if (fault === 'duplicate candidates' && text.startsWith('{"type":"candidate"')) transport.send(message);
          },
          close: (code, reason) => transport.close(code, reason),
          terminate: () => transport.terminate?.(),
          get bufferedAmount() {
            return transport.bufferedAmount;
          },
        };
        return open(broken, info);
      };
      return hub;
    },
  };
}

describe('the protocol fuzzer itself', () => {
  it.each(['lose leave', 'duplicate candidates'] as const)(
    'fails on a transport that would %s',
    async (fault) => {
      const seed = seedFrom(process.env.FUZZ_SEED);
      await expect(
        runProtocolFuzz({ factory: faulty(fault), seed, steps: 20_000, runsPerRound: 20, shrink: false }),
      ).rejects.toThrow(/unexpected frames|expected/);
    },
    60_000,
  );
});
