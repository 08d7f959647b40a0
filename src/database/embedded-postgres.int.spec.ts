import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { testServerUrl } from '../../test/database.js';
import { freePort } from '../../test/global-setup.js';
import { postgresProcessesUnder, postgresReachableFolder } from '../../test/processes.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';

describe('the embedded PostgreSQL', () => {
  // The test run's server is started by startEmbeddedPostgres (test/global-setup.ts).
  const setting = async (name: string): Promise<string | undefined> => {
    const client = new pg.Client({ connectionString: testServerUrl() });
    await client.connect();
    try {
      const { rows } = await client.query<Record<string, string>>(`SHOW ${name}`);
      return rows[0]?.[name];
    } finally {
      await client.end();
    }
  };

  it('creates new WAL segments without filling them with zeros first, which commits would wait for', async () => {
    expect(await setting('wal_init_zero')).toBe('off');
  });

  it('has autovacuum visit every 10 s, so that its first visit after a checkpoint writes little WAL', async () => {
    expect(await setting('autovacuum_naptime')).toBe('10s');
    // Why that visit writes pages whole: marking a page all-visible, in a cluster with data
    // checksums, writes the whole page into the WAL when it is the page's first change since the
    // last checkpoint.
    expect(await setting('data_checksums')).toBe('on');
  });

  it('takes a stop of a server stopped already (by hand, or by another process) as done, forgetting its owner', async () => {
    const dataDir = await postgresReachableFolder('parley-embedded-');
    try {
      const server = await startEmbeddedPostgres({ dataDir, port: await freePort() });
      await server.stop({ force: true });
      expect(await postgresProcessesUnder(dataDir)).toEqual([]);
      await expect(server.stop()).resolves.toBeUndefined();
      await expect(access(join(dataDir, 'owner.pid'))).rejects.toThrow();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
