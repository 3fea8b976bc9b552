// The classic tutorial server: a users map and a switch on type, JSON.parse/stringify per message.
import { WebSocketServer } from 'ws';

export function start(server) {
  const wss = new WebSocketServer({ server });
  const users = {};
  const sendTo = (connection, message) => connection.send(JSON.stringify(message));

  wss.on('connection', (connection) => {
    connection.on('message', (message) => {
      let data;
      try {
        data = JSON.parse(message);
      } catch {
        data = {};
      }
      switch (data.type) {
        case 'login':
          if (users[data.name]) {
            sendTo(connection, { type: 'login', success: false });
          } else {
            users[data.name] = connection;
            connection.name = data.name;
            sendTo(connection, { type: 'login', success: true });
          }
          break;
        case 'offer': {
          const conn = users[data.name];
          if (conn != null) {
            connection.otherName = data.name;
            sendTo(conn, { type: 'offer', offer: data.offer, name: connection.name });
          }
          break;
        }
        case 'answer': {
          const conn = users[data.name];
          if (conn != null) {
            connection.otherName = data.name;
            sendTo(conn, { type: 'answer', answer: data.answer });
          }
          break;
        }
        case 'candidate': {
          const conn = users[data.name];
          if (conn != null) sendTo(conn, { type: 'candidate', candidate: data.candidate });
          break;
        }
        default:
          sendTo(connection, { type: 'error', message: 'Command not found: ' + data.type });
      }
    });
    connection.on('close', () => {
      if (connection.name) delete users[connection.name];
    });
  });
}
