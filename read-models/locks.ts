import type { CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { sql } from './sql.js';

/**
 * The advisory locks of a projection, keyed by `hashtextextended('parley.projection.<purpose>:<name>', 0)`:
 *
 * - `leader`: a session lock on the runner's own connection; its holder is the one process that
 *   projects live. Released when that connection closes, so a dead holder frees it at once.
 * - `write`: a transaction lock every batch of the live projection takes first, and the
 *   rebuild's swap as well: the swap waits for the batch in flight, and the next batch waits
 *   for the swap.
 * - `rebuild`: a session lock held for a whole rebuild, so that two never build at once.
 */
export type LockPurpose = 'leader' | 'write' | 'rebuild';

const lockedRow = z.object({ locked: z.boolean() });
const waitedRow = z.object({ locked: z.literal('') });
const pidRow = z.object({ pid: z.number() });

function lockKey(purpose: LockPurpose, projection: string) {
  return sql.fragment`hashtextextended(${`parley.projection.${purpose}:${projection}`}, 0)`;
}

/**
 * How PostgreSQL watches the connection of a session lock's holder: a probe after 10 s of
 * silence, then every 5 s; 3 unanswered, or data left unacknowledged for 25 s, and it gives the
 * connection up, the lock with it. Linux's defaults (2 hours, then 9 probes 75 s apart) would
 * leave a lock held that long by a host cut off from the network, whose connection never closes.
 */
export const HOLDER_PROBES = { idleSeconds: 10, intervalSeconds: 5, count: 3, userTimeoutMs: 25_000 } as const;

/**
 * Takes a session lock if it is free; `false` when another session holds it. The connection is
 * probed from then on ({@link HOLDER_PROBES}).
 */
export async function trySessionLock(connection: CommonQueryMethods, purpose: LockPurpose, projection: string): Promise<boolean> {
  const { idleSeconds, intervalSeconds, count, userTimeoutMs } = HOLDER_PROBES;
  return connection.oneFirst(sql.type(lockedRow)`
    SELECT pg_try_advisory_lock(${lockKey(purpose, projection)}) AS locked
    FROM (SELECT
      set_config('tcp_keepalives_idle', ${String(idleSeconds)}, false),
      set_config('tcp_keepalives_interval', ${String(intervalSeconds)}, false),
      set_config('tcp_keepalives_count', ${String(count)}, false),
      set_config('tcp_user_timeout', ${String(userTimeoutMs)}, false)) AS probed`);
}

/** Waits for a transaction lock, released when the caller's transaction ends. */
export async function takeTransactionLock(connection: CommonQueryMethods, purpose: LockPurpose, projection: string): Promise<void> {
  await connection.query(sql.type(waitedRow)`
    SELECT ${transactionLock(purpose, projection)}::text AS locked`);
}

/** An SQL expression that waits for a transaction lock (see {@link takeTransactionLock}). */
export function transactionLock(purpose: LockPurpose, projection: string) {
  return sql.fragment`pg_advisory_xact_lock(${lockKey(purpose, projection)})`;
}

/** An SQL expression that takes a transaction lock if it is free: `true`, or `false` when another transaction holds it. */
export function tryTransactionLock(purpose: LockPurpose, projection: string) {
  return sql.fragment`pg_try_advisory_xact_lock(${lockKey(purpose, projection)})`;
}

/** The backend process id of the session holding a session lock of this database, or `null` when it is free. */
export async function lockHolder(connection: CommonQueryMethods, purpose: LockPurpose, projection: string): Promise<number | null> {
  return connection.maybeOneFirst(sql.type(pidRow)`
    SELECT pid FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND objsubid = 1
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND ((classid::bigint << 32) | objid::bigint) = ${lockKey(purpose, projection)}`);
}
