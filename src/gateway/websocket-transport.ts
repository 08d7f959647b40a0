import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { StompTransport } from './stomp-connection.js';

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

  drained(bytes: number): Promise<void> {
    if (this.socket.readyState !== WebSocket.OPEN || this.socket.bufferedAmount <= bytes) return Promise.resolve();
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
}
