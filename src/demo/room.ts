/*
 * The demo's room mode: join a room and hold a call with every member (a
 * mesh, PeerConnectionManager.joinRoom): one video per member, and a chat
 * over one data channel per member. The newcomer calls; its side creates the
 * channel. The page's `data-room` and `data-open` (the members whose channel
 * is open, sorted) are for its styles and tests.
 */
import { RoomError, type PeerConnectionManager, type SignallingClient } from '../client.js';

type Manager = PeerConnectionManager<RTCPeerConnection>;
type Show = (text: string, kind: 'info' | 'me' | 'remote') => void;

/** What the room mode needs from the page. */
export interface RoomPage {
  client: SignallingClient;
  calls(): Manager;
  localStream(): MediaStream | undefined;
  show: Show;
  /** In a room or not: the page enables its controls. */
  changed(room: string | undefined): void;
}

export class RoomMode {
  /** The room this page is in, if any. */
  room: string | undefined;
  private readonly channels = new Map<string, RTCDataChannel>();
  private readonly videos = new Map<string, HTMLVideoElement>();

  constructor(
    private readonly page: RoomPage,
    private readonly grid: HTMLElement,
  ) {
    page.client.on('joined', ({ room, name }) => this.room === room && page.show(`${name} joined ${room}`, 'info'));
    page.client.on('parted', ({ room, name }) => this.room === room && page.show(`${name} left ${room}`, 'info'));
    page.client.on('room-parted', ({ room, reason }) => {
      if (room === this.room && reason === 'refused') this.left(`could not join ${room} again`);
    });
  }

  join(room: string): void {
    this.room = room;
    this.page.changed(room);
    this.page.show(`Joining ${room}…`, 'info');
    this.page
      .calls()
      .joinRoom(room)
      .then(
        (members) =>
          this.page.show(members.length === 0 ? `In ${room}, alone so far` : `In ${room} with ${members.join(', ')}`, 'info'),
        (error: unknown) => this.left(error instanceof RoomError ? `refused: ${error.reason}` : String(error)),
      );
  }

  part(): void {
    if (this.room === undefined) return;
    // Hung up at once; the hub's answer changes nothing here.
    this.page
      .calls()
      .partRoom(this.room)
      .catch(() => undefined);
    this.left(`Left ${this.room}`);
  }

  /** A call with a member was created: send the camera, and open the chat when this side calls. */
  connection(peer: string, connection: RTCPeerConnection, initiator: boolean): void {
    const stream = this.page.localStream();
    for (const track of stream?.getTracks() ?? []) connection.addTrack(track, stream!);
    if (initiator) this.useChannel(peer, connection.createDataChannel('chat'));
  }

  useChannel(peer: string, channel: RTCDataChannel): void {
    channel.onopen = () => {
      this.channels.set(peer, channel);
      this.updateOpen();
      this.page.show(`Chat open with ${peer}`, 'info');
    };
    channel.onmessage = (event) => this.page.show(`${peer}: ${String(event.data)}`, 'remote');
    channel.onclose = () => {
      if (this.channels.get(peer) === channel) this.channels.delete(peer);
      this.updateOpen();
    };
  }

  track(peer: string, stream: MediaStream): void {
    let video = this.videos.get(peer);
    if (video === undefined) {
      video = document.createElement('video');
      video.autoplay = video.playsInline = true;
      video.dataset.peer = peer;
      video.title = peer;
      this.grid.append(video);
      this.videos.set(peer, video);
    }
    video.srcObject = stream;
  }

  closed(peer: string): void {
    this.channels.delete(peer);
    this.videos.get(peer)?.remove();
    this.videos.delete(peer);
    this.updateOpen();
  }

  /** Sends `text` to every member with an open chat. */
  send(text: string): void {
    for (const channel of this.channels.values()) if (channel.readyState === 'open') channel.send(text);
    this.page.show(`me: ${text}`, 'me');
  }

  private left(text: string): void {
    this.room = undefined;
    this.page.show(text, 'info');
    this.page.changed(undefined);
  }

  private updateOpen(): void {
    document.body.dataset.open = [...this.channels.keys()].sort().join(',');
  }
}
