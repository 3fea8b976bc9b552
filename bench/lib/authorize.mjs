// The relay cost of a relay policy (issue #19): the hub with an `authorizeRelay` hook
// (bench/servers/hub-authorize.mjs) against the same hub without it, the same pairs and window,
// at full load; rounds interleaved, their order alternating so that drift hits both alike.

/** `ctx`: run.mjs's `startServer`, `load`, `measureRelay` and `config`. */
export async function measureAuthorize({ startServer, load, measureRelay, config }) {
  const result = { without: [], with: [] };
  for (let round = 1; round <= config.authorizeRounds; round++) {
    const order = [
      ['without', 'hub'],
      ['with', 'hub-authorize'],
    ];
    if (round % 2 === 0) order.reverse();
    for (const [key, kind] of order) {
      const server = await startServer(kind);
      try {
        await load.call('connectPairs', { kind, port: server.port, pairs: config.pairs });
        result[key].push(await measureRelay(server, kind));
      } finally {
        await load.call('close');
        await server.stop();
      }
    }
    const [a, b] = [result.without.at(-1), result.with.at(-1)];
    console.log(
      `authorize ${round} hub ${Math.round(a.rate)} msg/s, ${a.cpuPerMsg.toFixed(2)} µs/msg;` +
        ` with authorizeRelay ${Math.round(b.rate)} msg/s, ${b.cpuPerMsg.toFixed(2)} µs/msg (${(b.cpuPerMsg / a.cpuPerMsg).toFixed(2)}×)`,
    );
  }
  return result;
}
