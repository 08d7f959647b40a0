import type { CommonQueryMethods, FragmentSqlToken } from 'slonik';
import type { LogPosition, RecordedEvent } from '../src/event-store/event-store.js';

/**
 * The tables a projection writes, by role (`{ sessions: 'chat_sessions', … }`). Projectors take
 * them as a parameter: a rebuild writes the same rows into fresh tables beside the live ones.
 */
export type Tables<Role extends string = string> = Readonly<Record<Role, string>>;

/** What applying a run of events did. */
export interface AppliedEvents {
  /** The events projected, in order (replays included: they are projected, as a no-op). */
  readonly projected: readonly RecordedEvent[];
  /** How many were of a type the projection does not know, and skipped. */
  readonly unknown: number;
}

/**
 * A read model fed by the events of one category of streams, in log order, from a checkpoint
 * stored under its `name`. Run live by `ProjectionRunner`, rebuilt by `rebuildProjection`.
 */
export interface Projection<Role extends string = string> {
  /** Names its checkpoint and its locks. */
  readonly name: string;
  /** The category of the streams it consumes. */
  readonly category: string;
  /** The live tables. */
  readonly tables: Tables<Role>;
  /** Whether it applies events of `type`; it skips the others (events of a newer version of the app). */
  handles(type: string): boolean;
  /**
   * Applies a run of events, in log order, to `tables`, inside the caller's transaction: as a
   * whole, with a few set-based statements. Idempotent: an event applied already changes
   * nothing. Use it through `applyEvents`, which names the event that a failed run stopped at.
   * On a throw, what it wrote is to be rolled back (`applyEvents` runs it under a savepoint).
   * @throws {EventNotApplicable} naming an event that cannot be applied after the ones before
   * it (these may be inapplicable too).
   * @throws any error of the database (a value it cannot store, say), which names no event.
   */
  apply(connection: CommonQueryMethods, events: readonly RecordedEvent[], tables: Tables<Role>, memory?: ProjectionMemory): Promise<AppliedEvents>;
  /**
   * Gets a batch of the live run ready to be written to the live tables in one statement with
   * its checkpoint (`projectBatch`): reads what the batch needs, now, outside any transaction,
   * and works out the rows. Reading before the write lock is taken is sound: only the live run
   * writes the live tables, and a rebuild that swaps fresh ones in moves the checkpoint, which
   * the statement checks before it writes anything. Notes in `memory` what the batch writes.
   * @throws {EventNotApplicable} as `apply` does.
   */
  prepare?(connection: CommonQueryMethods, events: readonly RecordedEvent[], memory?: ProjectionMemory): Promise<PreparedBatch>;
  /** A new memory for one live run over the live tables (see {@link ProjectionMemory}), if it keeps one. */
  remember?(): ProjectionMemory;
}

/** A batch whose rows are worked out (see {@link Projection.prepare}). */
export interface PreparedBatch extends AppliedEvents {
  /**
   * An SQL expression, of one statement, that writes the rows when `guard`, an SQL condition,
   * holds, and nothing otherwise. A row that cannot be stored (its place is taken) fails the
   * statement, which then writes nothing at all.
   */
  write(guard: FragmentSqlToken): FragmentSqlToken;
}

/**
 * What a projection keeps between the batches of one live run so as to read less: the rows it
 * wrote, which nobody else writes while it leads. `apply` reads it and notes what its batch
 * writes; the runner then calls `committed` once the batch's transaction has committed, or
 * `forget` when it has not, or may not have. A run that resumes elsewhere (a rebuild swapped
 * the tables in) starts with a new memory.
 */
export interface ProjectionMemory {
  committed(): void;
  forget(): void;
  /** How full it is, for `/metrics`. */
  usage(): MemoryUsage;
}

/** What one of the server's bounded memories holds, against what it may hold, in entries of its own kind. */
export interface MemoryUsage {
  readonly entries: number;
  readonly capacity: number;
}

/** The identity and place in the log of an event that a projection refused. */
export interface RefusedEvent {
  readonly eventId: string;
  readonly type: string;
  readonly streamName: string;
  readonly revision: bigint;
  readonly position: bigint;
  readonly logPosition: LogPosition;
}

/**
 * A known event that a projection cannot apply: its data fails validation, it contradicts the
 * rows (a session never opened), or the database refused the change. The projection stops at
 * it rather than skip it: a read model that silently lost an event would be wrong forever.
 */
export class EventNotApplicable extends Error {
  override readonly name = 'EventNotApplicable';
  readonly event: RefusedEvent;

  constructor(event: RecordedEvent, readonly reason: string, options?: { cause?: unknown }) {
    super(`event ${event.eventId} (${event.type}, ${event.streamName}@${event.revision}, position ${event.position}) cannot be applied: ${reason}`, options);
    const { eventId, type, streamName, revision, position, logPosition } = event;
    this.event = { eventId, type, streamName, revision, position, logPosition };
  }
}
