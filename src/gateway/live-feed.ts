/**
 * The node's ear on the database: one dedicated PostgreSQL connection LISTENs to the projector's
 * announcements (`parley_events`, in the projection's transaction) and to typing indicators
 * (`parley_typing`, published straight from the gateways of every node), and hands them to this
 * node's subscribers (DESIGN.md, "The flow": any number of stateless nodes).
 *
 * With the event store in PostgreSQL it LISTENs to the other nodes' announcements of their
 * appends as well (`parley_appends`), and passes them on to the store: the node that projects
 * looks for new events at once instead of at its next poll.
 *
 * Notices are hints for speed: a lost connection is re-opened with back-off, then every session
 * watcher is told to resync from the event store, which holds whatever was announced meanwhile,
 * every inbox subscription to read what it missed from the log (each at its own socket's pace, an
 * {@link InboxStream}), and the store that appends were announced.
 * A truncated notice whose event cannot be read for the inbox counts as a lost connection.
 */
import { Logger } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import pg from 'pg';
import type { DatabasePool } from 'slonik';
import { z } from 'zod';
import { EVENTS_CHANNEL, notifiedRow } from '../../read-models/notify.js';
import type { MemoryUsage } from '../../read-models/projection.js';
import { sql } from '../../read-models/sql.js';
import { compareLogPositions, type EventStore, type LogPosition } from '../event-store/event-store.js';
import { APPENDS_CHANNEL } from '../event-store/postgres-event-store.js';
import { INBOX_EVENT_TYPES, InboxStream } from './inbox-stream.js';
import type { SessionEvent, SessionReader, TypingIndicator } from './session-events.js';

/** The channel of typing indicators, published by the gateway of the node the typist is on. */
export const TYPING_CHANNEL = 'parley_typing';

/** A subscriber to one session's notices. */
export interface SessionWatcher {
  /** A projected event; `event` is absent when the notice was truncated and the store could not be read. */
  projected(revision: bigint, event: SessionEvent | undefined): void;
  typing(indicator: TypingIndicator): void;
  /** Notices may have been missed: read the event store from what was delivered last. */
  resync(): void;
}

/** A subscriber to every session's list changes (the inbox), as its socket has room for them. */
export interface InboxWatcher {
  projected(event: SessionEvent): void;
  /** Whether it can take more now: what is read from the log after an outage waits until it can. */
  hasRoom(): boolean;
  /** Resolves when it may take more again. */
  drained(): Promise<void>;
}

export interface LiveFeedOptions {
  readonly databaseUrl: string;
  /** Where typing indicators are published from. */
  readonly pool: DatabasePool;
  /** Where events whose notice was truncated are read. */
  readonly reader: SessionReader;
  /** Where the inbox's subscriptions read the events announced while the connection was lost. */
  readonly log: Pick<EventStore, 'readAll'>;
  /** How far the projector has announced the log (its checkpoint). */
  readonly announcedUpTo: () => Promise<LogPosition>;
  /**
   * Where the nodes' announcements of their appends go, with their payloads
   * (`PostgresEventStore.appendsAnnounced`), and a call without one after each reconnection;
   * unset, they are not listened to (EventStoreDB pushes to its subscriptions itself).
   */
  readonly appendsAnnounced?: (by?: string) => void;
}

/**
 * The first wait after a lost connection, doubled at each failure up to the maximum. The maximum
 * is short: an attempt on a database that is down costs one refused connection, while a long wait
 * once it is back keeps the node unready and its subscribers without live events.
 */
const INITIAL_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 2_000;
/** How often the idle connection is checked with a query, and how long the answer may take. */
const PING_INTERVAL_MS = 15_000;
const PING_TIMEOUT_MS = 5_000;
/** Sessions whose last revision told to the inbox is remembered, to drop a notice repeated. */
const INBOX_MEMORY = 10_000;

