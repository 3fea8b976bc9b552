/** `+`: how GATE's approval starts (a batch starts with a digit, see envelope-codec.ts). */
const APPROVAL = 0x2b;

/**
 * What a node reads on its gated channel (keys.ts): batches published outside Lua, each right after
 * GATE's approval, `+<the batch's length in bytes>`, in the same transaction (scripts.ts). A batch GATE
 * did not approve, because it routed the batch itself, has no approval before it and is dropped. The
 * approval is forgotten when the subscription's connection changes (a batch cut off with it never comes),
 * and it names the length of the batch it lets through.
 */
export class GatedChannel {
  /** The length the approval just read names, or -1. */
  private approved = -1;

  constructor(private readonly deliver: (message: string | Buffer) => void) {}

  readonly listener = (message: string | Buffer): void => {
    const text = typeof message === 'string';
    if ((text ? message.charCodeAt(0) : message[0]) === APPROVAL) {
      this.approved = Number(text ? message.slice(1) : message.toString('latin1', 1));
      return;
    }
    const approved = this.approved;
    this.approved = -1;
    if (approved === (text ? Buffer.byteLength(message) : message.length)) this.deliver(message);
  };

  /** The subscription's connection changed. */
  reset(): void {
    this.approved = -1;
  }
}
