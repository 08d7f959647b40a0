import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  type DatabasePool,
  UniqueIntegrityConstraintViolationError,
  sql,
} from 'slonik';
import { z } from 'zod';
import { isConnectionLoss, isWriteRefusal } from '../database/connection-loss.js';
import { closingOnAbort } from '../database/pool.js';
import {
  type AppendResult,
  type EventStore,
  type EventToAppend,
  type ExpectedRevision,
  type LogPosition,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type Subscription,
  type SubscribeToAllOptions,
  DuplicateEventId,
  EventStoreUnavailable,
  START,
  WrongExpectedVersion,
  categoryOf,
} from './event-store.js';

const eventRow = z.object({
  position: z.bigint(),
  transaction_number: z.bigint(),
  stream_name: z.string(),
  revision: z.bigint(),
  event_id: z.string(),
  event_type: z.string(),
  data: z.unknown(),
  metadata: z.record(z.unknown()),
  created_at: z.date(),
});

const pageRow = eventRow.extend({ readable: z.boolean() });

const EVENT_COLUMNS = sql.fragment`
  position, transaction_id::text::bigint AS transaction_number, stream_name, revision, event_id,
  event_type, data, metadata, created_at`;

/** The channel on which a process announces its appends to the subscriptions of the others. */
export const APPENDS_CHANNEL = 'parley_appends';

export interface PostgresEventStoreOptions {
  /**
   * How long a caught-up subscription waits, at most, before it looks for events again (default
   * 1,000 ms). Appends of this process wake it at once, and so do those of other processes that
   * it is told of ({@link PostgresEventStore.appendsAnnounced}); this is for those it is not.
   */
  readonly pollIntervalMs?: number;
  /** Events read per query by readAll and subscriptions (default 1,000). */
  readonly batchSize?: number;
  /** Groups of appends committing at once; further appends wait and form the next group (default 1). */
  readonly groupsInFlight?: number;
  /** The least time between two announcements of this process's appends (default 25 ms). */
  readonly announceIntervalMs?: number;
  /**
   * How long a group of appends waits for the database's answer before each of its appends gets
   * {@link EventStoreUnavailable} (default 10,000 ms). A database cut off without a word (a
   * network partition) answers nothing, and the appends after the group would wait behind it.
   */
  readonly commitTimeoutMs?: number;
}

/**
 * The event store in PostgreSQL (`migrations/0001_event_store.sql`): one append-only `events`
 * table; appends in groups through the `append_to_streams` function (0003, 0004: per-stream
 * locks, optimistic concurrency), see {@link GroupCommit}. Each process announces its appends on
 * {@link APPENDS_CHANNEL} ({@link AppendAnnouncer}); whoever LISTENs there passes them on to its
 * store's subscriptions with {@link PostgresEventStore.appendsAnnounced} (the gateway's
 * `LiveFeed` does).
 *
 * The gap problem: an event's position is taken when it is inserted, but it becomes visible when
 * its transaction commits, so position 11 can be seen before 10. Readers of the whole log
 * therefore go in (transaction id, position) order and read only the events of transactions older
 * than the oldest one still in flight (`pg_snapshot_xmin`): no event can later appear before what
 * they have read.
 */
export class PostgresEventStore implements EventStore {
  private readonly appends: GroupCommit;
  /** Whose announcements are this store's own: its subscriptions heard of those appends already. */
  private readonly announcerId = randomUUID();
  private readonly announcer: AppendAnnouncer;
  private readonly growth = new LogGrowth();
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;

  constructor(private readonly pool: DatabasePool, options: PostgresEventStoreOptions = {}) {
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.batchSize = options.batchSize ?? 1000;
    this.announcer = new AppendAnnouncer(pool, this.announcerId, options.announceIntervalMs ?? 25, this.pollIntervalMs);
    this.appends = new GroupCommit(pool, options.groupsInFlight ?? 1, options.commitTimeoutMs ?? 10_000, () => {
      this.growth.grew();
      this.announcer.announce();
    });
  }

