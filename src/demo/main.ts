/*
 * The demo page: log in, call another tab, chat over a data channel and,
 * when the camera was started first, send video. With a hub that hands out
 * TURN servers, "relay only" forces calls through them; the page shows which
 * path each call took. When the connection to the server is lost (a blip, a
 * server restart or deploy) it shows "reconnecting…" and the call carries on
 * peer to peer while the client reconnects and resumes. Or join a room: a
 * call with every member (room.ts). Built for the browser
 * into dist/demo/ and served by the CLI at `/`.
 */
import { LoginError, PeerConnectionManager, SignallingClient } from '../client.js';
import { RoomMode } from './room.js';

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
const relayOnly = element<HTMLInputElement>('relay-only');
const iceStatus = element<HTMLElement>('ice');
const pathStatus = element<HTMLSpanElement>('path');
const roomInput = element<HTMLInputElement>('room');
const joinButton = element<HTMLButtonElement>('join');
const partButton = element<HTMLButtonElement>('part');

const path = document.querySelector<HTMLMetaElement>('meta[name="signalling-path"]')?.content ?? '/';
const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
const client = new SignallingClient(url);
// No ICE servers of its own: two tabs (or two machines on one LAN) connect with host candidates
// alone, and the manager adds the hub's STUN/TURN servers when the hub hands some out.
let calls = createCalls();

let localStream: MediaStream | undefined;
/** The one call this page is in, if any. */
let current: { peer: string; channel?: RTCDataChannel } | undefined;
const rooms = new RoomMode(
  {
    client,
    calls: () => calls,
    localStream: () => localStream,
    show,
    changed: (room) => {
      document.body.dataset.room = room ?? '';
      joinButton.disabled = room !== undefined;
      partButton.disabled = room === undefined;
      setInCall(undefined);
      messageInput.disabled = sendButton.disabled = room === undefined;
    },
  },
  element('peers'),
);

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
  callButton.disabled = peer !== undefined || client.state !== 'logged-in' || rooms.room !== undefined;
  joinButton.disabled = peer !== undefined || client.state !== 'logged-in' || rooms.room !== undefined;
  messageInput.disabled = sendButton.disabled = true;
  // The policy applies to new calls: it is changed between calls only.
  relayOnly.disabled = peer !== undefined || client.iceServers === undefined || rooms.room !== undefined;
  if (peer === undefined) showPath(undefined);
}

function showPath(path: 'direct' | 'relayed' | undefined): void {
  if (path === undefined) delete document.body.dataset.path;
  else document.body.dataset.path = path;
  pathStatus.textContent = path === undefined ? '' : path === 'relayed' ? 'path: relayed (TURN)' : 'path: direct';
}

/** Whether the call's selected candidate pair goes through a TURN relay, from getStats(). */
async function pathOf(connection: RTCPeerConnection): Promise<'direct' | 'relayed' | undefined> {
  type Report = {
    type: string;
    selectedCandidatePairId?: string;
    selected?: boolean;
    nominated?: boolean;
    state?: string;
    localCandidateId?: string;
    remoteCandidateId?: string;
    candidateType?: string;
  };
  const reports = new Map<string, Report>();
  (await connection.getStats()).forEach((report: Report & { id: string }) => reports.set(report.id, report));
  let pair: Report | undefined;
  for (const report of reports.values()) {
    if (report.type === 'transport' && report.selectedCandidatePairId !== undefined)
      pair = reports.get(report.selectedCandidatePairId);
  }
  // Browsers without transport stats (Firefox) mark the pair itself.
  for (const report of reports.values()) {
    if (report.type === 'candidate-pair' && (report.selected || (report.nominated && report.state === 'succeeded')))
      pair ??= report;
  }
  if (pair === undefined) return undefined;
  const types = [pair.localCandidateId, pair.remoteCandidateId].map((id) => reports.get(id ?? '')?.candidateType);
  return types.includes('relay') ? 'relayed' : 'direct';
}

function useChannel(peer: string, channel: RTCDataChannel): void {
  if (current?.peer !== peer) return;
  current.channel = channel;
  channel.onopen = () => {
    document.body.dataset.call = 'open';
    messageInput.disabled = sendButton.disabled = false;
    show(`Chat open with ${peer}`, 'info');
    const connection = calls.get(peer);
    if (connection !== undefined) {
      pathOf(connection).then(
        (path) => current?.peer === peer && showPath(path),
        () => {},
      );
    }
  };
  channel.onmessage = (event) => show(`${peer}: ${String(event.data)}`, 'remote');
  channel.onclose = () => {
    messageInput.disabled = sendButton.disabled = true;
  };
}

