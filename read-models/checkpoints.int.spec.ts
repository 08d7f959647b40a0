import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { createDatabasePool } from '../src/database/pool.js';
import { type LogPosition, START } from '../src/event-store/event-store.js';
import { createTestDatabase } from '../test/database.js';
import { advanceCheckpoint, readCheckpoint, writeCheckpoint } from './checkpoints.js';
import { takeTransactionLock } from './locks.js';
import { eventually } from './testing/fixtures.js';

/** Moving a checkpoint as a live batch does, against a rebuild's swap that moves it meanwhile. */
describe('advancing a checkpoint', () => {
  let drop: () => Promise<void>;
  let pool: DatabasePool;
  const position = (n: bigint): LogPosition => ({ commit: n, prepare: n });

  beforeEach(async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    pool = await createDatabasePool(database.url);
  });
  afterEach(async () => {
    await pool.end();
    await drop();
  });

  /** Runs `advanceCheckpoint` in a transaction, rolled back when the checkpoint had moved. */
  const advance = (from: LogPosition, to: LogPosition) =>
    pool.transaction(async (transaction) => {
      const moved = await advanceCheckpoint(transaction, 'chat', from, to, []);
      if (!moved) throw new NotMoved();
      return moved;
    }).catch((error: unknown) => {
      if (error instanceof NotMoved) return false;
      throw error;
    });
  const stored = () => readCheckpoint(pool, 'chat');
  const waitingForTheWriteLock = () =>
    eventually(
      () => pool.oneFirst(sql.type(z.object({ waiting: z.number() }))`
        SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`),
      (waiting) => waiting === 1,
      { what: 'a statement waiting for the write lock' },
    );

  it('moves it from where it stands, from the start or from a position', async () => {
    expect(await advance(START, position(5n))).toBe(true);
    expect(await advance(position(5n), position(9n))).toBe(true);
    expect(await stored()).toEqual(position(9n));
  });

  it('moves it from the start when a rebuild of an empty log stored it there', async () => {
    await writeCheckpoint(pool, 'chat', START);
    expect(await advance(START, position(5n))).toBe(true);
    expect(await stored()).toEqual(position(5n));
  });

  it('refuses to move it from anywhere else, and stores nothing', async () => {
    await writeCheckpoint(pool, 'chat', position(5n));
    expect(await advance(position(4n), position(9n))).toBe(false);
    expect(await advance(START, position(9n))).toBe(false);
    expect(await stored()).toEqual(position(5n));
  });

  /**
   * Advances from `from` while a swap holds the write lock, and lets the swap store position 7
   * and commit once the advance waits for the lock; what the advance returned.
   */
  const advanceDuringSwap = async (from: LogPosition): Promise<boolean> => {
    let finishSwap: (() => void) | undefined;
    const swap = pool.transaction(async (transaction) => {
      await takeTransactionLock(transaction, 'write', 'chat');
      await new Promise<void>((resolve) => (finishSwap = resolve));
      await writeCheckpoint(transaction, 'chat', position(7n));
    });
    await eventually(() => finishSwap, (finish) => finish !== undefined, { what: 'the swap holding the lock' });
    const batch = advance(from, position(9n));
    await waitingForTheWriteLock();
    finishSwap!();
    await swap;
    return batch;
  };

  it('sees a move committed while it waited for the write lock, though its snapshot is older', async () => {
    await writeCheckpoint(pool, 'chat', position(5n));
    expect(await advanceDuringSwap(position(5n))).toBe(false);
    expect(await stored()).toEqual(position(7n));
  });

  it('sees a first checkpoint inserted while it waited for the write lock', async () => {
    expect(await advanceDuringSwap(START)).toBe(false);
    expect(await stored()).toEqual(position(7n));
  });
});

class NotMoved extends Error {}