  /**
   * Appends were announced on {@link APPENDS_CHANNEL} (`by`: the announcement's payload; unset
   * when what was announced is not known, as after a lost connection): the subscriptions look
   * now, unless the announcement is this store's own.
   */
  appendsAnnounced(by?: string): void {
    if (by !== this.announcerId) this.growth.grew();
  }

  appendToStream(
    streamName: string,
    events: readonly EventToAppend[],
    { expectedRevision }: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    if (events.length === 0) return Promise.reject(new RangeError('appendToStream needs at least one event'));
    return this.appends.append(streamName, events, expectedRevision);
  }

  async readStream(streamName: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const from = options.fromRevision;
    const rows = await unavailableOnOutage(() =>
      this.pool.any(sql.type(eventRow)`
        SELECT ${EVENT_COLUMNS} FROM events
        WHERE stream_name = ${streamName}
          ${from === undefined ? sql.fragment`` : backwards ? sql.fragment`AND revision <= ${from}` : sql.fragment`AND revision >= ${from}`}
        ORDER BY revision ${backwards ? sql.fragment`DESC` : sql.fragment`ASC`}
        ${options.maxCount === undefined ? sql.fragment`` : sql.fragment`LIMIT ${options.maxCount}`}`),
    );
    return rows.map(toRecordedEvent);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const page = await this.readPage(options.after ?? START, options.maxCount ?? this.batchSize, options.category);
    return page.events;
  }

  /**
   * The events after `after` that every reader can see for good: those of transactions older than
   * the oldest still in flight. `heldBack`: events of later transactions have committed already
   * and wait behind that oldest one (another writer's append, a projection's batch): they will
   * be readable as soon as it ends.
   */
  async readPage(after: LogPosition, maxCount: number, category?: string): Promise<{ events: RecordedEvent[]; heldBack: boolean }> {
    const following = sql.fragment`(transaction_id, position) > (${String(after.commit < 0n ? 0n : after.commit)}::xid8, ${after.prepare})
      ${category === undefined ? sql.fragment`` : sql.fragment`AND category = ${category}`}`;
    const rows = await unavailableOnOutage(() =>
      this.pool.any(sql.type(pageRow)`
        WITH horizon AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
        (SELECT ${EVENT_COLUMNS}, true AS readable FROM events
          WHERE ${following} AND transaction_id < (SELECT xmin FROM horizon)
          ORDER BY transaction_id, position LIMIT ${maxCount})
        UNION ALL
        (SELECT ${EVENT_COLUMNS}, false AS readable FROM events
          WHERE ${following} AND transaction_id >= (SELECT xmin FROM horizon)
          ORDER BY transaction_id, position LIMIT 1)`),
    );
    return { events: rows.filter((row) => row.readable).map(toRecordedEvent), heldBack: rows.some((row) => !row.readable) };
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): Subscription {
    return new PollingSubscription(this, this.growth, this.pollIntervalMs, this.batchSize, options);
  }

  async close(): Promise<void> {
    this.announcer.stop();
    // The pool belongs to whoever made it.
  }
}

/** The longest wait for events held back behind a transaction in flight, doubled from 1 ms. */
const HELD_BACK_MAX_WAIT_MS = 25;

/**
 * Reads pages of the log until it is caught up, then waits:
 * - when events are held back behind a transaction still in flight (another writer's append, a
 *   projection's batch), 1 ms, then twice as long at each read that finds them still held back,
 *   up to {@link HELD_BACK_MAX_WAIT_MS}: such a transaction is usually over within a millisecond
 *   or two;
 * - else for the log to grow (an append of this process, or one announced by another) or the
 *   poll interval, whichever comes first; not at all when it grew while the page was read.
 * A category is picked here from pages of the whole log, not by the query: PostgreSQL plans the
 * category query as a parallel scan and sort while `events` has no statistics yet (7 ms a page
 * instead of 0.5).
 */
