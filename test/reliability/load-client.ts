/**
 * A customer's chat client as a well-behaved app would write it, for the reliability scenarios:
 * it opens its session, sends messages one after the other with a `receipt` header, and follows
 * its session's topic. When the connection drops it reconnects (to the next node when its own
 * is gone) and resubscribes with `since-revision` = the last revision it saw; a message whose
 * outcome it never learnt is sent again with the same `messageId` (or, by a seeded coin toss,
 * given up); one refused `UNAVAILABLE` or `RATE_LIMITED` is retried after a pause. It keeps
 * under the server's rate limit. It records everything it was told, to be checked against the
 * event log and the read model afterwards.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, type IMessage } from '@stomp/stompjs';
import { WebSocket } from 'ws';
import type { ReceivedEvent } from '../stomp-client.js';
import type { SeededRandom } from '../seeded-random.js';

/** How long a SEND may go unanswered on a live connection before it counts as a hang. */
const ANSWER_WITHIN_MS = 20_000;
/** How long a connection may take to be CONNECTED before it is dropped and tried again. */
const CONNECTED_WITHIN_MS = 5_000;
/** Under the server's default limit of 20 SENDs a second per connection (`STOMP_SEND_RATE`). */
const SENDS_PER_SECOND = 15;

/** `lost`: sent, but the connection died before the answer; `unsent`: the connection was gone already. */
type Outcome =
  | { readonly kind: 'receipt' }
  | { readonly kind: 'rejected'; readonly code: string }
  | { readonly kind: 'lost' }
  | { readonly kind: 'unsent' };

/** A message this client wrote, and what became of it. */
export interface SentMessage {
  readonly messageId: string;
  readonly body: string;
  /** `receipted`: a RECEIPT came; `abandoned`: given up without ever learning its outcome. */
  state: 'pending' | 'receipted' | 'abandoned';
  /** SEND frames of it. */
  attempts: number;
  /** Some SEND of it went unanswered (the connection died): it may be in the log. */
  outcomeUnknown: boolean;
}

export interface ClientCounts {
  sendFrames: number;
  receipts: number;
  unavailable: number;
  rateLimited: number;
  otherRejections: number;
  lostAnswers: number;
  retriedAfterLoss: number;
  connects: number;
  failedConnects: number;
  slowestAnswerMs: number;
}

interface Connection {
  readonly client: Client;
  readonly url: string;
  readonly pending: Map<string, (outcome: Outcome) => void>;
  closed: boolean;
}

export interface LoadClientOptions {
  readonly name: string;
  readonly token: string;
  /** The STOMP URLs to try, in order of preference, at each (re)connection. */
  readonly urls: () => readonly string[];
  readonly random: SeededRandom;
  /** The chance a message whose outcome was lost is sent again rather than given up. */
  readonly retryLost?: number;
}

export class LoadClient {
  readonly sessionId = randomUUID();
  readonly messages: SentMessage[] = [];
  /** The session's events as delivered on its topic, across connections. */
  readonly seen: ReceivedEvent[] = [];
  /** Deliveries out of order or twice, answers that never came, refusals that should not be. */
  readonly violations: string[] = [];
  readonly counts: ClientCounts = {
    sendFrames: 0, receipts: 0, unavailable: 0, rateLimited: 0, otherRejections: 0, lostAnswers: 0, retriedAfterLoss: 0, connects: 0, failedConnects: 0, slowestAnswerMs: 0,
  };
  /** Where the client is connected now. */
  connectedTo: string | undefined;
  #lastRevision = -1;
  #opened = false;
  #connection: Connection | undefined;
  #current: SentMessage | undefined;
  #stopping = false;
  #lastRefusal = '';
  #nextSendAt = 0;
  #running: Promise<void> | undefined;

  constructor(private readonly options: LoadClientOptions) {}

  get lastRevision(): number {
    return this.#lastRevision;
  }

