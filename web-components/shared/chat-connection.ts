import { Client, type IMessage, type StompSubscription, TickerStrategy } from '@stomp/stompjs';
import { Backoff } from './backoff.js';
import { Emitter } from './emitter.js';
import { heartbeatTicker } from './heartbeat-ticker.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import { destinations, type SessionEventMessage, stompUrl, type TypingMessage } from './protocol.js';
import { SessionLog } from './session-log.js';

/** Where the connection stands. */
export type ConnectionStatus =
  | { readonly state: 'connecting' }
  | { readonly state: 'online' }
  /** Lost or never reached; the next attempt is at `retryAt` (ms since the epoch). */
  | { readonly state: 'offline'; readonly retryAt: number; readonly reason: string }
  /** The server refused the token: nothing is retried until {@link ChatConnection.setToken}. */
  | { readonly state: 'auth-required'; readonly reason: string }
  | { readonly state: 'stopped' };

/** A refusal of the server (a MESSAGE on `/user/queue/errors`). */
export interface Refusal {
  readonly code: string;
  readonly message: string;
}

/** The typed events of a {@link ChatConnection}. */
export interface ChatConnectionEvents {
  status: ConnectionStatus;
  /** CONNECTED, the subscriptions made; `reconnect`: live-only feeds (the inbox) may have missed changes. */
  connected: { readonly reconnect: boolean };
  /** A watched session's next event: every revision once, in order, across reconnections. */
  event: SessionEventMessage;
  typing: TypingMessage;
  /** A session list change (agents). */
  inbox: SessionEventMessage;
  /** The server stored a command of the outbox (its RECEIPT). */
  stored: OutboxEntry;
  /** The server refused a command of the outbox for good; it left the outbox. */
  rejected: { readonly entry: OutboxEntry } & Refusal;
  /** The server refused a command of the outbox for now; it is sent again at `at`. */
  retrying: { readonly entry: OutboxEntry; readonly at: number } & Refusal;
  /** The outbox changed (to be saved, and shown). */
  outbox: readonly OutboxEntry[];
  /**
   * A session may not be watched (FORBIDDEN: not one's own, or no such session); it is watched
   * no more. Any other refusal (the server cannot read it now, too many subscriptions at once) is
   * not final: the session is subscribed to again after a back-off.
   */
  'watch-refused': { readonly sessionId: string } & Refusal;
}

/** A request could not get an answer: the connection is not up, or dropped before the RECEIPT. */
export class NotConnected extends Error {
  override readonly name = 'NotConnected';
}

/** The server refused a request. */
export class RequestRefused extends Error {
  override readonly name = 'RequestRefused';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ChatConnectionOptions {
  /** The server's HTTP base URL; the STOMP endpoint is `/stomp` on it. */
  readonly server: URL;
  readonly token: string;
  /** Commands left unconfirmed by an earlier page (saved from the `outbox` event). */
  readonly outbox?: readonly OutboxEntry[];
  readonly backoff?: Backoff;
  /** The heart-beat wanted both ways, in ms (the server offers 10 s). */
  readonly heartbeatMs?: number;
}

/**
 * How long a connection must last for the back-off to start again from its first delay: as long
 * as the longest delay, so that connections dropped soon after CONNECTED come no faster than that.
 */
const STEADY_MS = 10_000;

type Pending =
  | { readonly kind: 'outbox'; readonly id: string }
  | { readonly kind: 'request'; readonly resolve: () => void; readonly reject: (error: Error) => void }
  | { readonly kind: 'watch'; readonly sessionId: string }
  | { readonly kind: 'ignore' };

interface Watch {
  readonly log: SessionLog;
  subscription?: StompSubscription;
  /** Its subscriptions refused for now (UNAVAILABLE, RATE_LIMITED): how long the next try waits. */
  readonly retries: Backoff;
  retryTimer?: ReturnType<typeof setTimeout>;
}

/**
 * The components' STOMP connection (DESIGN.md, "STOMP contract"), over @stomp/stompjs:
 *
 * - reconnects with exponential back-off (until the token is refused: then `auth-required`);
 * - re-subscribes each watched session with `since-revision` = the last revision applied, and
 *   drops what it has seen already, so that no event is missed or repeated across reconnections;
 * - keeps an {@link Outbox}: commands are sent one at a time, each with a `receipt`, sent again
 *   after a reconnection with the same body (the same `messageId`) until stored or refused;
 * - pins a refusal on the frame it answers (`receipt-id`).
 */
export class ChatConnection extends Emitter<ChatConnectionEvents> {
  readonly #server: URL;
  readonly #backoff: Backoff;
  readonly #heartbeatMs: number;
  readonly #outbox: Outbox;
  readonly #watches = new Map<string, Watch>();
  readonly #pending = new Map<string, Pending>();
  #token: string;
  #client: Client | undefined;
  #status: ConnectionStatus = { state: 'stopped' };
  #inbox = false;
  #inboxSubscription: StompSubscription | undefined;
  #connectedBefore = false;
  #refusedToken: string | undefined;
  #receipts = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #steadyTimer: ReturnType<typeof setTimeout> | undefined;
  #ticker = TickerStrategy.Interval;