class PollingSubscription implements Subscription {
  private closed = false;
  private readonly stop = new AbortController();

  constructor(
    private readonly store: PostgresEventStore,
    private readonly growth: LogGrowth,
    private readonly pollIntervalMs: number,
    private readonly batchSize: number,
    private readonly options: SubscribeToAllOptions,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    const { category } = this.options;
    let after: LogPosition = this.options.after ?? START;
    let heldBackWaitMs = 0;
    while (!this.closed) {
      const grownBefore = this.growth.count;
      const { events, heldBack } = await this.store.readPage(after, this.batchSize);
      for (const event of events) {
        if (this.closed) return;
        if (category === undefined || categoryOf(event.streamName) === category) yield event;
        after = event.logPosition;
      }
      if (events.length === this.batchSize) continue;
      heldBackWaitMs = heldBack ? Math.min(Math.max(1, heldBackWaitMs * 2), HELD_BACK_MAX_WAIT_MS) : 0;
      if (heldBack) await this.pause(heldBackWaitMs, false);
      else if (this.growth.count === grownBefore) await this.pause(this.pollIntervalMs, true);
    }
  }

  /** Waits `ms`, or less when the subscription is closed, or when the log grows if `untilGrowth`. */
  private pause(ms: number, untilGrowth: boolean): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.stop.signal.removeEventListener('abort', done);
        this.growth.off('grew', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stop.signal.addEventListener('abort', done);
      if (untilGrowth) this.growth.once('grew', done);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stop.abort();
  }
}

/** Emits `grew` when the log grew, as far as this process knows; `count` counts those times. */
class LogGrowth extends EventEmitter {
  count = 0;

  constructor() {
    super();
    this.setMaxListeners(0);
  }

  grew(): void {
    this.count++;
    this.emit('grew');
  }
}

const notifiedRow = z.object({ notified: z.bigint() });

/**
 * Announces on {@link APPENDS_CHANNEL} that this process appended (the payload: its store's id,
 * so that the store ignores its own), so that the subscriptions of other processes look at once
 * instead of at their next poll: right after an append when the last announcement is
 * `intervalMs` old or more, else once when it will be. So every append is announced within that
 * interval of its commit, and a busy process announces at most once an interval, whatever its
 * rate.
 *
 * An announcement is a transaction of its own, after the appends committed: a NOTIFY in the
 * append's transaction would hold PostgreSQL's lock on the notification queue, which every
 * notifying commit takes (the projection's batches too), through the append's WAL flush.
 *
 * One that fails (a connection lost, the database restarting) is made again after `intervalMs`
 * (1 ms at least), then after twice as long at each failure, as long as that wait is shorter
 * than `giveUpMs`: by then the other processes' subscriptions have polled (the store passes its
 * poll interval), and a database that is down is not asked again and again. The appends made
 * meanwhile are announced by the next try, or by the next announcement that goes out.
 */
export class AppendAnnouncer {
  private lastAt = Number.NEGATIVE_INFINITY;
  private pending: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The wait before the next try after failed announcements; 0 while the last one went out. */
  private retryMs = 0;

  constructor(
    private readonly pool: Pick<DatabasePool, 'query'>,
    private readonly id: string,
    private readonly intervalMs: number,
    private readonly giveUpMs: number,
  ) {}

  announce(): void {
    if (this.pending !== undefined || this.stopped) return;
    this.sendIn(this.lastAt + this.intervalMs - performance.now());
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.pending);
  }

  private sendIn(wait: number): void {
    if (wait <= 0) return this.send();
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.send();
    }, wait).unref();
  }

  private send(): void {
    this.lastAt = performance.now();
    this.pool.query(sql.type(notifiedRow)`SELECT count(pg_notify(${APPENDS_CHANNEL}, ${this.id})) AS notified`).then(
      () => {
        this.retryMs = 0;
      },
      () => this.failed(),
    );
  }

  private failed(): void {
    this.retryMs = this.retryMs === 0 ? Math.max(1, this.intervalMs) : this.retryMs * 2;
    if (this.retryMs >= this.giveUpMs) {
      this.retryMs = 0;
      return;
    }
    // An announcement due already tells of these appends too.
    if (this.pending !== undefined || this.stopped) return;
    this.sendIn(this.retryMs);
  }
}

