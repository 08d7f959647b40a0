import type { CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { compareLogPositions, type LogPosition, type RecordedEvent } from '../src/event-store/event-store.js';
import { advanceCheckpoint, checkpointMove, readCheckpoint } from './checkpoints.js';
import { announcement, notifyProjected } from './notify.js';
import { type AppliedEvents, EventNotApplicable, type Projection, type ProjectionMemory, type Tables } from './projection.js';
import { sql } from './sql.js';
import { isTransient } from './transient-errors.js';

/**
 * Applies events in order to `tables`, inside the caller's transaction: as one run, set-based
 * (`projection.apply`), under a savepoint. When the run fails, the events before the failing
 * one are applied and the failing one is named: a run that names one is cut before it; an
 * error of the database, which names none, is pinned down by halving the run.
 * @throws {EventNotApplicable} naming the first event that could not be applied, whatever the
 * cause (invalid data, a contradiction, an SQL error), unless the cause is transient. The
 * events before it are applied then, in the caller's transaction.
 */
export async function applyEvents(
  connection: CommonQueryMethods,
  projection: Projection,
  tables: Tables,
  events: readonly RecordedEvent[],
): Promise<AppliedEvents> {
  if (events.length === 0) return { projected: [], unknown: 0 };
  try {
    return await inSavepoint(connection, () => projection.apply(connection, events, tables));
  } catch (error) {
    if (isTransient(error)) throw error;
    if (error instanceof EventNotApplicable) {
      const refused = events.findIndex((event) => event.eventId === error.event.eventId);
      await applyEvents(connection, projection, tables, events.slice(0, Math.max(refused, 0)));
      throw error;
    }
    return pinDown(connection, projection, tables, events, error);
  }
}

/**
 * Runs `run` under a savepoint, released at the end, or rolled back to when `run` throws. Not
 * slonik's nested `transaction()`: that never releases its savepoint, so every batch of a long
 * transaction (a rebuild's swap) would nest one subtransaction deeper, and the commit merge
 * the pending NOTIFYs level by level (three seconds for 200,000 of them, 40 levels deep).
 */
async function inSavepoint<T>(connection: CommonQueryMethods, run: () => Promise<T>): Promise<T> {
  await connection.query(sql.typeAlias('void')`SAVEPOINT apply_events`);
  try {
    const result = await run();
    await connection.query(sql.typeAlias('void')`RELEASE SAVEPOINT apply_events`);
    return result;
  } catch (error) {
    await connection.query(sql.typeAlias('void')`ROLLBACK TO SAVEPOINT apply_events`);
    await connection.query(sql.typeAlias('void')`RELEASE SAVEPOINT apply_events`);
    throw error;
  }
}

/** After an error that names no event: one event alone is refused with it; a longer run is halved. */
async function pinDown(connection: CommonQueryMethods, projection: Projection, tables: Tables, events: readonly RecordedEvent[], error: unknown): Promise<AppliedEvents> {
  const [only] = events;
  if (events.length === 1 && only !== undefined) {
    throw new EventNotApplicable(only, error instanceof Error ? error.message : String(error), { cause: error });
  }
  const half = Math.ceil(events.length / 2);
  const first = await applyEvents(connection, projection, tables, events.slice(0, half));
  const second = await applyEvents(connection, projection, tables, events.slice(half));
  return { projected: [...first.projected, ...second.projected], unknown: first.unknown + second.unknown };
}

/**
 * The stored checkpoint is not where this runner left it: a rebuild swapped its tables in (or
 * another process projected meanwhile). The runner must resume from the stored one.
 */
export class CheckpointMoved extends Error {
  override readonly name = 'CheckpointMoved';
  constructor(readonly projection: string, readonly expected: LogPosition, readonly stored: LogPosition) {
    super(compareLogPositions(stored, expected) === 0
      ? `checkpoint of ${projection} was stored again at ${stored.commit}/${stored.prepare}`
      : `checkpoint of ${projection} is at ${stored.commit}/${stored.prepare}, not ${expected.commit}/${expected.prepare}`);
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
 *
 * A projection that can `prepare` its batches has one committed in one round trip: what the
 * batch needs is read first (nothing, for the chat's messages to sessions its `memory` holds),
 * then one statement takes the write lock if it is free, moves the checkpoint, announces and
 * writes (`commitPrepared`). Otherwise, or while a rebuild's swap holds the lock, the batch goes
 * in a few round trips: the transaction's start; the lock, the checkpoint and the announcements
 * in one statement (`advanceCheckpoint`); the projection's reads and writes; the commit. Only
 * when that fails, for a reason other than the infrastructure's, is it applied again in a new
 * transaction through `applyEvents`, which names the event it stopped at.
 * @param after where the runner believes the checkpoint stands: the batch follows it.
 * @param memory the projection's memory of the live run, told whether the batch committed.
 * @param swaps the count of rebuilds' swaps when the runner read the checkpoint (`readSwaps`):
 * a batch with a memory must not write after a swap, whose tables its memory does not know.
 * @throws {CheckpointMoved} when the stored checkpoint is not `after`, or was stored again by a
 * swap; nothing was written.
 * @throws {EventNotApplicable} for the first event that cannot be applied; nothing was written.
 */
export async function projectBatch(
  connection: CommonQueryMethods,
  projection: Projection,
  events: readonly RecordedEvent[],
  after: LogPosition,
  memory?: ProjectionMemory,
  swaps?: bigint,
): Promise<CommittedBatch> {
  const last = events.at(-1);
  if (last === undefined) throw new RangeError('projectBatch needs at least one event');
  const announced = events.filter((event) => projection.handles(event.type));
  try {
    const committed = (await commitPrepared(connection, projection, events, after, announced, memory, swaps))
      ?? await connection.transaction(async (transaction) => {
        await moveCheckpoint(transaction, projection, after, last.logPosition, announced, swaps);
        return checked(projection, announced, await projection.apply(transaction, events, projection.tables, memory), last.logPosition);
      });
    memory?.committed();
    return committed;
  } catch (error) {
    // Whatever the batch wrote is rolled back, or in doubt; and the second try writes unnoted.
    memory?.forget();
    if (isTransient(error) || error instanceof CheckpointMoved) throw error;
    return applyInTransaction(connection, projection, events, after, swaps);
  }
}

/**
 * The batch in one statement, when the projection can `prepare` it: `undefined` when it cannot,
 * or when the write lock is taken (a rebuild's swap: the caller waits for it in a transaction).
 * @throws {CheckpointMoved} when the stored checkpoint is not `after`; nothing was written.
 */
async function commitPrepared(
  connection: CommonQueryMethods,
  projection: Projection,
  events: readonly RecordedEvent[],
  after: LogPosition,
  announced: readonly RecordedEvent[],
  memory?: ProjectionMemory,
  swaps?: bigint,
): Promise<CommittedBatch | undefined> {
  if (projection.prepare === undefined) return undefined;
  const prepared = await projection.prepare(connection, events, memory);
  const to = events.at(-1)!.logPosition;
  const committed = checked(projection, announced, prepared, to);
  const moved = sql.fragment`EXISTS (SELECT FROM moved)`;
  const outcome = await connection.one(sql.type(preparedOutcomeRow)`
    WITH ${checkpointMove(projection.name, after, to, 'try', swaps)}
    SELECT (SELECT taken FROM locked) AS taken, ${moved} AS moved,
      (SELECT ${announcement(announced)} WHERE ${moved}) AS notified, ${prepared.write(moved)} AS written`);
  if (!outcome.taken) return undefined;
  if (!outcome.moved) throw new CheckpointMoved(projection.name, after, await readCheckpoint(connection, projection.name));
  return committed;
}

/** `written` is read by nobody: it is selected so that the projection's write runs. */
const preparedOutcomeRow = z.object({ taken: z.boolean(), moved: z.boolean(), notified: z.bigint().nullable(), written: z.bigint().nullable() });

/**
 * The batch as committed, once the projection is seen to project every event it handles (before
 * the commit).
 * @throws {Error} when it does not (a projection whose `handles` and `apply` disagree).
 */
function checked(projection: Projection, announced: readonly RecordedEvent[], applied: AppliedEvents, checkpoint: LogPosition): CommittedBatch {
  if (applied.projected.length !== announced.length) {
    throw new Error(`${projection.name} projected ${applied.projected.length} events of ${announced.length} it handles`);
  }
  return { projected: applied.projected, unknown: applied.unknown, checkpoint };
}

/** The batch applied through `applyEvents`, in a transaction of its own: see {@link projectBatch}. */
async function applyInTransaction(
  connection: CommonQueryMethods,
  projection: Projection,
  events: readonly RecordedEvent[],
  after: LogPosition,
  swaps?: bigint,
): Promise<CommittedBatch> {
  const last = events.at(-1)!;
  return connection.transaction(async (transaction) => {
    await moveCheckpoint(transaction, projection, after, last.logPosition, [], swaps);
    const applied = await applyEvents(transaction, projection, projection.tables, events);
    await notifyProjected(transaction, applied.projected);
    return { ...applied, checkpoint: last.logPosition };
  });
}

/**
 * Takes the write lock and moves the checkpoint from `after` to `to`, announcing `announced`
 * (`advanceCheckpoint`): the first statement of a batch's transaction.
 * @throws {CheckpointMoved} when the checkpoint does not stand at `after`; nothing was stored.
 */
async function moveCheckpoint(
  transaction: CommonQueryMethods,
  projection: Projection,
  after: LogPosition,
  to: LogPosition,
  announced: readonly RecordedEvent[],
  swaps?: bigint,
): Promise<void> {
  if (await advanceCheckpoint(transaction, projection.name, after, to, announced, swaps)) return;
  throw new CheckpointMoved(projection.name, after, await readCheckpoint(transaction, projection.name));
}
