/**
 * What each client frame does once the connection has read it (DESIGN.md, "STOMP contract"):
 * SEND becomes a chat command or a typing indicator, SUBSCRIBE a subscription, and so on. A
 * refused frame is answered on `/user/queue/errors` and never RECEIPTed; a frame that breaks the
 * protocol ends the connection with an ERROR.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { z } from 'zod';
import { bodyText, type StompClientFrame } from './stomp/frame.js';
import { GatewayRejection } from './gateway-errors.js';
import { TokenBucket } from './rate-limit.js';
import { parseSendDestination, parseSubscribeDestination, type SubscribeRoute } from './routes.js';
import type { ConnectionServices } from './stomp-connection.js';
import type { StompVersion } from './stomp/version.js';
import {
  type SubscriberOutlet,
  type Subscription,
  errorsSubscription,
  inboxSubscription,
  sessionSubscription,
} from './subscriptions.js';

/** What the handlers need of their connection. */
export interface ConnectionContext extends SubscriberOutlet {
  readonly isOpen: boolean;
  readonly version: StompVersion;
  /** The server is stopping: SENDs are refused from now on. */
  readonly isShuttingDown: boolean;
  connect(frame: StompClientFrame): Promise<void>;
  receipt(frame: StompClientFrame): void;
  /** Whether the MESSAGEs of subscription `id` carry an `ack` header. */
  acknowledges(id: string, required: boolean): void;
  reject(frame: StompClientFrame, error: unknown, correlationId?: string): void;
  fail(message: string, detail: string, frame?: StompClientFrame): void;
  disconnect(): void;
}

/** The most subscriptions one connection may hold. */
const MAX_SUBSCRIPTIONS = 500;
/** The `ack` modes of SUBSCRIBE whose MESSAGEs carry an `ack` header for the client's ACK (STOMP 1.2). */
const EXPLICIT_ACK_MODES: ReadonlySet<string> = new Set(['client', 'client-individual']);

/**
 * Subscriptions to sessions one connection may make: each reads the session from the event
 * store. As many as it may hold at once (a console subscribing again to all it watched, after a
 * reconnection), then some a second: a loop of SUBSCRIBE and UNSUBSCRIBE is no free database read.
 */
const SESSION_SUBSCRIBE_LIMIT = { perSecond: 50, burst: MAX_SUBSCRIPTIONS };

/**
 * Typing indicators one connection may send, on top of the SEND limit they count in too: each
 * costs a read of the session and a NOTIFY that every node hears, and a typist needs few.
 */
const TYPING_LIMIT = { perSecond: 5, burst: 5 };

const typingPayload = z.object({ typing: z.boolean() }).strict();

/** The handlers of one connection's frames; `subscriptions` is the connection's own map. */
export class FrameHandlers {
  readonly #logger = new Logger('StompConnection');
  readonly #sends: TokenBucket;
  readonly #typing: TokenBucket;
  readonly #sessionSubscribes: TokenBucket;

  constructor(
    private readonly connection: ConnectionContext,
    private readonly services: ConnectionServices,
    private readonly subscriptions: Map<string, Subscription>,
  ) {
    this.#sends = new TokenBucket(services.settings.sendLimit, services.clock);
    this.#typing = new TokenBucket(TYPING_LIMIT, services.clock);
    this.#sessionSubscribes = new TokenBucket(SESSION_SUBSCRIBE_LIMIT, services.clock);
  }

  /**
   * Runs one frame to its end (a SEND: until its events are stored).
   * @throws only on a bug; the connection then ends with an ERROR.
   */
  async handle(frame: StompClientFrame): Promise<void> {
    switch (frame.command) {
      case 'CONNECT':
      case 'STOMP':
        return this.connection.connect(frame);
      case 'SEND':
        return this.#send(frame);
      case 'SUBSCRIBE':
        return this.#subscribe(frame);
      case 'UNSUBSCRIBE':
        return this.#unsubscribe(frame);
      case 'ACK':
      case 'NACK':
        return this.connection.receipt(frame);
      case 'BEGIN':
      case 'COMMIT':
      case 'ABORT':
        return this.connection.fail('transactions are not supported', `${frame.command} is not supported by this server`, frame);
      case 'DISCONNECT':
        this.connection.receipt(frame);
        return this.connection.disconnect();
    }
  }

