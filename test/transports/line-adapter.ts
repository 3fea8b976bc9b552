/**
 * A transport adapter as a third party would write it, from the package's
 * public exports only (`signalling-hub`): the hub over line-delimited TCP,
 * one text frame per line. It uses the same port as the built-in adapters.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { type AdapterPort, SignallingHubError, TransportError } from '../../src/index.js';

/** The channel this adapter answers other nodes on. */
const CHANNEL = 'line-adapter:sessions';

export interface LineAdapter {
  readonly server: Server;
  readonly port: number;
  /** Sessions open on this node. */
  readonly sessions: number;
  /** Sessions open on another node's line adapter, asked through the hub's backplane. */
  sessionsOn(nodeId: string): Promise<number | string>;
  close(): Promise<void>;
}

export async function serveLines(hub: { readonly adapterPort: AdapterPort }): Promise<LineAdapter> {
  const port = hub.adapterPort;
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    if (!port.accepting) {
      socket.end('{"type":"unavailable","status":503}\n');
      return;
    }
    open.add(socket);
    const session = port.open(
      {
        send: (message) => socket.write(typeof message === 'string' ? `${message}\n` : `${Buffer.from(message).toString()}\n`),
        close: (code, reason) => socket.end(`${JSON.stringify({ type: 'close', code, reason })}\n`),
        terminate: () => socket.destroy(),
        get bufferedAmount() {
          return socket.writableLength;
        },
      },
      { remoteAddress: socket.remoteAddress },
    );
    let rest = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      rest += chunk;
      let end: number;
      while ((end = rest.indexOf('\n')) !== -1) {
        const line = rest.slice(0, end);
        rest = rest.slice(end + 1);
        if (line.length > 0) session.receive(line);
      }
      if (Buffer.byteLength(rest) > port.options.maxMessageBytes) {
        // Not a failure of the server: one line for the operator's log.
        port.warn(
          new SignallingHubError('SH_ERR_TRANSPORT', `a line over ${port.options.maxMessageBytes} bytes; closed with 1009`),
        );
        rest = '';
        socket.end(`${JSON.stringify({ type: 'close', code: 1009, reason: 'line too long' })}\n`);
        session.closed(1009);
      }
    });
    socket.on('error', (error) => port.reportError(new TransportError('a line connection failed', error)));
    socket.on('close', () => {
      open.delete(socket);
      session.closed(1006);
    });
  });
  const stop = port.handleNodeMessages(CHANNEL, () => String(open.size));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as { port: number }).port,
    get sessions() {
      return open.size;
    },
    async sessionsOn(nodeId) {
      if (port.sendToNode === undefined) return 'no backplane';
      const answer = await port.sendToNode(nodeId, CHANNEL, '', { timeoutMs: 2000 });
      if (!answer.delivered) return answer.reason;
      return answer.reply === undefined ? 'not served' : Number(answer.reply);
    },
    close() {
      stop();
      for (const socket of open) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