/** The most appends one group carries; more wait for the next group. */
const MAX_GROUP = 200;

const outcomeRow = z.object({
  entry: z.number(),
  next_revision: z.bigint().nullable(),
  outcome: z.enum(['appended', 'stored', 'wrong', 'repeats']),
});

interface Append {
  readonly streamName: string;
  readonly events: readonly EventToAppend[];
  readonly expectedRevision: ExpectedRevision;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit of the appends of one process (`append_to_streams`, migrations 0003, 0004): while
 * `groupsInFlight` groups are being committed, new appends wait, and go together in the next
 * group: one statement, one transaction, one WAL flush. An append made when nothing waits goes
 * at once, so an idle store adds no delay; a busy one makes larger groups instead of a longer
 * queue. A group has one append per stream (the function refuses more): a stream's next append
 * waits for the next group, in its order.
 *
 * Each append is resolved or rejected on its own, as if it had been made alone: a wrong expected
 * revision or a repeated event id refuses that append only. A group that fails as a whole (an
 * event id stored in another stream) is appended again one append at a time, which tells whose
 * the error was; a lost connection fails every append of the group with
 * {@link EventStoreUnavailable} (whether it committed is not known), and so does a group the
 * database has not answered within `commitTimeoutMs`: its connection is closed (waiting for an
 * answer that may never come, it would stay out of the pool), and its place goes to the next
 * group, on another connection of the pool.
 *
 * Calls `wrote` after each group that wrote events, as its answer tells. A group whose connection
 * was closed may have written events all the same: the subscriptions find them at their next poll.
 */
class GroupCommit {
  private waiting: Append[] = [];
  private inFlight = 0;

  constructor(
    private readonly pool: DatabasePool,
    private readonly groupsInFlight: number,
    private readonly commitTimeoutMs: number,
    private readonly wrote: () => void,
  ) {}

  append(streamName: string, events: readonly EventToAppend[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ streamName, events, expectedRevision, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    while (this.inFlight < this.groupsInFlight && this.waiting.length > 0) {
      this.inFlight++;
      void this.commit(this.nextGroup());
    }
  }

  /** Takes the waiting appends of the next group: up to {@link MAX_GROUP}, one per stream. */
  private nextGroup(): Append[] {
    const group: Append[] = [];
    const streams = new Set<string>();
    const left: Append[] = [];
    for (const append of this.waiting) {
      if (group.length < MAX_GROUP && !streams.has(append.streamName)) {
        group.push(append);
        streams.add(append.streamName);
      } else {
        left.push(append);
      }
    }
    this.waiting = left;
    return group;
  }

  /**
   * Writes a group, frees its place, then settles its appends: an appender that appends again as
   * soon as it resumes finds the place free and goes at once.
   */
  private async commit(group: readonly Append[]): Promise<void> {
    const { settlements, wrote } = await this.write(group);
    this.inFlight--;
    if (wrote) this.wrote();
    for (const settle of settlements) settle();
    this.next();
  }

  /** Appends a group; never throws: what each append gets is in `settlements`, in group order. */
  private async write(group: readonly Append[]): Promise<{ settlements: (() => void)[]; wrote: boolean }> {
    try {
      const rows = await unavailableOnOutage(() => this.answered(group));
      return {
        settlements: rows.map((row) => settlement(group[row.entry - 1]!, row)),
        wrote: rows.some((row) => row.outcome === 'appended'),
      };
    } catch (error) {
      if (group.length > 1 && !(error instanceof EventStoreUnavailable)) {
        const alone = [];
        for (const append of group) alone.push(await this.write([append]));
        return { settlements: alone.flatMap((one) => one.settlements), wrote: alone.some((one) => one.wrote) };
      }
      return { settlements: group.map((append) => () => append.reject(appendError(error, append.streamName))), wrote: false };
    }
  }

  /**
   * The rows of `group`'s append, or {@link EventStoreUnavailable} once `commitTimeoutMs` has
   * passed without them. Its connection is closed then, whether the database committed it or not:
   * on a network gone silent, waiting for that answer would keep the connection from the pool for
   * hours.
   */
  private answered(group: readonly Append[]): Promise<readonly z.infer<typeof outcomeRow>[]> {
    const abandon = new AbortController();
    const commit = closingOnAbort(abandon.signal, () => this.pool.any(appendToStreams(group)));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const waited = `no answer to an append within ${this.commitTimeoutMs} ms`;
        const unanswered = new EventStoreUnavailable(`PostgreSQL event store: ${waited}; whether it was stored is not known`);
        abandon.abort(unanswered);
        reject(unanswered);
        // Should its answer come before the connection is closed, the subscriptions are told as of any other append.
        commit.then((rows) => {
          if (rows.some((row) => row.outcome === 'appended')) this.wrote();
        }, () => {});
      }, this.commitTimeoutMs);
    });
    return Promise.race([commit, late]).finally(() => clearTimeout(timer));
  }
}

