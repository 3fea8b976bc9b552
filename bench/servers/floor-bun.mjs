// The floor on Bun: frames forwarded unparsed between fixed partners (paired by ?p=<key>), as floor.mjs on Node.
export function start() {
  const waiting = new Map();
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(request, server) {
      const url = request.url;
      const key = url.slice(url.indexOf('p=') + 2);
      return server.upgrade(request, { data: { key, partner: undefined } }) ? undefined : new Response(null, { status: 400 });
    },
    websocket: {
      open(ws) {
        const other = waiting.get(ws.data.key);
        if (other === undefined) waiting.set(ws.data.key, ws);
        else {
          waiting.delete(ws.data.key);
          ws.data.partner = other;
          other.data.partner = ws;
        }
      },
      message(ws, message) {
        // A text frame arrives as a string and leaves as one.
        ws.data.partner?.send(message);
      },
      close(ws) {
        if (waiting.get(ws.data.key) === ws) waiting.delete(ws.data.key);
        if (ws.data.partner !== undefined) ws.data.partner.data.partner = undefined;
      },
    },
  });
  return server.port;
}
