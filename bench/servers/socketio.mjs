// socket.io: one room per peer name, the candidate relayed as an event to the target's room.
import { Server } from 'socket.io';

export function start(server) {
  const io = new Server(server, { transports: ['websocket'], serveClient: false });
  io.on('connection', (socket) => {
    socket.on('login', (name) => {
      socket.data.name = name;
      socket.join(name);
      socket.emit('login', true);
    });
    socket.on('candidate', (message) => {
      io.to(message.name).emit('candidate', { candidate: message.candidate, name: socket.data.name });
    });
  });
}
