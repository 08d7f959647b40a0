import type { CommonQueryMethods, FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import { type LogPosition, type RecordedEvent, START, compareLogPositions } from '../src/event-store/event-store.js';
import { transactionLock, tryTransactionLock } from './locks.js';
import { announcement } from './notify.js';
import { sql } from './sql.js';

const checkpointRow = z.object({ commit_position: z.bigint(), prepare_position: z.bigint() });
const swapsRow = z.object({ swaps: z.bigint() });
const movedRow = z.object({ moved: z.boolean(), notified: z.bigint() });

/** Where the projection resumes: its stored position, or {@link START} when it never ran. */
export async function readCheckpoint(connection: CommonQueryMethods, projection: string): Promise<LogPosition> {
  const row = await connection.maybeOne(sql.type(checkpointRow)`
    SELECT commit_position, prepare_position FROM projection_checkpoints WHERE projection_name = ${projection}`);
  return row === null ? START : { commit: row.commit_position, prepare: row.prepare_position };
}

/**
 * How many times a rebuild swapped its tables in under the projection (`writeCheckpoint`): the
 * live projection's memory of its rows holds only while this count stays what it was.
 */
export async function readSwaps(connection: CommonQueryMethods, projection: string): Promise<bigint> {
  const row = await connection.maybeOne(sql.type(swapsRow)`SELECT swaps FROM projection_checkpoints WHERE projection_name = ${projection}`);
  return row?.swaps ?? 0n;
}

/**
 * Stores the projection's position, wherever it stood, as a rebuild's swap does, and counts the
 * swap (see {@link readSwaps}); see also {@link advanceCheckpoint}.
 */
export async function writeCheckpoint(connection: CommonQueryMethods, projection: string, position: LogPosition): Promise<void> {
  await connection.query(sql.typeAlias('void')`
    INSERT INTO projection_checkpoints (projection_name, commit_position, prepare_position, updated_at, swaps)
    VALUES (${projection}, ${position.commit}, ${position.prepare}, now(), 1)
    ON CONFLICT (projection_name) DO UPDATE
      SET commit_position = EXCLUDED.commit_position, prepare_position = EXCLUDED.prepare_position, updated_at = now(),
        swaps = projection_checkpoints.swaps + 1`);
}

/**
 * Moves the projection's checkpoint from `from` to `to` and announces `announced`, in one
 * statement that first takes the projection's write lock (`locks.ts`): the first statement of a
 * live batch's transaction. `false` when the checkpoint does not stand at `from`, or `swaps`
 * (when given) is not the stored count of swaps (a rebuild swapped its tables in, or another
 * process projected): nothing is stored then, and the caller must roll back, which withdraws the
 * announcements too.
 *
 * The lock comes before any read of the projection's tables, as a rebuild's swap needs (it
 * holds the lock, then renames them). The statement's snapshot is older than the lock when it
 * had to wait, but that does no harm: PostgreSQL compares the checkpoint row as it stands when
 * it updates it, and an insert meets the row that another transaction inserted meanwhile.
 */
export async function advanceCheckpoint(
  connection: CommonQueryMethods,
  projection: string,
  from: LogPosition,
  to: LogPosition,
  announced: readonly RecordedEvent[],
  swaps?: bigint,
): Promise<boolean> {
  const { moved } = await connection.one(sql.type(movedRow)`
    WITH ${checkpointMove(projection, from, to, 'wait', swaps)}
    SELECT EXISTS (SELECT FROM moved) AS moved, ${announcement(announced)} AS notified`);
  return moved;
}

/**
 * The parts of a statement (`locked AS (…), moved AS (…)`) that take the projection's write
 * lock and, holding it, move the checkpoint from `from` to `to` (if `swaps`, when given, is the
 * stored count of swaps): `moved` has a row when it moved. `wait` waits for the lock; `try` takes
 * it only if it is free (`locked.taken`).
 */
export function checkpointMove(projection: string, from: LogPosition, to: LogPosition, lock: 'wait' | 'try', swaps?: bigint) {
  const taken = lock === 'wait' ? sql.fragment`${transactionLock('write', projection)} IS NOT NULL` : tryTransactionLock('write', projection);
  const unswapped = (column: FragmentSqlToken) => (swaps === undefined ? sql.fragment`` : sql.fragment`AND ${column} = ${swaps}`);
  // From START: no row yet, or one standing at START (stored by a rebuild of an empty log).
  const move = compareLogPositions(from, START) === 0
    ? sql.fragment`
      INSERT INTO projection_checkpoints AS stored (projection_name, commit_position, prepare_position, updated_at)
      SELECT ${projection}, ${to.commit}, ${to.prepare}, now() FROM locked WHERE locked.taken
      ON CONFLICT (projection_name) DO UPDATE
        SET commit_position = EXCLUDED.commit_position, prepare_position = EXCLUDED.prepare_position, updated_at = now()
        WHERE stored.commit_position = ${START.commit} AND stored.prepare_position = ${START.prepare} ${unswapped(sql.fragment`stored.swaps`)}
      RETURNING 1`
    : sql.fragment`
      UPDATE projection_checkpoints SET commit_position = ${to.commit}, prepare_position = ${to.prepare}, updated_at = now()
      FROM locked
      WHERE locked.taken AND projection_name = ${projection} AND commit_position = ${from.commit} AND prepare_position = ${from.prepare}
        ${unswapped(sql.fragment`swaps`)}
      RETURNING 1`;
  return sql.fragment`locked AS MATERIALIZED (SELECT ${taken} AS taken), moved AS (${move})`;
}