  async #send(frame: StompClientFrame): Promise<void> {
    const destination = this.#required(frame, 'destination');
    if (destination === undefined) return;
    const correlationId = randomUUID();
    try {
      this.#admitSend();
      const route = parseSendDestination(destination);
      if (route === undefined) throw new GatewayRejection('UNKNOWN_DESTINATION', `there is no destination ${destination}`);
      const payload = jsonBodyOf(frame);
      if (route.kind === 'typing') {
        await this.#type(route.sessionId, payload);
      } else {
        const actor = this.connection.principal;
        await this.services.commands.submit({ kind: route.command, sessionId: route.sessionId, payload, actor, correlationId });
      }
      this.connection.receipt(frame);
    } catch (error) {
      this.connection.reject(frame, error, correlationId);
    }
  }

  /** A typing indicator: checked, then published to every node; never stored. */
  async #type(sessionId: string, payload: unknown): Promise<void> {
    const parsed = typingPayload.safeParse(payload);
    if (!parsed.success) throw new GatewayRejection('INVALID_COMMAND', 'typing: a JSON object {"typing": true or false} is expected');
    if (!this.#typing.take()) {
      throw new GatewayRejection('RATE_LIMITED', `at most ${TYPING_LIMIT.perSecond} typing indicators a second; this one was dropped`);
    }
    const principal = this.connection.principal;
    const senderType = await this.services.access.mayType(principal, sessionId);
    await this.services.feed.publishTyping({
      sessionId,
      senderId: principal.id,
      senderType,
      typing: parsed.data.typing,
      occurredAt: new Date().toISOString(),
    });
  }

  /**
   * A SEND may go on when the server is not stopping and the connection is within its SEND
   * limit. The token is taken when the frame's turn comes, not when it arrived: what the limit
   * protects is the work the server does, and a flood queues up anyway (the socket is paused).
   * @throws {GatewayRejection} `UNAVAILABLE` while stopping, `RATE_LIMITED` over the limit.
   */
  #admitSend(): void {
    if (this.connection.isShuttingDown) {
      throw new GatewayRejection('UNAVAILABLE', 'the server is shutting down; nothing was done, send it again once reconnected');
    }
    if (!this.#sends.take()) {
      const { perSecond, burst } = this.services.settings.sendLimit;
      throw new GatewayRejection('RATE_LIMITED', `too many SENDs on this connection (at most ${perSecond} a second, ${burst} at once); nothing was done, send it again later`);
    }
  }

  async #subscribe(frame: StompClientFrame): Promise<void> {
    const id = this.#subscriptionIdOf(frame);
    const destination = id === undefined ? undefined : this.#required(frame, 'destination');
    if (id === undefined || destination === undefined) return;
    try {
      if (this.subscriptions.has(id)) throw new GatewayRejection('INVALID_COMMAND', `subscription id ${id} is in use on this connection`);
      if (this.subscriptions.size >= MAX_SUBSCRIPTIONS) {
        throw new GatewayRejection('RATE_LIMITED', `a connection may hold at most ${MAX_SUBSCRIPTIONS} subscriptions`);
      }
      const route = parseSubscribeDestination(destination);
      if (route === undefined) throw new GatewayRejection('UNKNOWN_DESTINATION', `there is no destination ${destination}`);
      const subscription = await this.#open(id, route, frame);
      if (!this.connection.isOpen) return subscription.close();
      this.subscriptions.set(id, subscription);
      this.connection.acknowledges(id, EXPLICIT_ACK_MODES.has(frame.headers.get('ack') ?? 'auto'));
      this.connection.receipt(frame);
    } catch (error) {
      this.connection.reject(frame, error);
    }
  }

  async #open(id: string, route: SubscribeRoute, frame: StompClientFrame): Promise<Subscription> {
    const principal = this.connection.principal;
    switch (route.kind) {
      case 'errors':
        return errorsSubscription(id);
      case 'inbox':
        if (principal.role !== 'agent') throw new GatewayRejection('FORBIDDEN', 'the inbox is for agents');
        return inboxSubscription(id, this.services.feed, this.connection);
      case 'session': {
        const since = sinceRevisionOf(frame);
        if (!this.#sessionSubscribes.take()) {
          const { perSecond, burst } = SESSION_SUBSCRIBE_LIMIT;
          throw new GatewayRejection('RATE_LIMITED', `too many subscriptions to sessions on this connection (at most ${perSecond} a second, ${burst} at once)`);
        }
        const current = await this.services.access.mayWatch(principal, route.sessionId);
        const { feed, reader } = this.services;
        const after = since ?? current;
        return sessionSubscription({ id, sessionId: route.sessionId, after, feed, reader, outlet: this.connection, logger: this.#logger });
      }
    }
  }

  #unsubscribe(frame: StompClientFrame): void {
    const id = this.#subscriptionIdOf(frame);
    if (id === undefined) return;
    this.subscriptions.get(id)?.close();
    this.subscriptions.delete(id);
    this.connection.acknowledges(id, false);
    this.connection.receipt(frame);
  }

  /**
   * The subscription a SUBSCRIBE or UNSUBSCRIBE names: its `id`, which STOMP 1.1 and 1.2 require;
   * in STOMP 1.0 a frame without one names it by its destination.
   */
  #subscriptionIdOf(frame: StompClientFrame): string | undefined {
    if (this.connection.version === '1.0' && !frame.headers.has('id')) return this.#required(frame, 'destination');
    return this.#required(frame, 'id');
  }

  /** A header the frame must have; without it, the connection ends (STOMP 1.2 requires it). */
  #required(frame: StompClientFrame, name: string): string | undefined {
    const value = frame.headers.get(name);
    if (value === undefined) this.connection.fail('missing header', `${frame.command} needs the ${name} header`, frame);
    return value;
  }
}

/**
 * The SEND body as JSON; an empty body counts as `{}` (the body of join and leave).
 * @throws {GatewayRejection} `INVALID_COMMAND` when it is not UTF-8 JSON.
 */
function jsonBodyOf(frame: StompClientFrame): unknown {
  const text = bodyText(frame);
  if (text === undefined) throw new GatewayRejection('INVALID_COMMAND', 'the body is not UTF-8 text');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new GatewayRejection('INVALID_COMMAND', 'the body is not valid JSON');
  }
}

/**
 * The `since-revision` header of a SUBSCRIBE: an integer from -1 (replay everything) up.
 * @throws {GatewayRejection} `INVALID_COMMAND` on anything else.
 */
function sinceRevisionOf(frame: StompClientFrame): bigint | undefined {
  const value = frame.headers.get('since-revision');
  if (value === undefined) return undefined;
  if (!/^(-1|\d{1,18})$/.test(value.trim())) {
    throw new GatewayRejection('INVALID_COMMAND', `since-revision must be an integer from -1 up, got "${value}"`);
  }
  return BigInt(value.trim());
}
