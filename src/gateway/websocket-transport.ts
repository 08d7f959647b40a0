import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { StompTransport } from './stomp-connection.js';

/** What ws refused of what a client sent, and the close code it closes the socket with. */
export type WebSocketRefusal =
  /** A message over `maxPayload` (1009). */
  | 'too large'
  /** A message in more fragments, or chunks, than ws buffers for one (1008). */
  | 'too many parts'
  /** A text message that is not UTF-8 (1007). */
  | 'not UTF-8'
  /** Any other break of the WebSocket framing (1002): an unmasked frame, a bad opcode, … */
  | 'bad framing';

/** How long a peer has to finish the closing handshake before its socket is cut. */
const CLOSE_GRACE_MS = 2_000;
/** RFC 6455 limits a close reason to 123 bytes. */
const MAX_REASON_LENGTH = 120;

/** A {@link StompTransport} over a `ws` WebSocket and the network socket under it. */
export class WebSocketTransport implements StompTransport {
  #drain: Promise<void> | undefined;
  #terminateTimer: NodeJS.Timeout | undefined;

  /** `network` is the upgraded request's socket: the one that says when its writes drained. */
  constructor(
    private readonly socket: WebSocket,
    private readonly network: Duplex,
  ) {
    socket.once('close', () => clearTimeout(this.#terminateTimer));
  }

  send(text: string): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(text);
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  hasRoom(bytes: number): boolean {
    return this.socket.readyState !== WebSocket.OPEN || this.socket.bufferedAmount <= bytes;
  }

  drained(bytes: number): Promise<void> {
    if (this.hasRoom(bytes)) return Promise.resolve();
    // One listener however many wait: every subscription catching up may.
    this.#drain ??= new Promise<void>((resolve) => {
      const done = () => {
        this.network.off('drain', done);
        this.socket.off('close', done);
        this.#drain = undefined;
        resolve();
      };
      this.network.on('drain', done);
      this.socket.on('close', done);
    });
    return this.#drain.then(() => this.drained(bytes));
  }

  close(code: number, reason: string): void {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    this.socket.close(code, reason.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_REASON_LENGTH));
    this.#terminateTimer = setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS);
    this.#terminateTimer.unref();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /**
   * Calls `listener` when ws refuses what the client sent, while the socket is still open: ws
   * closes it right after, and whatever the client is to be told must be sent before. ws tells
   * of a refusal only with its receiver's `error` event, which its own socket emits after that
   * close; the receiver is not public (`_receiver`, ws 8), hence the check.
   */
  onRefusal(listener: (refusal: WebSocketRefusal) => void): void {
    const receiver = (this.socket as unknown as { _receiver?: EventEmitter })._receiver;
    if (receiver === undefined) throw new Error('ws no longer keeps its receiver in `_receiver`: the gateway cannot answer what ws refuses');
    receiver.prependListener('error', (error: Error & { code?: string }) => listener(refusalOf(error.code)));
  }
}

function refusalOf(code: string | undefined): WebSocketRefusal {
  switch (code) {
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
    case 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH':
      return 'too large';
    case 'WS_ERR_TOO_MANY_BUFFERED_PARTS':
      return 'too many parts';
    case 'WS_ERR_INVALID_UTF8':
      return 'not UTF-8';
    default:
      return 'bad framing';
  }
}