  constructor(options: ChatConnectionOptions) {
    super();
    this.#server = options.server;
    this.#token = options.token;
    this.#outbox = new Outbox(options.outbox);
    this.#backoff = options.backoff ?? new Backoff();
    this.#heartbeatMs = options.heartbeatMs ?? 10_000;
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  get outbox(): readonly OutboxEntry[] {
    return this.#outbox.entries;
  }

  /** Connects, once it knows how to time its heart-beats (`heartbeatTicker`: a few ms). */
  start(): void {
    if (this.#status.state !== 'stopped') return;
    this.#setStatus({ state: 'connecting' });
    void heartbeatTicker().then((ticker) => {
      this.#ticker = ticker;
      // Unless stopped meanwhile, or connected already with a new token.
      if (this.#status.state === 'connecting' && !this.#client) this.#connect();
    });
  }

  /** Closes the connection for good (a DISCONNECT when connected). */
  stop(): void {
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#retryTimer);
    for (const watch of this.#watches.values()) clearTimeout(watch.retryTimer);
    this.#drop();
    this.#setStatus({ state: 'stopped' });
  }

  /** A new token (the old one expired, or was refused): connects again with it. */
  setToken(token: string): void {
    if (token === this.#token && this.#status.state !== 'auth-required') return;
    this.#token = token;
    if (this.#status.state === 'stopped') return;
    this.#drop();
    this.#connect();
  }

  /** While offline: tries now rather than at the scheduled time. */
  reconnectNow(): void {
    if (this.#status.state !== 'offline') return;
    clearTimeout(this.#reconnectTimer);
    this.#connect();
  }

  /**
   * Delivers the session's events after `lastRevision` (-1: all of them), then live ones, as
   * `event`s; kept across reconnections until {@link unwatchSession}.
   */
  watchSession(sessionId: string, lastRevision = -1): void {
    if (this.#watches.has(sessionId)) return;
    const watch: Watch = { log: new SessionLog(lastRevision), retries: new Backoff({ initialMs: 1_000, maxMs: 30_000 }) };
    this.#watches.set(sessionId, watch);
    if (this.#client?.connected) this.#subscribeSession(this.#client, sessionId, watch);
  }

  unwatchSession(sessionId: string): void {
    const watch = this.#watches.get(sessionId);
    this.#watches.delete(sessionId);
    clearTimeout(watch?.retryTimer);
    if (watch?.subscription && this.#client?.connected) watch.subscription.unsubscribe();
  }

  isWatching(sessionId: string): boolean {
    return this.#watches.has(sessionId);
  }

  /** Delivers `/topic/inbox` as `inbox` events (live only: reload the list on `connected`). */
  watchInbox(): void {
    this.#inbox = true;
    if (this.#client?.connected && !this.#inboxSubscription) this.#subscribeInbox(this.#client);
  }

  /**
   * Adds a command to the outbox: sent when connected, after those before it, again after each
   * reconnection until stored (`stored`) or refused (`rejected`). `id` must be unique; for a
   * message use its `messageId`, so that a resend is recognised. `false` when the outbox is full
   * (`OUTBOX_LIMIT` commands wait already): nothing is added. `createdAt`: when it was written,
   * for one written earlier in a page since closed: it goes before those written after it.
   */
  enqueue(id: string, destination: string, body: Readonly<Record<string, unknown>>, createdAt?: number): boolean {
    if (!this.#outbox.enqueue({ id, destination, body, createdAt: createdAt ?? Date.now() }, createdAt !== undefined)) return false;
    this.emit('outbox', this.#outbox.entries);
    this.#pump();
    return true;
  }

  /** Forgets outbox entries (a session given up). */
  discard(drop: (entry: OutboxEntry) => boolean): void {
    this.#outbox.discard(drop);
    this.emit('outbox', this.#outbox.entries);
  }

  /**
   * Sends a command now, not queued (a read receipt).
   * @throws {NotConnected} when not connected, or the connection drops before the answer.
   * @throws {RequestRefused} with the server's code.
   */
  request(destination: string, body: Readonly<Record<string, unknown>>): Promise<void> {
    const client = this.#client;
    if (!client?.connected) return Promise.reject(new NotConnected('not connected to the chat server'));
    return new Promise<void>((resolve, reject) => {
      const receipt = this.#expect({ kind: 'request', resolve, reject });
      client.publish({ destination, body: JSON.stringify(body), headers: { receipt, 'content-type': 'application/json' } });
    });
  }

  /** A typing indicator: best effort, dropped when not connected, its refusals ignored. */
  typing(sessionId: string, typing: boolean): void {
    const client = this.#client;
    if (!client?.connected) return;
    const receipt = this.#expect({ kind: 'ignore' });
    client.publish({
      destination: destinations.command(sessionId, 'typing'),
      body: JSON.stringify({ typing }),
      headers: { receipt, 'content-type': 'application/json' },
    });
  }

  #connect(): void {
    clearTimeout(this.#reconnectTimer);
    this.#refusedToken = undefined;
    this.#setStatus({ state: 'connecting' });
    const client = new Client({
      brokerURL: stompUrl(this.#server),
      connectHeaders: { Authorization: `Bearer ${this.#token}` },
      heartbeatIncoming: this.#heartbeatMs,
      heartbeatOutgoing: this.#heartbeatMs,
      heartbeatStrategy: this.#ticker,
      reconnectDelay: 0, // reconnection is ours: with back-off, and not after a refused token
      connectionTimeout: 10_000,
      // A socket gone silent is dropped at once: closed politely, Chromium waits a minute more for
      // the server's answer, which a dead route never brings, before it reports the close.
      discardWebsocketOnCommFailure: true,
      debug: () => {},
    });
    let silent = false;
    client.onHeartbeatLost = () => {
      silent = true;
    };
    client.onConnect = () => this.#connected(client);
    client.onStompError = (frame) => {
      if (frame.headers.message === 'unauthorized') this.#refusedToken = frame.body || 'the token was refused';
    };
    client.onWebSocketClose = (event: { code?: number; reason?: string }) =>
      this.#closed(client, silent ? { reason: 'the chat server stopped answering' } : event);
    client.onUnhandledReceipt = (frame) => this.#receipt(frame.headers['receipt-id'] ?? '');
    this.#client = client;
    client.activate();
  }

  #connected(client: Client): void {
    if (client !== this.#client) return;
    // Not at CONNECTED: a connection the server drops at each command it is sent again would
    // otherwise be made again every half second for ever.
    this.#steadyTimer = setTimeout(() => this.#backoff.reset(), STEADY_MS);
    client.subscribe(destinations.errors, (message) => this.#refusal(message));
    for (const [sessionId, watch] of this.#watches) this.#subscribeSession(client, sessionId, watch);
    if (this.#inbox) this.#subscribeInbox(client);
    const reconnect = this.#connectedBefore;
    this.#connectedBefore = true;
    this.#setStatus({ state: 'online' });
    this.emit('connected', { reconnect });
    this.#pump();
  }

  #subscribeSession(client: Client, sessionId: string, watch: Watch): void {
    const receipt = this.#expect({ kind: 'watch', sessionId });
    watch.subscription = client.subscribe(
      destinations.sessionTopic(sessionId),
      (message) => this.#sessionMessage(sessionId, message),
      { 'since-revision': watch.log.sinceRevision, receipt },
    );
  }

  #subscribeInbox(client: Client): void {
    this.#inboxSubscription = client.subscribe(destinations.inbox, (message) => {
      const event = parse<SessionEventMessage>(message.body);
      if (event && typeof event.revision === 'number') this.emit('inbox', event);
    });
  }

  #sessionMessage(sessionId: string, message: IMessage): void {
    const watch = this.#watches.get(sessionId);
    if (!watch) return;
    if (message.headers['event-type'] === 'Typing') {
      const typing = parse<TypingMessage>(message.body);
      if (typing) this.emit('typing', typing);
      return;
    }
    const event = parse<SessionEventMessage>(message.body);
    if (!event || typeof event.revision !== 'number') return;
    const offered = watch.log.offer(event);
    if (offered === 'applied') this.emit('event', event);
    else if (offered === 'gap' && this.#client?.connected) {
      // Not expected of the server; asking again from what was applied mends it.
      watch.subscription?.unsubscribe();
      this.#subscribeSession(this.#client, sessionId, watch);
    }
  }

  #refusal(message: IMessage): void {
    const body = parse<Partial<Refusal>>(message.body) ?? {};
    const refusal: Refusal = { code: String(message.headers.code ?? body.code ?? 'UNAVAILABLE'), message: String(body.message ?? '') };
    const receiptId = message.headers['receipt-id'];
    const pending = receiptId === undefined ? undefined : this.#pending.get(receiptId);
    if (receiptId !== undefined) this.#pending.delete(receiptId);
    switch (pending?.kind) {
      case 'outbox': {
        const outcome = this.#outbox.rejected(pending.id, refusal.code, Date.now());
        if (outcome?.retry === false) this.emit('rejected', { entry: outcome.entry, ...refusal });
        else if (outcome?.retry) {
          const entry = this.#outbox.entries.find((queued) => queued.id === pending.id)!;
          this.emit('retrying', { entry, at: outcome.at, ...refusal });
        }
        this.emit('outbox', this.#outbox.entries);
        return this.#pump();
      }
      case 'request':
        return pending.reject(new RequestRefused(refusal.code, refusal.message));
      case 'watch': {
        const watch = this.#watches.get(pending.sessionId);
        if (watch?.subscription && this.#client?.connected) watch.subscription.unsubscribe();
        if (watch) delete watch.subscription;
        if (refusal.code !== 'FORBIDDEN' && watch) return this.#subscribeLater(pending.sessionId, watch);
        this.#watches.delete(pending.sessionId);
        return this.emit('watch-refused', { sessionId: pending.sessionId, ...refusal });
      }
      default:
        return; // a typing indicator's, or a frame's this page no longer waits for
    }
  }

  /** Subscribes to a watched session again after its back-off, if still watched and connected. */
  #subscribeLater(sessionId: string, watch: Watch): void {
    clearTimeout(watch.retryTimer);
    watch.retryTimer = setTimeout(() => {
      const client = this.#client;
      if (this.#watches.get(sessionId) === watch && !watch.subscription && client?.connected) this.#subscribeSession(client, sessionId, watch);
    }, watch.retries.next());
  }

  #receipt(receiptId: string): void {
    const pending = this.#pending.get(receiptId);
    this.#pending.delete(receiptId);
    if (pending?.kind === 'watch') this.#watches.get(pending.sessionId)?.retries.reset();
    if (pending?.kind === 'outbox') {
      const entry = this.#outbox.stored(pending.id);
      if (entry) this.emit('stored', entry);
      this.emit('outbox', this.#outbox.entries);
      this.#pump();
    } else if (pending?.kind === 'request') pending.resolve();
  }

  /** Sends the outbox's next command, if any is due; or waits for its retry time. */
  #pump(): void {
    clearTimeout(this.#retryTimer);
    const client = this.#client;
    if (!client?.connected) return;
    const now = Date.now();
    const entry = this.#outbox.next(now);
    if (!entry) {
      const at = this.#outbox.retryAt;
      if (at !== undefined) this.#retryTimer = setTimeout(() => this.#pump(), Math.max(0, at - now));
      return;
    }
    this.#outbox.sending(entry.id);
    this.emit('outbox', this.#outbox.entries);
    const receipt = this.#expect({ kind: 'outbox', id: entry.id });
    client.publish({ destination: entry.destination, body: JSON.stringify(entry.body), headers: { receipt, 'content-type': 'application/json' } });
  }

  #expect(pending: Pending): string {
    const receipt = `r-${++this.#receipts}`;
    this.#pending.set(receipt, pending);
    return receipt;
  }

  #closed(client: Client, event: { code?: number; reason?: string }): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    this.#forgetConnection();
    void client.deactivate();
    if (this.#refusedToken !== undefined) {
      this.#setStatus({ state: 'auth-required', reason: this.#refusedToken });
      return;
    }
    const delay = this.#backoff.next();
    const reason = this.#connectedBefore && event.code !== 1006
      ? `the connection closed (${event.reason || `code ${event.code ?? 'unknown'}`})`
      : 'the chat server cannot be reached';
    this.#setStatus({ state: 'offline', retryAt: Date.now() + delay, reason });
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  /** Closes the current socket, if any, without scheduling a reconnection. */
  #drop(): void {
    const client = this.#client;
    this.#client = undefined;
    this.#forgetConnection();
    if (client) void client.deactivate();
  }

  /** What was tied to the socket: in-flight outbox commands go again, requests fail. */
  #forgetConnection(): void {
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#steadyTimer);
    for (const pending of this.#pending.values()) {
      if (pending.kind === 'request') pending.reject(new NotConnected('the connection dropped before the server answered'));
    }
    this.#pending.clear();
    for (const watch of this.#watches.values()) delete watch.subscription;
    this.#inboxSubscription = undefined;
    this.#outbox.connectionLost();
    this.emit('outbox', this.#outbox.entries);
  }

  #setStatus(status: ConnectionStatus): void {
    this.#status = status;
    this.emit('status', status);
  }
}

function parse<T>(body: string): T | undefined {
  try {
    return JSON.parse(body) as T;
  } catch {
    return undefined;
  }
}
