// PeerJS server (npm `peer`) mounted on the plain http.Server; clients connect to /peerjs.
import express from 'express';
import { ExpressPeerServer } from 'peer';

export function start(server) {
  const app = express();
  server.on('request', app);
  // The default concurrent_limit (5000) would refuse the 10k idle peers of the memory run.
  app.use('/', ExpressPeerServer(server, { path: '/', concurrent_limit: 1_000_000 }));
}
