// The relay cost of a relay policy (issue #19): the hub with an `authorizeRelay` hook
// (bench/servers/hub-authorize.mjs) against the same hub without it, the same pairs and window, at full load.
// The hook costs a few percent, less than a fresh process's JIT state and the machine's drift move a round,
// so both servers live for the whole section: one warm-up window each, then short windows in ABBA order
// (A B, B A, A B, …), each pair of adjacent windows one round.

/** `ctx`: run.mjs's `startServer`, `load`, `measureRelay` and `config`. */
export async function measureAuthorize({ startServer, load, measureRelay, config }) {
  const result = { without: [], with: [] };
  const variants = { without: 'hub', with: 'hub-authorize' };
  const servers = {};
  try {
    for (const [key, kind] of Object.entries(variants)) servers[key] = await startServer(kind);
    /** One window on an already running server: fresh pairs, a short settle, the measured window. */
    const window = async (key, warmMs) => {
      const kind = variants[key];
      await load.call('connectPairs', { kind, port: servers[key].port, pairs: config.pairs });
      try {
        return await measureRelay(servers[key], kind, { warmMs });
      } finally {
        await load.call('close');
      }
    };
    // Equal JIT warmth: each server relays at full load before anything is kept.
    await window('without', config.authorizeWarmMs);
    await window('with', config.authorizeWarmMs);
    for (let round = 1; round <= config.authorizeRounds; round++) {
      const order = round % 2 === 1 ? ['without', 'with'] : ['with', 'without'];
      for (const key of order) result[key].push(await window(key, config.authorizeSettleMs));
      const [a, b] = [result.without.at(-1), result.with.at(-1)];
      console.log(
        `authorize ${round} hub ${Math.round(a.rate)} msg/s, ${a.cpuPerMsg.toFixed(2)} µs/msg;` +
          ` with authorizeRelay ${Math.round(b.rate)} msg/s, ${b.cpuPerMsg.toFixed(2)} µs/msg (${(b.cpuPerMsg / a.cpuPerMsg).toFixed(2)}×)`,
      );
    }
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
  }
  return result;
}
