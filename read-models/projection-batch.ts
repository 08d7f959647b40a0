import type { CommonQueryMethods } from 'slonik';
import { type LogPosition, type RecordedEvent, compareLogPositions } from '../src/event-store/event-store.js';
import { readCheckpoint, writeCheckpoint } from './checkpoints.js';
import { takeTransactionLock } from './locks.js';
import { notifyProjected } from './notify.js';
import { EventNotApplicable, type Projection, type Tables } from './projection.js';
import { isTransient } from './transient-errors.js';

/** What applying a run of events did. */
export interface AppliedEvents {
  /** The events projected, in order (replays included: they are projected, as a no-op). */
  readonly projected: readonly RecordedEvent[];
  /** How many were of a type the projection does not know, and skipped. */
  readonly unknown: number;
}

/**
 * Applies events in order to `tables`, inside the caller's transaction.
 * @throws {EventNotApplicable} naming the first event that could not be applied, whatever the
 * cause (invalid data, a contradiction, an SQL error), unless the cause is transient.
 */
export async function applyEvents(
  connection: CommonQueryMethods,
  projection: Projection,
  tables: Tables,
  events: readonly RecordedEvent[],
): Promise<AppliedEvents> {
  const projected: RecordedEvent[] = [];
  let unknown = 0;
  for (const event of events) {
    if ((await applyEvent(connection, projection, tables, event)) === 'projected') projected.push(event);
    else unknown++;
  }
  return { projected, unknown };
}

async function applyEvent(connection: CommonQueryMethods, projection: Projection, tables: Tables, event: RecordedEvent) {
  try {
    return await projection.project(connection, event, tables);
  } catch (error) {
    if (error instanceof EventNotApplicable || isTransient(error)) throw error;
    throw new EventNotApplicable(event, error instanceof Error ? error.message : String(error), { cause: error });
  }
}

/**
 * The stored checkpoint is not where this runner left it: a rebuild swapped its tables in (or
 * another process projected meanwhile). The runner must resume from the stored one.
 */
export class CheckpointMoved extends Error {
  override readonly name = 'CheckpointMoved';
  constructor(readonly projection: string, readonly expected: LogPosition, readonly stored: LogPosition) {
    super(`checkpoint of ${projection} is at ${stored.commit}/${stored.prepare}, not ${expected.commit}/${expected.prepare}`);
  }
}

/** A committed batch: what it applied, and the checkpoint now stored. */
export interface CommittedBatch extends AppliedEvents {
  readonly checkpoint: LogPosition;
}

/**
 * Projects one batch of the live projection in ONE transaction: the projection's write lock,
 * the rows, the checkpoint (the batch's last event, skipped ones included) and a NOTIFY per
 * projected event. Nothing of it is stored, or announced, unless all of it is.
 * @param after where the runner believes the checkpoint stands: the batch follows it.
 * @throws {CheckpointMoved} when the stored checkpoint is not `after`; nothing was written.
 * @throws {EventNotApplicable} for the first event that cannot be applied; nothing was written.
 */
export async function projectBatch(
  connection: CommonQueryMethods,
  projection: Projection,
  events: readonly RecordedEvent[],
  after: LogPosition,
): Promise<CommittedBatch> {
  const last = events.at(-1);
  if (last === undefined) throw new RangeError('projectBatch needs at least one event');
  return connection.transaction(async (transaction) => {
    await takeTransactionLock(transaction, 'write', projection.name);
    const stored = await readCheckpoint(transaction, projection.name);
    if (compareLogPositions(stored, after) !== 0) throw new CheckpointMoved(projection.name, after, stored);
    const applied = await applyEvents(transaction, projection, projection.tables, events);
    await writeCheckpoint(transaction, projection.name, last.logPosition);
    await notifyProjected(transaction, applied.projected);
    return { ...applied, checkpoint: last.logPosition };
  });
}