const eventNotice = z.object({
  sessionId: z.string(),
  revision: z.string().regex(/^\d+$/),
  type: z.string(),
  position: z.string().regex(/^\d+$/),
  // Absent from the notices of a projector of an earlier release.
  logPosition: z.object({ commit: z.string().regex(/^-?\d+$/), prepare: z.string().regex(/^-?\d+$/) }).optional(),
  data: z.unknown().optional(),
  metadata: z.record(z.unknown()).optional(),
  truncated: z.literal(true).optional(),
});

const typingNotice = z.object({
  sessionId: z.string(),
  senderId: z.string(),
  senderType: z.enum(['user', 'agent']),
  typing: z.boolean(),
  occurredAt: z.string(),
});

/** See the file's comment. `start` before use, `stop` at shutdown. */
export class LiveFeed {
  readonly #logger = new Logger('LiveFeed');
  readonly #options: LiveFeedOptions;
  readonly #sessions = new Map<string, Set<SessionWatcher>>();
  readonly #inbox = new Set<InboxStream>();
  /**
   * The last revision of each session told to the inbox. A projection re-applying its last
   * batches after a database crash announces them again (its commits do not wait for the WAL
   * flush); session subscribers drop such repeats by their own revisions, the inbox by these
   * (and each inbox subscription by its place in the log, which a notice of an earlier release
   * does not tell).
   */
  readonly #toldInbox = new LRUCache<string, bigint>({ max: INBOX_MEMORY });
  /** How far the log was announced to this node: where a new inbox subscription starts in it. */
  #heardUpTo: LogPosition | undefined;
  /**
   * The inbox missed an event announced to this node (a truncated notice that could not be read):
   * until the inbox subscriptions read the log from before it, none is told of a later one, and
   * `#heardUpTo` stays where it was.
   */
  #inboxMissed = false;
  #client: pg.Client | undefined;
  /** The connection is up and LISTENing: notices reach this node. */
  #listening = false;
  #stopped = true;
  #backoffMs = INITIAL_BACKOFF_MS;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  /** Notices are dispatched one after the other: a truncated one is read before the next goes out. */
  #dispatching: Promise<void> = Promise.resolve();

  constructor(options: LiveFeedOptions) {
    this.#options = options;
  }

