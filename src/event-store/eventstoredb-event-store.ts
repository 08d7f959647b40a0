import {
  ANY, BACKWARDS, END, EventStoreDBClient, FORWARDS, NO_STREAM, START as ESDB_START, STREAM_EXISTS,
  CancelledError, DeadlineExceededError, NotLeaderError, StreamNotFoundError, TimeoutError, UnavailableError,
  WrongExpectedVersionError, convertToCommandError, excludeSystemEvents, jsonEvent, streamNameFilter,
} from '@eventstore/db-client';
import type {
  AllStreamResolvedEvent, AllStreamSubscription, AppendExpectedRevision, EventData, JSONType, ReadPosition,
  RecordedEvent as EsdbRecordedEvent,
} from '@eventstore/db-client';
import {
  type AppendResult, type EventStore, type EventToAppend, type ExpectedRevision, type LogPosition,
  type ReadAllOptions, type ReadStreamOptions, type RecordedEvent, type Subscription, type SubscribeToAllOptions,
  DuplicateEventId, EventStoreUnavailable, START, WrongExpectedVersion, compareLogPositions,
} from './event-store.js';

/** The client's errors that mean "the server could not be reached or gave up": worth a retry. */
const UNAVAILABLE_ERRORS = [UnavailableError, DeadlineExceededError, TimeoutError, NotLeaderError, CancelledError];

/** Events readAll returns when no maxCount is given (as the PostgreSQL adapter). */
const DEFAULT_PAGE_SIZE = 1000;

/**
 * The event store in EventStoreDB, over its gRPC client. Revisions, positions and expected
 * revisions are EventStoreDB's own; `position` is the event's prepare position (unique per event,
 * where the commit position is shared by the events of one append).
 *
 * System events (types starting with `$`, links included) never leave this adapter.
 */
export class EventStoreDbEventStore implements EventStore {
  constructor(private readonly client: EventStoreDBClient) {}

  /**
   * A store on the server of `connectionString` (e.g. `esdb://localhost:2113?tls=false`). The
   * client connects lazily: an unreachable server surfaces as {@link EventStoreUnavailable} from
   * the first call.
   */
  static connect(connectionString: string): EventStoreDbEventStore {
    return new EventStoreDbEventStore(EventStoreDBClient.connectionString(connectionString));
  }

  /**
   * @throws {WrongExpectedVersion} when the stream is not at the expected revision.
   * @throws {DuplicateEventId} when some, but not all, of the event ids are stored in the stream.
   * @throws {EventStoreUnavailable} when the server cannot be reached.
   */
  async appendToStream(
    streamName: string,
    events: readonly EventToAppend[],
    { expectedRevision }: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult> {
    if (events.length === 0) throw new RangeError('appendToStream needs at least one event');
    // Without an exact revision the server only dedupes ids it still remembers: check the stream.
    if (expectedRevision === 'any' || expectedRevision === 'stream_exists') {
      const retried = await this.earlierAppendOf(streamName, events);
      if (retried) return retried;
    }
    try {
      const result = await this.client.appendToStream(streamName, events.map(toEventData), {
        expectedRevision: toEsdbExpectedRevision(expectedRevision),
      });
      return { nextExpectedRevision: result.nextExpectedRevision };
    } catch (error) {
      const failure = asCommandError(error);
      if (!(failure instanceof WrongExpectedVersionError)) throw toPortError(failure);
      // A retry that lands after other appends is refused by the server; the port calls it a success.
      const retried = await this.earlierAppendOf(streamName, events);
      if (retried) return retried;
      throw new WrongExpectedVersion(streamName, expectedRevision, failure.actualVersion);
    }
  }

  async readStream(streamName: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    if (options.maxCount === 0) return [];
    const backwards = options.direction === 'backwards';
    const read = this.client.readStream(streamName, {
      direction: backwards ? BACKWARDS : FORWARDS,
      // The client starts at revision 0 whatever the direction: backwards starts at the end.
      fromRevision: options.fromRevision ?? (backwards ? END : ESDB_START),
      maxCount: options.maxCount,
    });
    const events: RecordedEvent[] = [];
    try {
      for await (const resolved of read) {
        if (resolved.event) events.push(toRecordedEvent(resolved.event));
      }
    } catch (error) {
      if (asCommandError(error) instanceof StreamNotFoundError) return [];
      throw toPortError(error);
    }
    return events;
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const after = options.after ?? START;
    const limit = options.maxCount ?? DEFAULT_PAGE_SIZE;
    if (limit <= 0) return [];
    // The client's readAll cannot filter, so the count is ours: read on until the page is full.
    const read = this.client.readAll({ direction: FORWARDS, fromPosition: toReadPosition(after) });
    const events: RecordedEvent[] = [];
    let full = false;
    try {
      for await (const resolved of read) {
        const event = chatEvent(resolved, options.category);
        // fromPosition is inclusive for reads: the event at `after` comes back first.
        if (!event || compareLogPositions(event.logPosition, after) <= 0) continue;
        events.push(event);
        if (events.length >= limit) {
          full = true;
          break;
        }
      }
    } catch (error) {
      throw toPortError(error);
    }
    if (full) await read.cancel();
    return events;
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): Subscription {
    const after = options.after ?? START;
    const source = this.client.subscribeToAll({
      fromPosition: toReadPosition(after),
      filter:
        options.category === undefined
          ? excludeSystemEvents()
          : streamNameFilter({ prefixes: [`${options.category}-`] }),
    });
    return new EventStoreDbSubscription(source, after, options.category);
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }

  /**
   * The result of an earlier append of these very events, or `undefined` when none of their ids
   * is in the stream.
   * @throws {DuplicateEventId} when only some of them are.
   */
  private async earlierAppendOf(streamName: string, events: readonly EventToAppend[]): Promise<AppendResult | undefined> {
    const ids = new Set(events.map((e) => e.eventId.toLowerCase()));
    const stored = new Set<string>();
    let last = -1n;
    for (const event of await this.readStream(streamName)) {
      const id = event.eventId.toLowerCase();
      if (!ids.has(id)) continue;
      stored.add(id);
      if (event.revision > last) last = event.revision;
    }
    if (stored.size === 0) return undefined;
    if (stored.size < ids.size) throw new DuplicateEventId(streamName);
    return { nextExpectedRevision: last };
  }
}

/** A catch-up subscription to `$all`, filtered by the server, ending when closed. */
class EventStoreDbSubscription implements Subscription {
  private closed = false;

