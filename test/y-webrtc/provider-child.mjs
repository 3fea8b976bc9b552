// One real y-webrtc WebrtcProvider in its own process (y-webrtc keeps its rooms in module state, one
// provider per room name and process), with @roamhq/wrtc for WebRTC in Node.
// argv: signalling URL, room name, password (optional). stdin: JSON lines {"insert":text} | {"quit":true}.
// stdout: JSON lines {"text":…} on every change of the shared text, {"peers":n} on every change of WebRTC peers.
import wrtc from '@roamhq/wrtc';
import { WebSocket } from 'ws';
import * as Y from 'yjs';
import { WebrtcProvider } from 'y-webrtc';
import { createInterface } from 'node:readline';

globalThis.WebSocket ??= WebSocket;
const [url, room, password] = process.argv.slice(2);
const doc = new Y.Doc();
const provider = new WebrtcProvider(room, doc, { signaling: [url], password: password || null, peerOpts: { wrtc } });
const text = doc.getText('shared');
const out = (message) => process.stdout.write(JSON.stringify(message) + '\n');
text.observe(() => out({ text: text.toString() }));
provider.on('peers', (event) => out({ peers: event.webrtcPeers.length }));
provider.on('status', (event) => out({ connected: event.connected }));
createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line);
  if (typeof command.insert === 'string') text.insert(text.length, command.insert);
  if (command.quit) {
    provider.destroy();
    doc.destroy();
    setTimeout(() => process.exit(0), 50);
  }
});
out({ ready: true });
