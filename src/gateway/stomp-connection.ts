/**
 * One STOMP client over one WebSocket (DESIGN.md, "STOMP contract"): reads its frames with the
 * codec, answers CONNECT, keeps the heart-beats, runs its frames one at a time in arrival order
 * (a RECEIPT means every frame before it was processed too), and holds its subscriptions. It
 * knows the socket only through {@link StompTransport}.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { InvalidToken, type Principal, TokenKeysUnavailable, type TokenService, type VerifiedToken } from '../auth/tokens.js';
import type { ChatSessionService } from '../chat-session/chat-session.service.js';
import type { StompSettings } from '../config.js';
import type { StompProtocolError } from './stomp/errors.js';
import { StompParser, type StompParserEvent } from './stomp/parser.js';
import type { StompClientFrame, StompServerFrame } from './stomp/frame.js';
import { HEARTBEAT, serializeFrame } from './stomp/serializer.js';
import { type Rejection, rejectionOf } from './gateway-errors.js';
import type { LiveFeed } from './live-feed.js';
import { negotiateHeartBeats, tokenOf } from './negotiation.js';
import type { SessionAccess } from './session-access.js';
import type { MessageContent, SessionReader } from './session-events.js';
import { FrameHandlers } from './frame-handlers.js';
import type { MonotonicClock } from './rate-limit.js';
import type { Subscription } from './subscriptions.js';
import { negotiateVersion, type StompVersion, SUPPORTED_VERSIONS } from './stomp/version.js';

/** What the connection needs of its WebSocket. */
export interface StompTransport {
  /** Queues a text message. */
  send(text: string): void;
  /** Bytes queued and not yet handed to the network. */
  readonly bufferedAmount: number;
  /** Whether at most `bytes` are queued, or the socket no longer sends (what it is given is dropped). */
  hasRoom(bytes: number): boolean;
  /** Resolves once {@link hasRoom} holds. */
  drained(bytes: number): Promise<void>;
  /** Starts the closing handshake; a peer that does not finish it is cut off soon after. */
  close(code: number, reason: string): void;
  /** Stops and restarts reading from the socket (back-pressure on a client that floods). */
  pause(): void;
  resume(): void;
}

/** What every connection of the node shares. */
export interface ConnectionServices {
  readonly tokens: Pick<TokenService, 'verify'>;
  readonly commands: Pick<ChatSessionService, 'submit'>;
  readonly access: Pick<SessionAccess, 'mayWatch' | 'mayType'>;
  readonly feed: LiveFeed;
  readonly reader: SessionReader;
  readonly settings: StompSettings;
  /** How long a new socket has to send CONNECT. */
  readonly connectTimeoutMs: number;
  /** What the rate limits measure time with. */
  readonly clock: Pick<MonotonicClock, 'now'>;
}

/** WebSocket close codes (RFC 6455, 7.4.1). */
const CLOSE = { normal: 1000, goingAway: 1001, protocolError: 1002, policyViolation: 1008, internalError: 1011, tryAgainLater: 1013 } as const;

/** Frames queued beyond this pause the socket's reading; it resumes below the low mark. */
const QUEUE_HIGH_WATER = 64;
const QUEUE_LOW_WATER = 16;
const SERVER_NAME = 'Parley/0.1.0';
/** The ERROR `message` of a client dropped for not reading what it is sent. */
export const SLOW_CONSUMER = 'slow consumer';
/** The longest delay a Node.js timer takes (a longer one fires at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

type State = 'awaiting-connect' | 'connected' | 'closed';

/** See the file's comment. Feed it with `receive`; tell it `closed` when the socket is. */
export class StompConnection {
  /** Unique among all connections of all nodes; the CONNECTED frame's `session`. */
  readonly id = randomUUID();
  readonly #logger = new Logger('StompConnection');
  readonly #transport: StompTransport;
  readonly #services: ConnectionServices;
  readonly #parser: StompParser;
  readonly #handlers: FrameHandlers;
  readonly #subscriptions = new Map<string, Subscription>();
  /** The subscriptions whose MESSAGEs carry an `ack` header (`ack: client` or `client-individual`). */
  readonly #acknowledged = new Set<string>();
  readonly #queue: StompClientFrame[] = [];
  #state: State = 'awaiting-connect';
  /** How the frames sent are escaped: the version CONNECT agreed on, 1.2 until then. */
  #version: StompVersion = '1.2';
  #principal: Principal | undefined;
  #processing = false;
  /** Told when the frames being processed are all done (see {@link beginShutdown}). */
  readonly #idleWaiters: Array<() => void> = [];
  #shuttingDown = false;
  #paused = false;
  #messageCount = 0;
  /** When the client last sent something, and the server; on the monotonic clock (ms). */
  #lastReceivedAt = performance.now();
  #lastSentAt = performance.now();
  readonly #connectTimer: NodeJS.Timeout;
  #heartBeatTimer: NodeJS.Timeout | undefined;
  #silenceTimer: NodeJS.Timeout | undefined;
  /** A protocol violation the parser found after the frames still queued: answered after them. */
  #violation: StompProtocolError | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  #failedWith: string | undefined;

