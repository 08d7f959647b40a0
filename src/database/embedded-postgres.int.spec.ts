import pg from 'pg';
import { testServerUrl } from '../../test/database.js';

describe('the embedded PostgreSQL', () => {
  // The test run's server is started by startEmbeddedPostgres (test/global-setup.ts).
  it('creates new WAL segments without filling them with zeros first, which commits would wait for', async () => {
    const client = new pg.Client({ connectionString: testServerUrl() });
    await client.connect();
    try {
      const { rows } = await client.query<{ wal_init_zero: string }>('SHOW wal_init_zero');
      expect(rows[0]?.wal_init_zero).toBe('off');
    } finally {
      await client.end();
    }
  });
});
