/** One side of a soak conversation (`soak-conversation.ts`): a user's STOMP connection and its view of the session. */
import { randomUUID } from 'node:crypto';
import type { IMessage, StompSubscription } from '@stomp/stompjs';
import type { BenchServer } from './server-process.js';
import type { Recorder } from './soak-stats.js';
import { sleep, waitUntil } from './stats.js';
import { StompPeer } from './stomp-peer.js';

/** What the conversations share. */
export interface SoakContext {
  readonly server: BenchServer;
  readonly recorder: Recorder;
  /** An unexpected error: counted as a failure of the interval, and printed the first time its text is seen. */
  fail(error: unknown): void;
}

/** Every this many messages received from the other side, a participant sends a read receipt. */
const READ_EVERY = 3;
/** The server allows 5 typing indicators a second per connection; we stay under. */
const TYPING_MIN_INTERVAL_MS = 250;

export type Side = 'customer' | 'agent';
export interface ChatEvent {
  readonly type: string;
  readonly data: { readonly messageId?: string; readonly senderType?: 'user' | 'agent' };
}

/** One end of a conversation: a user's connection, which may drop and come back, and its subscription. */
export class Participant {
  away = false;
  #peer: StompPeer | undefined;
  #closed = false;
  #sessionId: string | undefined;
  #subscription: StompSubscription | undefined;
  /** The last revision of the session received: where a new subscription resumes. */
  #lastRevision = -1;
  /** The SENDs not answered yet, by receipt id. */
  readonly #inFlight = new Map<string, { readonly destination: string; readonly body: unknown }>();
  #typedAt = 0;
  #received = 0;

  constructor(
    readonly side: Side,
    private readonly userId: string,
    private readonly context: SoakContext,
    private readonly onEvent: (participant: Participant, event: ChatEvent) => void,
  ) {}

  get connected(): boolean {
    return this.#peer !== undefined;
  }

  get idle(): boolean {
    return this.#inFlight.size === 0;
  }

  async connect(): Promise<void> {
    const { server, recorder } = this.context;
    const peer = await StompPeer.connect(server.stompUrl, await server.token(this.userId, this.side, `Soak ${this.userId}`));
    if (this.#closed) return peer.close();
    peer.onReceipt = (receiptId) => {
      this.#inFlight.delete(receiptId);
      recorder.receipt(receiptId);
    };
    peer.onRejection = (error, receiptId) => {
      if (receiptId !== undefined) this.#inFlight.delete(receiptId);
      recorder.rejected(error.code, receiptId);
    };
    peer.onDropped = () => {
      this.context.fail(new Error(`the server closed a connection (one of ${this.side === 'customer' ? 'a customer' : 'an agent'})`));
      void this.reconnect(0).catch((error: unknown) => this.#fail(error));
    };
    this.#peer = peer;
  }

  /** A SEND not waited for (its RECEIPT is counted when it comes). */
  send(destination: string, body: unknown, receipt: string = randomUUID()): void {
    this.#inFlight.set(receipt, { destination, body });
    try {
      this.#peer!.send(destination, body, receipt);
    } catch (error) {
      this.#inFlight.delete(receipt);
      throw error;
    }
  }

  /** A SEND, waiting for its RECEIPT. */
  async request(destination: string, body: unknown): Promise<void> {
    await this.#peer!.request(destination, body);
    this.context.recorder.interval.commands++;
  }

  typing(): void {
    const now = performance.now();
    if (now - this.#typedAt < TYPING_MIN_INTERVAL_MS) return;
    this.#typedAt = now;
    this.send(`/app/chat/${this.#sessionId}/typing`, { typing: true });
  }

  /** Subscribes to the session from its first event (`since-revision: -1`). */
  async watch(sessionId: string): Promise<void> {
    this.#sessionId = sessionId;
    this.#lastRevision = -1;
    this.#received = 0;
    await this.#subscribe();
  }

  unwatch(): void {
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
    this.#sessionId = undefined;
  }

  /**
   * Drops the socket as a lost network would, then connects again and resumes from the last
   * revision received. It waits up to 5 s for the answers to its SENDs first; those still missing
   * then are lost with the socket, and the SENDs go again with the same receipt ids and bodies,
   * as the web components' outbox sends them: a message is stored once (its id), and receipted
   * now whether it was stored before the drop or not.
   */
  async reconnect(pauseMs: number): Promise<void> {
    if (this.away || this.#closed) return;
    this.away = true;
    await waitUntil(() => this.idle, 5_000);
    this.context.recorder.recipientAway(this);
    await this.#peer?.close(true);
    const unanswered = [...this.#inFlight];
    this.#inFlight.clear();
    await sleep(pauseMs);
    await this.connect();
    if (this.#sessionId !== undefined && !this.#closed) await this.#subscribe();
    if (!this.#closed) {
      for (const [receipt, { destination, body }] of unanswered) this.send(destination, body, receipt);
      this.context.recorder.interval.resent += unanswered.length;
    }
    this.away = false;
    this.context.recorder.interval.reconnects++;
  }

  /** True every {@link READ_EVERY}th message received from the other side. */
  readDue(): boolean {
    return ++this.#received % READ_EVERY === 0;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#peer?.close();
  }

  /** A failure, unless this participant has been closed meanwhile (the benchmark is ending). */
  #fail(error: unknown): void {
    if (!this.#closed) this.context.fail(error);
  }

  async #subscribe(): Promise<void> {
    const headers = { 'since-revision': String(this.#lastRevision) };
    this.#subscription = await this.#peer!.subscribe(`/topic/chat/${this.#sessionId}`, (message) => this.#deliver(message), headers);
    this.context.recorder.interval.commands++;
  }

  /** Every revision must come once, in order, live or caught up; typing indicators have none. */
  #deliver(message: IMessage): void {
    if (message.headers['event-type'] === 'Typing') return;
    const revision = Number(message.headers.revision);
    if (revision !== this.#lastRevision + 1) this.context.recorder.interval.anomalies++;
    this.#lastRevision = Math.max(this.#lastRevision, revision);
    const event = JSON.parse(message.body) as ChatEvent;
    const fromOtherSide = event.type === 'ChatMessageSent' && event.data.senderType !== (this.side === 'customer' ? 'user' : 'agent');
    if (!fromOtherSide) return;
    this.context.recorder.delivered(event.data.messageId!, this);
    this.onEvent(this, event);
  }
}
