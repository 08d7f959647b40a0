/**
 * The event store port: what the write side and the projectors need of an append-only log of
 * streams. Two adapters implement it (PostgreSQL and EventStoreDB) and both pass
 * `event-store.contract.ts`.
 *
 * Revisions are 0-based per stream, as in EventStoreDB. Every event also has a place in the
 * whole log: `position` is a number unique to the event and shown to clients; `logPosition` is
 * the cursor a reader of the whole log resumes from (see {@link LogPosition}).
 */

/** The revision a stream must be at for an append to succeed. */
export type ExpectedRevision = 'no_stream' | 'stream_exists' | 'any' | bigint;

/**
 * A cursor into the whole log, ordered by `commit` then `prepare`.
 *
 * EventStoreDB: its own commit and prepare positions. PostgreSQL: the appending transaction's id
 * (`commit`) and the event's global position (`prepare`); reading in that order, and only below
 * the oldest transaction still in flight, is what keeps a reader from skipping an event that
 * commits late.
 */
export interface LogPosition {
  readonly commit: bigint;
  readonly prepare: bigint;
}

/** The position before the first event of any log. */
export const START: LogPosition = { commit: -1n, prepare: -1n };

export interface EventToAppend {
  readonly eventId: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface RecordedEvent {
  readonly streamName: string;
  readonly eventId: string;
  readonly type: string;
  readonly revision: bigint;
  readonly position: bigint;
  readonly logPosition: LogPosition;
  readonly data: unknown;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly createdAt: Date;
}

export interface AppendResult {
  /** The stream's revision after the append: pass it as the next append's expected revision. */
  readonly nextExpectedRevision: bigint;
}

export interface ReadStreamOptions {
  readonly direction?: 'forwards' | 'backwards';
  /** Inclusive; defaults to the first revision (forwards) or the last (backwards). */
  readonly fromRevision?: bigint;
  readonly maxCount?: number;
}

export interface ReadAllOptions {
  /** Exclusive: events after this position. Defaults to {@link START}. */
  readonly after?: LogPosition;
  /** The page size; 1,000 when not given. */
  readonly maxCount?: number;
  /** Only streams of this category (the part of the stream name before the first dash). */
  readonly category?: string;
}

export interface SubscribeToAllOptions {
  readonly after?: LogPosition;
  readonly category?: string;
}

/**
 * A live, ordered feed of the whole log. Iterate it with `for await`; `close()` ends the
 * iteration. An error of the store ends it by throwing from the iterator.
 */
export interface Subscription extends AsyncIterable<RecordedEvent> {
  close(): Promise<void>;
}

export interface EventStore {
  /**
   * Appends events to one stream atomically. Appending again events whose ids are all stored
   * already in the stream is a success that writes nothing (a retried append).
   * @throws {WrongExpectedVersion} when the stream is not at the expected revision.
   * @throws {DuplicateEventId} when some, but not all, of the event ids are already stored.
   */
  appendToStream(
    streamName: string,
    events: readonly EventToAppend[],
    options: { expectedRevision: ExpectedRevision },
  ): Promise<AppendResult>;

  /** The stream's events in revision order; empty when the stream does not exist. */
  readStream(streamName: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;

  /** One page of the whole log, in log order. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;

  /** Every event after `after`, in log order, then new ones as they are committed. */
  subscribeToAll(options?: SubscribeToAllOptions): Subscription;

  /** Releases connections the adapter opened itself. */
  close(): Promise<void>;
}

export function compareLogPositions(a: LogPosition, b: LogPosition): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** The category of a stream: the part of its name before the first dash. */
export function categoryOf(streamName: string): string {
  const dash = streamName.indexOf('-');
  return dash === -1 ? streamName : streamName.slice(0, dash);
}

/** The stream was not at the revision the append expected. */
export class WrongExpectedVersion extends Error {
  override readonly name = 'WrongExpectedVersion';
  constructor(
    readonly streamName: string,
    readonly expected: ExpectedRevision,
    /** The stream's revision, or `'no_stream'`. */
    readonly actual: bigint | 'no_stream',
  ) {
    super(`stream ${streamName} expected at ${String(expected)}, is at ${String(actual)}`);
  }
}

/** Some of an append's event ids are stored already, but not all of them in this stream. */
export class DuplicateEventId extends Error {
  override readonly name = 'DuplicateEventId';
  constructor(readonly streamName: string) {
    super(`append to ${streamName} repeats some stored event ids but not all`);
  }
}

/** The store could not be reached or failed: the append may be retried. */
export class EventStoreUnavailable extends Error {
  override readonly name = 'EventStoreUnavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The Nest injection token of the configured {@link EventStore}. */
export const EVENT_STORE = Symbol('EventStore');