  /** Starts writing; runs until {@link finish}. */
  start(): void {
    this.#running = this.#loop().catch((error: unknown) => {
      this.violations.push(`the client failed: ${(error as Error).stack ?? String(error)}`);
    });
  }

  /** Stops writing after the SEND in flight; the message being retried then, if any, is abandoned. */
  async finish(): Promise<void> {
    this.#stopping = true;
    await this.#running;
    const current = this.#current;
    this.#current = undefined;
    if (current?.attempts === 0) this.messages.pop(); // written, never sent
    else if (current) current.state = 'abandoned';
  }

  /**
   * Connects (if need be) and resubscribes, so that the topic catches up.
   * @throws when no node takes the connection for `timeoutMs`.
   */
  async ensureConnected(timeoutMs = 60_000): Promise<void> {
    await this.#reconnect(Date.now() + timeoutMs, () => false);
  }

  async #reconnect(deadline: number, giveUp: () => boolean): Promise<void> {
    while ((!this.#connection || this.#connection.closed) && !giveUp()) {
      if (Date.now() > deadline) throw new Error(`${this.options.name}: no node took a connection; the last refusal: ${this.#lastRefusal}`);
      const urls = this.options.urls();
      const url = urls[this.counts.failedConnects % urls.length]!;
      try {
        await this.#connect(url);
      } catch (error) {
        this.#lastRefusal = (error as Error).message;
        this.counts.failedConnects += 1;
        await sleep(this.options.random.between(50, 200));
      }
    }
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    this.#stopping = true;
    const connection = this.#connection;
    this.#connection = undefined;
    await connection?.client.deactivate();
  }

  async #loop(): Promise<void> {
    while (!this.#stopping) {
      await this.#reconnect(Date.now() + 60_000, () => this.#stopping);
      if (this.#stopping) return;
      if (!this.#opened) {
        await this.#open();
        continue;
      }
      const message = this.#current ?? this.#write();
      const outcome = await this.#send(`/app/chat/${this.sessionId}/messages`, { messageId: message.messageId, body: message.body });
      if (outcome.kind === 'unsent') continue;
      message.attempts += 1;
      if (outcome.kind === 'receipt') {
        message.state = 'receipted';
        this.#current = undefined;
      } else if (outcome.kind === 'lost') {
        message.outcomeUnknown = true;
        if (this.options.random.next() < (this.options.retryLost ?? 0.5)) {
          this.counts.retriedAfterLoss += 1;
        } else {
          message.state = 'abandoned';
          this.#current = undefined;
        }
      } else if (outcome.code === 'UNAVAILABLE') {
        await sleep(this.options.random.between(100, 300));
      } else if (outcome.code === 'RATE_LIMITED') {
        await sleep(1_000);
      } else {
        this.violations.push(`message ${message.messageId} refused ${outcome.code}`);
        message.state = 'abandoned';
        this.#current = undefined;
      }
    }
  }

  /** A new message: numbered, of seeded length, with some text beyond ASCII. */
  #write(): SentMessage {
    const { random } = this.options;
    const filler = Array.from({ length: random.between(0, 40) }, () => random.pick(['lorem', 'ipsum', 'ça', 'Straße', '🚗', 'ключ', '\n'])).join(' ');
    const message: SentMessage = {
      messageId: randomUUID(),
      body: `${this.options.name} #${this.messages.length + 1} ${filler}`.trim(),
      state: 'pending',
      attempts: 0,
      outcomeUnknown: false,
    };
    this.messages.push(message);
    this.#current = message;
    return message;
  }

  async #open(): Promise<void> {
    const outcome = await this.#send('/app/chat/open', { sessionId: this.sessionId, subject: `Reliability ${this.options.name}` });
    if (outcome.kind === 'receipt') {
      this.#opened = true;
      await this.#subscribeTopic();
    } else if (outcome.kind === 'rejected') {
      if (outcome.code !== 'UNAVAILABLE') this.violations.push(`open refused ${outcome.code}`);
      await sleep(this.options.random.between(100, 300));
    }
  }

  async #connect(url: string): Promise<void> {
    const client = new Client({
      webSocketFactory: () => new WebSocket(url, ['v12.stomp']),
      connectHeaders: { Authorization: `Bearer ${this.options.token}` },
      reconnectDelay: 0,
      debug: () => {},
    });
    const connection: Connection = { client, url, pending: new Map(), closed: false };
    // Our own watcher, not stompjs's `connectionTimeout`: deactivate() leaves that one armed after a
    // failed attempt, and its timer then keeps jest from exiting.
    const watcher = setTimeout(() => client.forceDisconnect(), CONNECTED_WITHIN_MS);
    await new Promise<void>((resolve, reject) => {
      client.onConnect = () => resolve();
      client.onStompError = (frame) => reject(new Error(`ERROR ${frame.headers.message}`));
      client.onWebSocketClose = (event: { code?: number; reason?: string }) => {
        connection.closed = true;
        for (const settle of connection.pending.values()) settle({ kind: 'lost' });
        connection.pending.clear();
        if (this.connectedTo === url && this.#connection === connection) this.connectedTo = undefined;
        reject(new Error(`closed before CONNECTED (${url}: ${event.code} ${event.reason ?? ""})`));
      };
      client.onUnhandledReceipt = (frame) => connection.pending.get(frame.headers['receipt-id']!)?.({ kind: 'receipt' });
      client.activate();
    }).catch(async (error: unknown) => {
      await client.deactivate();
      throw error;
    }).finally(() => clearTimeout(watcher));
    this.counts.connects += 1;
    this.#connection = connection;
    this.connectedTo = url;
    client.subscribe('/user/queue/errors', (message) => {
      const receipt = message.headers['receipt-id'];
      if (receipt !== undefined) connection.pending.get(receipt)?.({ kind: 'rejected', code: message.headers.code ?? '?' });
    });
    if (this.#opened) await this.#subscribeTopic();
  }

  /** Follows the session's topic from the last revision seen; retried while refused UNAVAILABLE. */
  async #subscribeTopic(): Promise<void> {
    for (;;) {
      const connection = this.#connection;
      if (!connection || connection.closed) return;
      const receipt = randomUUID();
      const settled = this.#outcome(connection, receipt);
      connection.client.subscribe(`/topic/chat/${this.sessionId}`, (message) => this.#delivered(message), {
        receipt,
        'since-revision': String(this.#lastRevision),
      });
      const outcome = await settled;
      if (outcome.kind !== 'rejected') return;
      if (outcome.code !== 'UNAVAILABLE') return void this.violations.push(`SUBSCRIBE refused ${outcome.code}`);
      await sleep(this.options.random.between(100, 300));
    }
  }

  #delivered(message: IMessage): void {
    if (message.headers['event-type'] === 'Typing') return;
    const event = JSON.parse(message.body) as ReceivedEvent;
    if (event.revision !== this.#lastRevision + 1) {
      this.violations.push(`delivered revision ${event.revision} after ${this.#lastRevision}`);
      if (event.revision <= this.#lastRevision) return;
    }
    this.#lastRevision = event.revision;
    this.seen.push(event);
  }

  /** Sends with a `receipt` header and waits for its RECEIPT, its rejection or the connection's end. */
  async #send(destination: string, body: unknown): Promise<Outcome> {
    await sleep(this.#nextSendAt - Date.now());
    this.#nextSendAt = Date.now() + 1_000 / SENDS_PER_SECOND;
    const connection = this.#connection;
    if (!connection || connection.closed) return { kind: 'unsent' };
    const receipt = randomUUID();
    const settled = this.#outcome(connection, receipt);
    try {
      connection.client.publish({ destination, body: JSON.stringify(body), headers: { 'content-type': 'application/json', receipt } });
    } catch {
      connection.pending.get(receipt)?.({ kind: 'unsent' });
    }
    const outcome = await settled;
    if (outcome.kind !== 'unsent') this.counts.sendFrames += 1;
    if (outcome.kind === 'unsent') return outcome;
    if (outcome.kind === 'receipt') this.counts.receipts += 1;
    else if (outcome.kind === 'lost') this.counts.lostAnswers += 1;
    else if (outcome.code === 'UNAVAILABLE') this.counts.unavailable += 1;
    else if (outcome.code === 'RATE_LIMITED') this.counts.rateLimited += 1;
    else this.counts.otherRejections += 1;
    return outcome;
  }

  /** The outcome of `receipt` on `connection`; a hang is recorded, and the connection dropped. */
  #outcome(connection: Connection, receipt: string): Promise<Outcome> {
    const started = Date.now();
    return new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => {
        this.violations.push(`no answer to ${receipt} within ${ANSWER_WITHIN_MS} ms on ${connection.url}`);
        void connection.client.deactivate();
      }, ANSWER_WITHIN_MS);
      connection.pending.set(receipt, (outcome) => {
        clearTimeout(timer);
        connection.pending.delete(receipt);
        if (outcome.kind === 'receipt' || outcome.kind === 'rejected') this.counts.slowestAnswerMs = Math.max(this.counts.slowestAnswerMs, Date.now() - started);
        resolve(outcome);
      });
      if (connection.closed) connection.pending.get(receipt)?.({ kind: 'unsent' });
    });
  }
}