/** Whether the signalling connection is up, for the page's styles and tests: `online`, `reconnecting` or `offline`. */
function setSignalling(state: 'online' | 'reconnecting' | 'offline'): void {
  document.body.dataset.signalling = state;
}

client.on('login', ({ name, resumed }) => {
  const again = document.body.dataset.signalling === 'reconnecting';
  status.textContent = resumed ? `logged in again as ${name}` : `logged in as ${name}`;
  setSignalling('online');
  if (again && current !== undefined)
    show(`Back online${resumed ? '' : ' (new session)'}: the call with ${current.peer} goes on`, 'info');
  calleeInput.disabled = roomInput.disabled = false;
  callButton.disabled = joinButton.disabled = current !== undefined || rooms.room !== undefined;
});
client.on('reconnecting', ({ delay, attempt }) => {
  status.textContent = `reconnecting… (attempt ${attempt}, in ${Math.round(delay / 100) / 10} s)`;
});
client.on('close', ({ reconnecting, code }) => {
  if (!reconnecting) {
    status.textContent = `disconnected (${code})`;
    setSignalling('offline');
    return;
  }
  status.textContent = 'reconnecting…';
  // Once per loss: the call does not need the server until the next negotiation.
  if (document.body.dataset.signalling !== 'reconnecting' && current !== undefined) {
    show(`Connection to the server lost (${code}): reconnecting… the call with ${current.peer} goes on`, 'info');
  }
  setSignalling('reconnecting');
});
client.on('error', (error) => show(`Server: ${error.message}`, 'info'));
// Which way signalling goes: a WebSocket, or the hub's HTTP fallback where WebSockets are blocked.
client.on('transport', ({ transport, reason }) => {
  document.body.dataset.transport = transport;
  show(transport === 'http' ? `Signalling over HTTP (${reason ?? 'asked for'})` : 'Signalling over WebSocket', 'info');
});
client.on('ice-servers', ({ iceServers }) => {
  // The URLs only: credentials are not for display.
  const urls = (iceServers ?? []).flatMap((server) => server.urls);
  iceStatus.textContent = urls.length === 0 ? 'ICE servers: none from the hub' : `ICE servers from the hub: ${urls.join(', ')}`;
  relayOnly.disabled = current !== undefined || iceServers === undefined;
  if (iceServers === undefined) relayOnly.checked = false;
});

/** The manager, for the policy the switch says ("relay only": TURN candidates alone). */
function createCalls(): PeerConnectionManager<RTCPeerConnection> {
  const manager = new PeerConnectionManager(client, {
    configuration: relayOnly.checked ? { iceTransportPolicy: 'relay' } : {},
  });
  listen(manager);
  return manager;
}

relayOnly.addEventListener('change', () => {
  if (current !== undefined) return;
  calls.close();
  calls = createCalls();
});

function listen(manager: PeerConnectionManager<RTCPeerConnection>): void {
  manager.on('connection', ({ peer, connection, initiator }) => {
    if (rooms.room !== undefined) return rooms.connection(peer, connection, initiator);
    if (current !== undefined && current.peer !== peer) {
      // One call at a time in this demo: decline the second.
      queueMicrotask(() => manager.hangUp(peer));
      return;
    }
    current = { peer };
    setInCall(peer);
    show(initiator ? `Calling ${peer}…` : `Incoming call from ${peer}`, 'info');
    for (const track of localStream?.getTracks() ?? []) connection.addTrack(track, localStream!);
  });
  manager.on('datachannel', ({ peer, channel }) => {
    if (rooms.room !== undefined) rooms.useChannel(peer, channel);
    else useChannel(peer, channel);
  });
  manager.on('track', ({ peer, streams, track }) => {
    if (rooms.room !== undefined) return rooms.track(peer, streams[0] ?? new MediaStream([track]));
    remoteVideo.srcObject = streams[0] ?? new MediaStream([track]);
  });
  manager.on('closed', ({ peer, reason }) => {
    if (rooms.room !== undefined) return rooms.closed(peer);
    if (current?.peer !== peer) return;
    current = undefined;
    remoteVideo.srcObject = null;
    setInCall(undefined);
    show(`Call with ${peer} ended (${reason})`, 'info');
  });
}

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

element<HTMLFormElement>('room-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const room = roomInput.value.trim();
  if (room !== '' && current === undefined && rooms.room === undefined) rooms.join(room);
});

partButton.addEventListener('click', () => rooms.part());

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
  if (rooms.room !== undefined && text !== '') {
    rooms.send(text);
    messageInput.value = '';
    return;
  }
  const channel = current?.channel;
  if (text === '' || channel?.readyState !== 'open') return;
  channel.send(text);
  show(`me: ${text}`, 'me');
  messageInput.value = '';
});

setInCall(undefined);
