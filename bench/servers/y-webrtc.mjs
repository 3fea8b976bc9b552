// y-webrtc's own signalling server (its bin/server.js, MIT), mounted on the plain http.Server: the same
// topics map and message handling, without its own http.createServer/listen and console line.
import { WebSocketServer } from 'ws';

export function start(server) {
  const wss = new WebSocketServer({ noServer: true });
  const topics = new Map();
  const send = (conn, message) => {
    if (conn.readyState !== 0 && conn.readyState !== 1) conn.close();
    try {
      conn.send(JSON.stringify(message));
    } catch {
      conn.close();
    }
  };
  wss.on('connection', (conn) => {
    const subscribedTopics = new Set();
    let closed = false;
    let pongReceived = true;
    const pingInterval = setInterval(() => {
      if (!pongReceived) {
        conn.close();
        clearInterval(pingInterval);
      } else {
        pongReceived = false;
        try {
          conn.ping();
        } catch {
          conn.close();
        }
      }
    }, 30000);
    conn.on('pong', () => (pongReceived = true));
    conn.on('close', () => {
      subscribedTopics.forEach((topicName) => {
        const subs = topics.get(topicName) || new Set();
        subs.delete(conn);
        if (subs.size === 0) topics.delete(topicName);
      });
      subscribedTopics.clear();
      closed = true;
    });
    conn.on('message', (message) => {
      if (typeof message === 'string' || message instanceof Buffer) message = JSON.parse(message);
      if (message && message.type && !closed) {
        switch (message.type) {
          case 'subscribe':
            (message.topics || []).forEach((topicName) => {
              if (typeof topicName === 'string') {
                let topic = topics.get(topicName);
                if (topic === undefined) topics.set(topicName, (topic = new Set()));
                topic.add(conn);
                subscribedTopics.add(topicName);
              }
            });
            break;
          case 'unsubscribe':
            (message.topics || []).forEach((topicName) => topics.get(topicName)?.delete(conn));
            break;
          case 'publish':
            if (message.topic) {
              const receivers = topics.get(message.topic);
              if (receivers) {
                message.clients = receivers.size;
                receivers.forEach((receiver) => send(receiver, message));
              }
            }
            break;
          case 'ping':
            send(conn, { type: 'pong' });
        }
      }
    });
  });
  server.on('upgrade', (request, socket, head) =>
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request)),
  );
}
