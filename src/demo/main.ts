/*
 * The demo page: log in, call another tab, chat over a data channel and,
 * when the camera was started first, send video. Built for the browser into
 * dist/demo/ and served by the CLI at `/`.
 */
import { LoginError, PeerConnectionManager, SignallingClient } from '../client.js';

function element<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

const nameInput = element<HTMLInputElement>('name');
const loginButton = element<HTMLButtonElement>('login');
const status = element<HTMLSpanElement>('status');
const calleeInput = element<HTMLInputElement>('callee');
const callButton = element<HTMLButtonElement>('call');
const hangUpButton = element<HTMLButtonElement>('hangup');
const cameraButton = element<HTMLButtonElement>('camera');
const localVideo = element<HTMLVideoElement>('local');
const remoteVideo = element<HTMLVideoElement>('remote');
const log = element<HTMLUListElement>('log');
const messageInput = element<HTMLInputElement>('message');
const sendButton = element<HTMLButtonElement>('send');

const path = document.querySelector<HTMLMetaElement>('meta[name="signalling-path"]')?.content ?? '/';
const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
const client = new SignallingClient(url);
// No ICE servers: two tabs (or two machines on one LAN) connect with host candidates alone.
const calls = new PeerConnectionManager(client);

let localStream: MediaStream | undefined;
/** The one call this page is in, if any. */
let current: { peer: string; channel?: RTCDataChannel } | undefined;

function show(text: string, kind: 'info' | 'me' | 'remote'): void {
  const item = document.createElement('li');
  item.className = kind;
  item.textContent = text;
  log.append(item);
  log.scrollTop = log.scrollHeight;
}

function setInCall(peer: string | undefined): void {
  document.body.dataset.call = peer === undefined ? 'none' : 'ringing';
  hangUpButton.disabled = peer === undefined;
  callButton.disabled = peer !== undefined || client.state !== 'logged-in';
  messageInput.disabled = sendButton.disabled = true;
}

function useChannel(peer: string, channel: RTCDataChannel): void {
  if (current?.peer !== peer) return;
  current.channel = channel;
  channel.onopen = () => {
    document.body.dataset.call = 'open';
    messageInput.disabled = sendButton.disabled = false;
    show(`Chat open with ${peer}`, 'info');
  };
  channel.onmessage = (event) => show(`${peer}: ${String(event.data)}`, 'remote');
  channel.onclose = () => {
    messageInput.disabled = sendButton.disabled = true;
  };
}

client.on('login', ({ name, resumed }) => {
  status.textContent = resumed ? `logged in again as ${name}` : `logged in as ${name}`;
  calleeInput.disabled = false;
  callButton.disabled = current !== undefined;
});
client.on('reconnecting', ({ delay }) => (status.textContent = `connection lost, retrying in ${Math.round(delay / 100) / 10} s`));
client.on('close', ({ reconnecting, code }) => {
  if (!reconnecting) status.textContent = `disconnected (${code})`;
});
client.on('error', (error) => show(`Server: ${error.message}`, 'info'));

calls.on('connection', ({ peer, connection, initiator }) => {
  if (current !== undefined && current.peer !== peer) {
    // One call at a time in this demo: decline the second.
    queueMicrotask(() => calls.hangUp(peer));
    return;
  }
  current = { peer };
  setInCall(peer);
  show(initiator ? `Calling ${peer}…` : `Incoming call from ${peer}`, 'info');
  for (const track of localStream?.getTracks() ?? []) connection.addTrack(track, localStream!);
});
calls.on('datachannel', ({ peer, channel }) => useChannel(peer, channel));
calls.on('track', ({ streams, track }) => {
  remoteVideo.srcObject = streams[0] ?? new MediaStream([track]);
});
calls.on('closed', ({ peer, reason }) => {
  if (current?.peer !== peer) return;
  current = undefined;
  remoteVideo.srcObject = null;
  setInCall(undefined);
  show(`Call with ${peer} ended (${reason})`, 'info');
});

element<HTMLFormElement>('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  loginButton.disabled = true;
  status.textContent = 'logging in…';
  client.login(nameInput.value.trim()).then(
    () => (nameInput.disabled = true),
    (error: unknown) => {
      loginButton.disabled = false;
      status.textContent = error instanceof LoginError ? `refused: ${error.reason}` : String(error);
    },
  );
});

element<HTMLFormElement>('call-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const peer = calleeInput.value.trim();
  if (peer === '' || current !== undefined) return;
  const connection = calls.call(peer);
  useChannel(peer, connection.createDataChannel('chat'));
});

hangUpButton.addEventListener('click', () => {
  if (current !== undefined) calls.hangUp(current.peer);
});

cameraButton.addEventListener('click', () => {
  cameraButton.disabled = true;
  navigator.mediaDevices.getUserMedia({ video: true, audio: false }).then(
    (stream) => {
      localStream = stream;
      localVideo.srcObject = stream;
    },
    (error: unknown) => {
      cameraButton.disabled = false;
      show(`No camera: ${error instanceof Error ? error.message : String(error)}`, 'info');
    },
  );
});

element<HTMLFormElement>('chat-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = messageInput.value;
  const channel = current?.channel;
  if (text === '' || channel?.readyState !== 'open') return;
  channel.send(text);
  show(`me: ${text}`, 'me');
  messageInput.value = '';
});

setInCall(undefined);