  constructor(
    private readonly source: AllStreamSubscription,
    private readonly after: LogPosition,
    private readonly category: string | undefined,
  ) {}

  async *[Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    try {
      for await (const resolved of this.source) {
        if (this.closed) return;
        const event = chatEvent(resolved, this.category);
        // The server's fromPosition is exclusive for subscriptions; this guard costs nothing if so.
        if (event && compareLogPositions(event.logPosition, this.after) > 0) yield event;
      }
    } catch (error) {
      if (!this.closed) throw toPortError(error);
    } finally {
      // A consumer that stops iterating is done with the subscription: free the server's side.
      await this.close();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.source.unsubscribe();
  }
}

/** The event of a read of `$all`, unless it is a system event, a dangling link, or off-category. */
function chatEvent(resolved: AllStreamResolvedEvent, category: string | undefined): RecordedEvent | undefined {
  const event = resolved.event;
  if (!event || event.type.startsWith('$')) return undefined;
  if (category !== undefined && !event.streamId.startsWith(`${category}-`)) return undefined;
  return toRecordedEvent(event);
}

function toRecordedEvent(event: EsdbRecordedEvent): RecordedEvent {
  // Stream reads carry positions only from server 22.6 on; the port needs them.
  if (!event.position) throw new Error(`EventStoreDB sent event ${event.id} without its log position (server older than 22.6?)`);
  const { commit, prepare } = event.position;
  return {
    streamName: event.streamId,
    eventId: event.id,
    type: event.type,
    revision: event.revision,
    position: prepare,
    logPosition: { commit, prepare },
    data: event.data,
    metadata: isRecord(event.metadata) ? event.metadata : {},
    createdAt: event.created, // the client has already turned .NET ticks into a Date
  };
}

function toEventData(event: EventToAppend): EventData {
  return jsonEvent({
    id: event.eventId,
    type: event.type,
    data: event.data as JSONType,
    metadata: event.metadata,
  });
}

const ESDB_EXPECTED = { no_stream: NO_STREAM, stream_exists: STREAM_EXISTS, any: ANY } as const;

function toEsdbExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  return typeof expected === 'bigint' ? expected : ESDB_EXPECTED[expected];
}

function toReadPosition(after: LogPosition): ReadPosition {
  return after.commit < 0n ? ESDB_START : { commit: after.commit, prepare: after.prepare };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** The client's typed error for a raw gRPC failure it has not converted itself. */
function asCommandError(error: unknown): unknown {
  return error instanceof Error ? convertToCommandError(error) : error;
}

/** Connection failures become {@link EventStoreUnavailable}; anything else is passed on as is. */
function toPortError(error: unknown): unknown {
  const failure = asCommandError(error);
  if (UNAVAILABLE_ERRORS.some((type) => failure instanceof type)) {
    return new EventStoreUnavailable(`EventStoreDB unavailable: ${(failure as Error).message}`, { cause: failure });
  }
  return error;
}
