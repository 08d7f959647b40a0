import { setTimeout as sleep } from 'node:timers/promises';
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
});