  /** Connects and LISTENs; when the database cannot be reached, keeps trying in the background. */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.#connect();
  }

  /**
   * Whether notices reach this node now. While they do not (the connection is being re-opened),
   * its subscribers get no live events: the node is not ready (`/health/ready`).
   */
  get listening(): boolean {
    return this.#listening;
  }

  /** How full the memory of the last revision told to the inbox is, in sessions, for `/metrics`. */
  get inboxMemory(): MemoryUsage {
    return { entries: this.#toldInbox.size, capacity: INBOX_MEMORY };
  }

  /** Closes the connection; nothing is dispatched any more. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#listening = false;
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#pingTimer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
    await this.#dispatching;
  }

  /** Hands `watcher` the session's notices until the returned function is called. */
  watchSession(sessionId: string, watcher: SessionWatcher): () => void {
    let watchers = this.#sessions.get(sessionId);
    if (!watchers) this.#sessions.set(sessionId, (watchers = new Set()));
    watchers.add(watcher);
    return () => {
      watchers.delete(watcher);
      if (watchers.size === 0 && this.#sessions.get(sessionId) === watchers) this.#sessions.delete(sessionId);
    };
  }

  /**
   * Hands `watcher` every session list change announced from now on, until the returned function
   * is called; after a lost connection, what was announced meanwhile, as it has room for it.
   */
  watchInbox(watcher: InboxWatcher): () => void {
    const stream = new InboxStream({
      after: this.#heardUpTo,
      log: this.#options.log,
      announcedUpTo: this.#options.announcedUpTo,
      deliver: (event) => watcher.projected(event),
      hasRoom: () => watcher.hasRoom(),
      drained: () => watcher.drained(),
      onReadError: (error) => this.#logger.warn(`an inbox subscription reading the log: ${(error as Error).message}; retrying`),
    });
    this.#inbox.add(stream);
    return () => {
      this.#inbox.delete(stream);
      stream.close();
    };
  }

  /**
   * Tells every node's subscribers of the session (the typist's own connections excepted, by
   * the subscribers themselves) that someone is typing.
   */
  async publishTyping(indicator: TypingIndicator): Promise<void> {
    await this.#options.pool.query(sql.type(notifiedRow)`
      SELECT count(pg_notify(${TYPING_CHANNEL}, ${JSON.stringify(indicator)})) AS notified`);
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.#options.databaseUrl,
      application_name: 'parley-gateway-listener',
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    this.#client = client;
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('the connection ended')));
    client.on('notification', ({ channel, payload }) => this.#onNotification(channel, payload ?? ''));
    // The inbox's catch-up starts before any notice of this connection is dispatched: none overtakes it.
    let listened!: (ok: boolean) => void;
    const listening = new Promise<boolean>((resolve) => (listened = resolve));
    this.#enqueue('the inbox catch-up', async () => {
      if (await listening) await this.#catchUpInbox(client);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
      await client.query(`LISTEN ${TYPING_CHANNEL}`);
      if (this.#options.appendsAnnounced) await client.query(`LISTEN ${APPENDS_CHANNEL}`);
    } catch (error) {
      listened(false);
      this.#lost(client, error as Error);
      return;
    }
    listened(this.#client === client);
    if (this.#client !== client) return; // lost or stopped while connecting
    this.#listening = true;
    this.#backoffMs = INITIAL_BACKOFF_MS;
    const channels = [EVENTS_CHANNEL, TYPING_CHANNEL, ...(this.#options.appendsAnnounced ? [APPENDS_CHANNEL] : [])];
    this.#logger.log(`listening on ${channels.join(', ')}`);
    this.#pingTimer = setInterval(() => this.#ping(client), PING_INTERVAL_MS).unref();
    for (const watchers of this.#sessions.values()) for (const watcher of watchers) watcher.resync();
    this.#options.appendsAnnounced?.();
  }

  #lost(client: pg.Client, error: Error): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#listening = false;
    clearInterval(this.#pingTimer);
    client.end().catch(() => {});
    if (this.#stopped) return;
    const wait = this.#backoffMs;
    this.#backoffMs = Math.min(wait * 2, MAX_BACKOFF_MS);
    this.#logger.warn(`LISTEN connection lost (${error.message}); reconnecting in ${wait} ms`);
    this.#reconnectTimer = setTimeout(() => void this.#connect(), wait);
    this.#reconnectTimer.unref();
  }

  /** A connection that stopped answering (a half-open TCP connection) is replaced. */
  #ping(client: pg.Client): void {
    client.query({ text: 'SELECT 1', query_timeout: PING_TIMEOUT_MS } as pg.QueryConfig).catch((error: Error) => this.#lost(client, error));
  }

  #onNotification(channel: string, payload: string): void {
    // An announcement of appends carries nothing to dispatch, and waits for nothing.
    if (channel === APPENDS_CHANNEL) return this.#options.appendsAnnounced?.(payload);
    this.#enqueue(`a ${channel} notice`, () => this.#dispatch(channel, payload));
  }

  /** Runs `task` after those dispatched before it. */
  #enqueue(what: string, task: () => Promise<void>): void {
    this.#dispatching = this.#dispatching.then(task).catch((error: unknown) => {
      this.#logger.error(`dispatching ${what} failed: ${(error as Error).stack ?? String(error)}`);
    });
  }

  /**
   * Tells each inbox subscription to read what was announced while this node did not listen, from
   * its place in the log up to the projector's checkpoint, read now that LISTEN is on (whatever
   * commits later is announced to this connection), and notes that checkpoint as where new ones
   * start. The first connection only notes it. A failure to read it counts as a lost connection:
   * the next one tries again.
   */
  async #catchUpInbox(client: pg.Client): Promise<void> {
    try {
      const upTo = await this.#options.announcedUpTo();
      const first = this.#heardUpTo === undefined;
      this.#inboxMissed = false;
      this.#heard(upTo);
      if (!first) for (const stream of this.#inbox) stream.resync();
    } catch (error) {
      this.#lost(client, new Error(`the inbox could not catch up: ${(error as Error).message}`));
    }
  }

  #heard(position: LogPosition): void {
    if (this.#inboxMissed) return;
    if (this.#heardUpTo === undefined || compareLogPositions(position, this.#heardUpTo) > 0) this.#heardUpTo = position;
  }

  async #dispatch(channel: string, payload: string): Promise<void> {
    const parsed = parseJson(payload);
    if (channel === TYPING_CHANNEL) {
      const notice = typingNotice.safeParse(parsed);
      if (!notice.success) return this.#logger.warn(`ignored a malformed ${channel} notice`);
      for (const watcher of this.#sessions.get(notice.data.sessionId) ?? []) watcher.typing(notice.data);
      return;
    }
    const notice = eventNotice.safeParse(parsed);
    if (!notice.success) return this.#logger.warn(`ignored a malformed ${channel} notice`);
    const revision = BigInt(notice.data.revision);
    const event = notice.data.truncated ? await this.#readTruncated(notice.data.sessionId, revision) : fromNotice(notice.data);
    for (const watcher of this.#sessions.get(notice.data.sessionId) ?? []) watcher.projected(revision, event);
    if (event === undefined) return this.#missedByInbox();
    // Once the inbox has missed an event, the catch-up after the reconnection tells it this one
    // too, after the one missed: told now, it would take each inbox subscription's place in the
    // log past the one missed, and stand in for both in `#toldInbox`.
    if (this.#inboxMissed) return;
    const logPosition = notice.data.logPosition && { commit: BigInt(notice.data.logPosition.commit), prepare: BigInt(notice.data.logPosition.prepare) };
    this.#tellInbox(event, logPosition);
    if (logPosition !== undefined) this.#heard(logPosition);
  }

  /** Hands the inbox an event of the types it hears of, unless it was told of it already. */
  #tellInbox(event: SessionEvent, logPosition: LogPosition | undefined): void {
    if (!INBOX_EVENT_TYPES.has(event.type)) return;
    const told = this.#toldInbox.get(event.sessionId);
    if (told !== undefined && event.revision <= told) return;
    this.#toldInbox.set(event.sessionId, event.revision);
    for (const stream of this.#inbox) stream.offer(event, logPosition);
  }

  /**
   * The inbox could not be told of an announced event (the session subscribers read it from the
   * store themselves): the connection is opened again, as after an outage, and the inbox catches
   * up from the last event it was told of before that one.
   */
  #missedByInbox(): void {
    this.#inboxMissed = true;
    if (this.#client) this.#lost(this.#client, new Error('an event of a truncated notice could not be read for the inbox'));
  }

  /** The event a truncated notice announced, read once for all of this node's subscribers. */
  async #readTruncated(sessionId: string, revision: bigint): Promise<SessionEvent | undefined> {
    try {
      const [event] = await this.#options.reader.read(sessionId, revision, 1);
      return event?.revision === revision ? event : undefined;
    } catch (error) {
      this.#logger.warn(`reading ${sessionId}@${revision} of a truncated notice: ${(error as Error).message}`);
      return undefined;
    }
  }
}

function parseJson(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    return undefined;
  }
}

function fromNotice(notice: z.infer<typeof eventNotice>): SessionEvent {
  const occurredAt = notice.metadata?.occurredAt;
  return {
    sessionId: notice.sessionId,
    type: notice.type,
    revision: BigInt(notice.revision),
    position: BigInt(notice.position),
    occurredAt: typeof occurredAt === 'string' ? occurredAt : new Date().toISOString(),
    data: notice.data,
  };
}
