import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { createDatabasePool } from '../src/database/pool.js';
import { createTestDatabase } from '../test/database.js';
import { lockHolder, trySessionLock } from './locks.js';

/**
 * A session lock's holder whose host is cut off from the network never closes its connection:
 * only PostgreSQL's probes of that connection can free the lock. Cutting a host off takes more
 * than a test may do (firewall rules); these tests check the probes are set where it counts.
 */
describe('a session lock', () => {
  let drop: () => Promise<void>;
  let pool: DatabasePool;

  beforeEach(async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    pool = await createDatabasePool(database.url, { maximumPoolSize: 2 });
  });
  afterEach(async () => {
    await pool.end();
    await drop();
  });

  const probes = z.object({ idle: z.string(), interval: z.string(), count: z.string(), unacknowledged: z.string() });
  const probesOf = (connection: Parameters<Parameters<DatabasePool['connect']>[0]>[0]) =>
    connection.one(sql.type(probes)`
      SELECT current_setting('tcp_keepalives_idle') AS idle, current_setting('tcp_keepalives_interval') AS interval,
        current_setting('tcp_keepalives_count') AS count, current_setting('tcp_user_timeout') AS unacknowledged`);

  it("has PostgreSQL probe its holder's connection: after 10 s of silence, every 5 s, given up after 3 missed or 25 s unacknowledged", async () => {
    await pool.connect(async (holder) => {
      const probed = { idle: '10', interval: '5', count: '3', unacknowledged: '25000' };
      expect(await probesOf(holder)).not.toEqual(probed); // the system's defaults: Linux's are 2 hours, 75 s, 9
      expect(await trySessionLock(holder, 'leader', 'chat')).toBe(true);
      expect(await probesOf(holder)).toEqual(probed);
    });
  });

  it('is taken by one session at a time', async () => {
    await pool.connect(async (holder) => {
      expect(await trySessionLock(holder, 'leader', 'chat')).toBe(true);
      const holderPid = await holder.oneFirst(sql.type(z.object({ pid: z.number() }))`SELECT pg_backend_pid() AS pid`);
      await pool.connect(async (other) => expect(await trySessionLock(other, 'leader', 'chat')).toBe(false));
      expect(await lockHolder(pool, 'leader', 'chat')).toBe(holderPid);
    });
  });
});
