import { EventEmitter } from 'node:events';
import {
  type DatabasePool,
  UniqueIntegrityConstraintViolationError,
  sql,
} from 'slonik';
import { z } from 'zod';
import { isConnectionLoss } from '../database/connection-loss.js';
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

const revisionRow = z.object({ revision: z.bigint() });

const EVENT_COLUMNS = sql.fragment`
  position, transaction_id::text::bigint AS transaction_number, stream_name, revision, event_id,
  event_type, data, metadata, created_at`;

export interface PostgresEventStoreOptions {
  /** How often a subscription looks for events appended by other processes (default 25 ms). */
  readonly pollIntervalMs?: number;
  /** Events read per query by readAll and subscriptions (default 1,000). */
  readonly batchSize?: number;
}

/**
 * The event store in PostgreSQL (`migrations/0001_event_store.sql`): one append-only `events`
 * table, appends through the `append_to_stream` function (one round trip, per-stream lock,
 * optimistic concurrency).
 *
 * The gap problem: an event's position is taken when it is inserted, but it becomes visible when
 * its transaction commits, so position 11 can be seen before 10. Readers of the whole log
 * therefore go in (transaction id, position) order and read only the events of transactions older
 * than the oldest one still in flight (`pg_snapshot_xmin`): no event can later appear before what
 * they have read.
 */
export class PostgresEventStore implements EventStore {
  private readonly appends = new Appends();
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;

  constructor(private readonly pool: DatabasePool, options: PostgresEventStoreOptions = {}) {
    this.pollIntervalMs = options.pollIntervalMs ?? 25;
    this.batchSize = options.batchSize ?? 1000;
  }

  async appendToStream(
    streamName: string,
    events: readonly EventToAppend[],
    { expectedRevision }: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError('appendToStream needs at least one event');
    const revision = await unavailableOnConnectionLoss(() =>
      this.pool.oneFirst(sql.type(revisionRow)`
        SELECT append_to_stream(
          ${streamName}, ${categoryOf(streamName)}, ${String(expectedRevision)},
          ${sql.array(events.map((e) => e.eventId), 'uuid')},
          ${sql.array(events.map((e) => e.type), 'text')},
          ${sql.array(events.map((e) => JSON.stringify(e.data)), 'jsonb')},
          ${sql.array(events.map((e) => JSON.stringify(e.metadata)), 'jsonb')}
        ) AS revision`),
    ).catch((error: unknown) => {
      throw appendError(error, streamName, expectedRevision);
    });
    this.appends.count++;
    this.appends.emit('appended');
    return { nextExpectedRevision: revision };
  }

  async readStream(streamName: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const from = options.fromRevision;
    const rows = await unavailableOnConnectionLoss(() =>
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
    const rows = await unavailableOnConnectionLoss(() =>
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
    return new PollingSubscription(this, this.appends, this.pollIntervalMs, this.batchSize, options);
  }

  async close(): Promise<void> {
    // The pool belongs to whoever made it.
  }
}

/**
 * Reads pages of the log until it is caught up, then waits:
 * - when events are held back behind a transaction still in flight (another writer's append, a
 *   projection's batch), 1 ms, then twice as long at each read that finds them still held back,
 *   up to the poll interval: such a transaction is usually over within a millisecond or two;
 * - else for an append of this process or the poll interval (appends of other processes),
 *   whichever comes first; not at all when this process appended while the page was read.
 * A category is picked here from pages of the whole log, not by the query: PostgreSQL plans the
 * category query as a parallel scan and sort while `events` has no statistics yet (7 ms a page
 * instead of 0.5).
 */
class PollingSubscription implements Subscription {
  private closed = false;
  private readonly stop = new AbortController();

  constructor(
    private readonly store: PostgresEventStore,
    private readonly appends: Appends,
    private readonly pollIntervalMs: number,
    private readonly batchSize: number,
    private readonly options: SubscribeToAllOptions,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    const { category } = this.options;
    let after: LogPosition = this.options.after ?? START;
    let heldBackWaitMs = 0;
    while (!this.closed) {
      const appendsBefore = this.appends.count;
      const { events, heldBack } = await this.store.readPage(after, this.batchSize);
      for (const event of events) {
        if (this.closed) return;
        if (category === undefined || categoryOf(event.streamName) === category) yield event;
        after = event.logPosition;
      }
      if (events.length === this.batchSize) continue;
      heldBackWaitMs = heldBack ? Math.min(Math.max(1, heldBackWaitMs * 2), this.pollIntervalMs) : 0;
      if (heldBack) await this.pause(heldBackWaitMs, false);
      else if (this.appends.count === appendsBefore) await this.pause(this.pollIntervalMs, true);
    }
  }

  /** Waits `ms`, or less when the subscription is closed, or when this process appends if `untilAppend`. */
  private pause(ms: number, untilAppend: boolean): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      const done = () => {
        clearTimeout(timer);
        this.stop.signal.removeEventListener('abort', done);
        this.appends.off('appended', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stop.signal.addEventListener('abort', done);
      if (untilAppend) this.appends.once('appended', done);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stop.abort();
  }
}

/** The appends of this process: an `appended` event each, and how many so far. */
class Appends extends EventEmitter {
  count = 0;

  constructor() {
    super();
    this.setMaxListeners(0);
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

function appendError(error: unknown, streamName: string, expected: ExpectedRevision): unknown {
  const { code, detail } = databaseError(error);
  if (code === 'PA409') {
    const actual = BigInt(detail ?? '-1');
    return new WrongExpectedVersion(streamName, expected, actual < 0n ? 'no_stream' : actual);
  }
  if (code === 'PA422') return new DuplicateEventId(streamName);
  if (error instanceof UniqueIntegrityConstraintViolationError && error.constraint === 'events_event_id_key') {
    return new DuplicateEventId(streamName);
  }
  return error;
}

/** The SQLSTATE and detail of an error PostgreSQL raised (slonik passes some through, wraps others). */
function databaseError(error: unknown): { code?: string; detail?: string } {
  const candidate = error as { code?: unknown; detail?: string; cause?: { code?: unknown; detail?: string } };
  if (typeof candidate?.code === 'string') return { code: candidate.code, detail: candidate.detail };
  if (typeof candidate?.cause?.code === 'string') return { code: candidate.cause.code, detail: candidate.cause.detail };
  return {};
}

/** Runs a query; a lost or refused connection becomes {@link EventStoreUnavailable}. */
async function unavailableOnConnectionLoss<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (error) {
    if (isConnectionLoss(error)) {
      throw new EventStoreUnavailable(`PostgreSQL event store unreachable: ${(error as Error).message}`, { cause: error });
    }
    throw error;
  }
}