function appendToStreams(group: readonly Append[]) {
  const events = group.flatMap((append) => append.events);
  return sql.type(outcomeRow)`
    SELECT entry, next_revision, outcome FROM append_to_streams(
      ${sql.array(group.map((append) => append.streamName), 'text')},
      ${sql.array(group.map((append) => categoryOf(append.streamName)), 'text')},
      ${sql.array(group.map((append) => String(append.expectedRevision)), 'text')},
      ${sql.array(group.map((append) => append.events.length), 'int4')},
      ${sql.array(events.map((e) => e.eventId), 'uuid')},
      ${sql.array(events.map((e) => e.type), 'text')},
      ${sql.array(events.map((e) => JSON.stringify(e.data)), 'jsonb')},
      ${sql.array(events.map((e) => JSON.stringify(e.metadata)), 'jsonb')}
    ) ORDER BY entry`;
}

function settlement(append: Append, { next_revision: revision, outcome }: z.infer<typeof outcomeRow>): () => void {
  switch (outcome) {
    case 'appended':
    case 'stored':
      return () => append.resolve({ nextExpectedRevision: revision! });
    case 'wrong':
      return () => append.reject(new WrongExpectedVersion(append.streamName, append.expectedRevision, revision! < 0n ? 'no_stream' : revision!));
    case 'repeats':
      return () => append.reject(new DuplicateEventId(append.streamName));
  }
}

function toRecordedEvent(row: z.infer<typeof eventRow>): RecordedEvent {
  return {
    streamName: row.stream_name,
    eventId: row.event_id,
    type: row.event_type,
    revision: row.revision,
    position: row.position,
    logPosition: { commit: row.transaction_number, prepare: row.position },
    data: row.data,
    metadata: row.metadata,
    createdAt: row.created_at,
  };
}

/** An event id stored in another stream as {@link DuplicateEventId}; other errors as they are. */
function appendError(error: unknown, streamName: string): unknown {
  if (error instanceof UniqueIntegrityConstraintViolationError && error.constraint === 'events_event_id_key') {
    return new DuplicateEventId(streamName);
  }
  return error;
}

/**
 * Runs a query; a lost or refused connection, or a database that takes no writes for now (a
 * standby, a full disk), becomes {@link EventStoreUnavailable}.
 */
async function unavailableOnOutage<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    if (isConnectionLoss(error)) {
      throw new EventStoreUnavailable(`PostgreSQL event store unreachable: ${(error as Error).message}`, { cause: error });
    }
    if (isWriteRefusal(error)) {
      throw new EventStoreUnavailable(`PostgreSQL event store takes no writes for now: ${(error as Error).message}`, { cause: error });
    }
    throw error;
  }
}
