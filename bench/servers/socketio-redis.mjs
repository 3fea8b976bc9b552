// One node of a two-process socket.io cluster joined through Redis (BENCH_REDIS_URL) by @socket.io/redis-adapter,
// with the handlers of socketio.mjs: one room per peer name, the candidate relayed as an event to the target's room.
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import { Server } from 'socket.io';

export async function start(server) {
  const pubClient = createClient({ url: process.env.BENCH_REDIS_URL });
  const subClient = pubClient.duplicate();
  for (const client of [pubClient, subClient]) client.on('error', (error) => console.error('redis error', error));
  await Promise.all([pubClient.connect(), subClient.connect()]);
  const io = new Server(server, {
    transports: ['websocket'],
    serveClient: false,
    adapter: createAdapter(pubClient, subClient),
  });
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