  constructor(transport: StompTransport, services: ConnectionServices) {
    this.#transport = transport;
    this.#services = services;
    this.#parser = new StompParser({ maxFrameBytes: services.settings.maxFrameBytes });
    this.#handlers = new FrameHandlers(this, services, this.#subscriptions);
    const { connectTimeoutMs } = services;
    this.#connectTimer = setTimeout(() => {
      if (this.#state === 'awaiting-connect') this.fail('connect timeout', `no CONNECT frame within ${connectTimeoutMs} ms`);
    }, connectTimeoutMs).unref();
  }

  /** The authenticated client; set once CONNECTED is sent. */
  get principal(): Principal {
    if (!this.#principal) throw new Error('the connection is not authenticated yet');
    return this.#principal;
  }

  get isOpen(): boolean {
    return this.#state !== 'closed';
  }

  /** The STOMP version CONNECT agreed on (1.2 until then). */
  get version(): StompVersion {
    return this.#version;
  }

  get isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** The `message` of the ERROR with which the server closed the connection, if it did. */
  get failedWith(): string | undefined {
    return this.#failedWith;
  }

  /** A WebSocket message from the client: any number of frames and heart-beats, or parts of them. */
  receive(chunk: Buffer | string): void {
    if (this.#state === 'closed') return;
    this.#lastReceivedAt = performance.now();
    for (const event of this.#parser.push(chunk)) this.#onParserEvent(event);
    this.#drainQueue();
  }

  /** The socket closed (whoever closed it): everything of the connection is let go. */
  closed(): void {
    this.#release();
  }

  /**
   * The server is stopping: SENDs whose turn comes from now on are `UNAVAILABLE`. Resolves once
   * the frame under way, and those queued behind it, are done (a command's RECEIPT sent).
   */
  async beginShutdown(): Promise<void> {
    this.#shuttingDown = true;
    if (this.#processing) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /** The server stops now: an ERROR saying so, then the close, so that the client reconnects elsewhere. */
  shutdown(): void {
    this.fail('server shutting down', 'the server is stopping; reconnect to carry on', undefined, CLOSE.goingAway);
  }

  /** Sends a frame unless the client stopped reading: then it is dropped as a slow consumer. */
  send(frame: StompServerFrame): void {
    if (this.#state === 'closed') return;
    if (this.#transport.bufferedAmount > this.#services.settings.maxBufferedBytes) {
      this.fail(SLOW_CONSUMER, `more than ${this.#services.settings.maxBufferedBytes} bytes waited to be sent to this client`, undefined, CLOSE.policyViolation);
      return;
    }
    this.#transmit(serializeFrame(frame, this.#version));
  }

  /** A MESSAGE of one of the connection's subscriptions. */
  message(subscriptionId: string, destination: string, content: MessageContent): void {
    const messageId = `${this.id}-${++this.#messageCount}`;
    const headers: Record<string, string> = { subscription: subscriptionId, 'message-id': messageId, destination, ...content.headers };
    if (this.#acknowledged.size !== 0 && this.#acknowledged.has(subscriptionId)) headers.ack = messageId;
    this.send({ command: 'MESSAGE', headers, body: content.body });
  }

  /**
   * Whether the MESSAGEs of subscription `id` carry an `ack` header, as STOMP 1.2 asks of a
   * subscription in `client` or `client-individual` mode: clients (stompjs) take their ACK's id
   * from it. The ACK is accepted and ignored (DESIGN.md): every MESSAGE counts as delivered.
   */
  acknowledges(id: string, required: boolean): void {
    if (required) this.#acknowledged.add(id);
    else this.#acknowledged.delete(id);
  }

  /** Whether the socket has room for more now: at most a quarter of the slow-consumer bound waits in it. */
  hasRoom(): boolean {
    return this.#transport.hasRoom(this.#services.settings.maxBufferedBytes / 4);
  }

  /** Resolves when the socket has room again. */
  drained(): Promise<void> {
    return this.#transport.drained(this.#services.settings.maxBufferedBytes / 4);
  }

  /** The RECEIPT a frame asked for, if it did. */
  receipt(frame: StompClientFrame): void {
    const receipt = frame.headers.get('receipt');
    if (receipt !== undefined) this.send({ command: 'RECEIPT', headers: { 'receipt-id': receipt } });
  }

  /**
   * Tells the client on its `/user/queue/errors` subscriptions why a frame was refused (no
   * RECEIPT follows). An error that is no rejection is a bug: logged, and surfaced as UNAVAILABLE.
   */
  reject(frame: StompClientFrame, error: unknown, correlationId?: string): void {
    const rejection: Rejection = rejectionOf(error) ?? this.#unexpected(frame, error, correlationId);
    const receipt = frame.headers.get('receipt');
    for (const subscription of this.#subscriptions.values()) {
      if (subscription.kind !== 'errors') continue;
      this.message(subscription.id, subscription.destination, {
        headers: { 'content-type': 'application/json', code: rejection.code, ...(receipt === undefined ? {} : { 'receipt-id': receipt }) },
        body: JSON.stringify(rejection),
      });
    }
  }

  /** A fatal error: an ERROR frame saying why (with `extraHeaders`), then the socket is closed. */
  fail(message: string, detail: string, frame?: StompClientFrame, code: number = CLOSE.protocolError, extraHeaders: Record<string, string> = {}): void {
    if (this.#state === 'closed') return;
    const receipt = frame?.headers.get('receipt');
    const headers = { message, ...extraHeaders, 'content-type': 'text/plain', ...(receipt === undefined ? {} : { 'receipt-id': receipt }) };
    this.#transmit(serializeFrame({ command: 'ERROR', headers, body: detail }, this.#version));
    this.#failedWith = message;
    this.#close(code, message);
  }

  /** DISCONNECT: the RECEIPT (already sent), then a normal close. */
  disconnect(): void {
    this.#close(CLOSE.normal, 'disconnected');
  }

  /** CONNECT or STOMP: version, token, heart-beats, then CONNECTED. */
  async connect(frame: StompClientFrame): Promise<void> {
    if (this.#state === 'connected') return this.fail('already connected', 'CONNECT may be sent once per connection', frame);
    const version = negotiateVersion(frame.headers.get('accept-version'));
    if (version === undefined) {
      return this.fail('unsupported version', `Supported protocol versions are ${SUPPORTED_VERSIONS.join(' ')}`, frame, undefined, {
        version: SUPPORTED_VERSIONS.join(','),
      });
    }
    this.#version = version;
    // STOMP 1.0 has no heart-beats: its clients (webstomp-client, stompjs told to speak 1.0) send
    // their header all the same, and beat only in 1.1 and later. It is not read then.
    let heartBeats = { outgoingMs: 0, incomingMs: 0 };
    if (version !== '1.0') {
      try {
        heartBeats = negotiateHeartBeats(frame.headers.get('heart-beat'), this.#services.settings.heartbeatMs);
      } catch (error) {
        return this.fail('malformed heart-beat', (error as Error).message, frame);
      }
    }
    const token = await this.#authenticate(frame);
    if (token === undefined || this.#state === 'closed') return;
    this.#principal = token.principal;
    this.#state = 'connected';
    const offer = this.#services.settings.heartbeatMs;
    this.send({
      command: 'CONNECTED',
      headers: { version, ...(version === '1.0' ? {} : { 'heart-beat': `${offer},${offer}` }), server: SERVER_NAME, session: this.id },
    });
    this.#keepHeartBeats(heartBeats.outgoingMs, heartBeats.incomingMs);
    this.#expireAt(token.validUntil);
  }

  async #authenticate(frame: StompClientFrame): Promise<VerifiedToken | undefined> {
    const token = tokenOf(frame.headers);
    if (token === undefined) {
      this.fail('unauthorized', 'send the JWT in an Authorization: Bearer <token> header, or as passcode', frame, CLOSE.policyViolation);
      return undefined;
    }
    try {
      return await this.#services.tokens.verify(token);
    } catch (error) {
      if (error instanceof TokenKeysUnavailable) {
        this.fail('unavailable', `${error.message}; connect again shortly, with the same token`, frame, CLOSE.tryAgainLater);
        return undefined;
      }
      if (!(error instanceof InvalidToken)) throw error;
      this.fail('unauthorized', error.message, frame, CLOSE.policyViolation);
      return undefined;
    }
  }

  #onParserEvent(event: StompParserEvent): void {
    if (event.type === 'heartbeat' || this.#state === 'closed') return;
    if (event.type === 'error') {
      this.#violation = event.error; // the parser yields nothing after it
      return;
    }
    this.#queue.push(event.frame);
    if (this.#queue.length > QUEUE_HIGH_WATER && !this.#paused) {
      this.#paused = true;
      this.#transport.pause();
    }
  }

  /**
   * Runs the queued frames one after the other, then answers a protocol violation found after
   * them, if any: the frames the client sent before it are done (and RECEIPTed) first.
   */
  #drainQueue(): void {
    if (this.#processing) return;
    this.#processing = true;
    void (async () => {
      try {
        while (this.#state !== 'closed' && this.#queue.length > 0) {
          const frame = this.#queue.shift()!;
          this.#resumeWhenShort();
          await this.#handle(frame);
        }
        const violation = this.#violation;
        if (violation !== undefined) this.fail(violation.message, `${violation.code}: ${violation.message}`);
      } finally {
        this.#processing = false;
        for (const resolve of this.#idleWaiters.splice(0)) resolve();
      }
    })();
  }

  async #handle(frame: StompClientFrame): Promise<void> {
    try {
      if (this.#state === 'awaiting-connect' && frame.command !== 'CONNECT' && frame.command !== 'STOMP') {
        return this.fail('not connected', `expected CONNECT, got ${frame.command}`, frame);
      }
      await this.#handlers.handle(frame);
    } catch (error) {
      this.#logger.error(`connection ${this.id}: ${frame.command} failed: ${(error as Error).stack ?? String(error)}`);
      this.fail('internal error', 'the server failed to process the frame', frame, CLOSE.internalError);
    }
  }

  #resumeWhenShort(): void {
    if (this.#paused && this.#queue.length < QUEUE_LOW_WATER) {
      this.#paused = false;
      this.#transport.resume();
    }
  }

  #transmit(text: string): void {
    this.#lastSentAt = performance.now();
    this.#transport.send(text);
  }

  /**
   * Sends something at least every `outgoingMs`, a heart-beat when nothing else went out meanwhile
   * (STOMP 1.2: any data counts), so that a connection busy with other frames sends none. Drops a
   * client silent for twice `incomingMs`, as soon as it has been. Both on the monotonic clock: a
   * change of the system time drops no one.
   */
  #keepHeartBeats(outgoingMs: number, incomingMs: number): void {
    if (outgoingMs > 0) {
      const due = () => {
        if (performance.now() - this.#lastSentAt >= outgoingMs) this.#transmit(HEARTBEAT);
        this.#heartBeatTimer = setTimeout(due, this.#lastSentAt + outgoingMs - performance.now()).unref();
      };
      this.#heartBeatTimer = setTimeout(due, outgoingMs).unref();
    }
    if (incomingMs > 0) {
      const allowedMs = 2 * incomingMs;
      const check = () => {
        const silentMs = performance.now() - this.#lastReceivedAt;
        // A client whose frames wait (its socket paused meanwhile) is not silent: we are slow.
        if (silentMs < allowedMs) this.#silenceTimer = setTimeout(check, allowedMs - silentMs).unref();
        else if (this.#queue.length > 0) this.#silenceTimer = setTimeout(check, incomingMs).unref();
        else this.fail('heart-beat timeout', `nothing received for ${Math.round(silentMs)} ms (heart-beat ${incomingMs} ms)`);
      };
      this.#silenceTimer = setTimeout(check, allowedMs).unref();
    }
  }

  /**
   * The connection lives as long as its token: when the token expires, an ERROR `unauthorized`
   * saying so, then the close (the client connects again with a new token, catching up by revision).
   */
  #expireAt(validUntil: number): void {
    const left = validUntil - Date.now();
    if (left <= 0) return this.fail('unauthorized', 'the token has expired', undefined, CLOSE.policyViolation);
    this.#expiryTimer = setTimeout(() => this.#expireAt(validUntil), Math.min(left, MAX_TIMER_MS)).unref();
  }

  #unexpected(frame: StompClientFrame, error: unknown, correlationId: string | undefined): Rejection {
    const context = correlationId === undefined ? '' : ` (correlation id ${correlationId})`;
    this.#logger.error(`connection ${this.id}: ${frame.command} ${frame.headers.get('destination') ?? ''} failed${context}: ${(error as Error).stack ?? String(error)}`);
    return { code: 'UNAVAILABLE', message: 'the server failed to process the frame; retry' };
  }

  #close(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#release();
    this.#transport.close(code, reason);
  }

  #release(): void {
    this.#state = 'closed';
    this.#queue.length = 0;
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#heartBeatTimer);
    clearTimeout(this.#silenceTimer);
    clearTimeout(this.#expiryTimer);
    for (const subscription of this.#subscriptions.values()) subscription.close();
    this.#subscriptions.clear();
  }
}
