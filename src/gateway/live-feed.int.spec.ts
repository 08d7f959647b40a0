import pg from 'pg';
import { createTestDatabase } from '../../test/database.js';
import { waitFor } from '../../test/processes.js';
import { createDatabasePool } from '../database/pool.js';
import { START } from '../event-store/event-store.js';
import { APPENDS_CHANNEL } from '../event-store/postgres-event-store.js';
import { LiveFeed } from './live-feed.js';

describe("the live feed's announcements of appends", () => {
  it('passes on those of other nodes, and once more whenever it listens again after a lost connection', async () => {
    const database = await createTestDatabase();
    const pool = await createDatabasePool(database.url);
    const other = new pg.Client({ connectionString: database.url });
    let announced = 0;
    const feed = new LiveFeed({
      databaseUrl: database.url,
      pool,
      reader: { read: async () => [] },
      log: { readAll: async () => [] },
      announcedUpTo: async () => START,
      appendsAnnounced: () => announced++,
    });
    try {
      await other.connect();
      await feed.start();
      // Whatever was announced before it listened: once, as it starts.
      expect(announced).toBe(1);
      await other.query(`NOTIFY ${APPENDS_CHANNEL}`);
      await waitFor('the announcement of another node', () => announced === 2, 10_000);

      await other.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'parley-gateway-listener'`);
      await waitFor('the connection opened again', () => announced === 3, 10_000);
      expect(feed.listening).toBe(true);
      await other.query(`NOTIFY ${APPENDS_CHANNEL}`);
      await waitFor('the announcement after the outage', () => announced === 4, 10_000);
    } finally {
      await feed.stop();
      await other.end();
      await pool.end();
      await database.drop();
    }
  });
});
