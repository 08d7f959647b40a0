import { setTimeout as sleep } from 'node:timers/promises';
import { jest } from '@jest/globals';
import { sql } from 'slonik';
import { createTestDatabase } from '../../test/database.js';
import { startTcpProxy } from '../../test/tcp-proxy.js';
import { createDatabasePool } from './pool.js';

describe('the database pool', () => {
  it('keeps serving after more connections died mid-query than it can hold', async () => {
    const database = await createTestDatabase({ migrated: false });
    const direct = await createDatabasePool(database.url, { maximumPoolSize: 1 });
    const proxy = await startTcpProxy(Number(new URL(database.url).port));
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    const pool = await createDatabasePool(viaProxy.toString(), { maximumPoolSize: 2 });
    const sleepers = () =>
      direct.oneFirst(sql.unsafe`SELECT count(*)::int FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'`);

    for (let loss = 1; loss <= 4; loss++) {
      const outcome = pool.query(sql.unsafe`SELECT pg_sleep(30)`).then(() => 'completed', (error: Error) => error.message);
      while ((await sleepers()) === 0) await sleep(10);
      await proxy.cut();
      expect(await outcome).toMatch(/terminated/i);
      await proxy.restore();
      expect(await pool.oneFirst(sql.unsafe`SELECT ${loss}::int AS loss`)).toBe(loss);
    }

    await pool.end();
    await direct.end();
    await proxy.close();
    await database.drop();
  });

  it('keeps an idle connection for a minute, so that a burst after a lull finds it open', async () => {
    const database = await createTestDatabase({ migrated: false });
    const pool = await createDatabasePool(database.url, { maximumPoolSize: 1 });
    const backend = () => pool.oneFirst(sql.unsafe`SELECT pg_backend_pid() AS pid`);
    // Only the timers: the connections' sockets and promises run as they do.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'hrtime', 'performance', 'Date'] });
    try {
      const first = await backend();
      await jest.advanceTimersByTimeAsync(59_000);
      expect(await backend()).toBe(first);
      await jest.advanceTimersByTimeAsync(60_000);
      expect(await backend()).not.toBe(first);
    } finally {
      jest.useRealTimers();
      await pool.end();
      await database.drop();
    }
  });
});
