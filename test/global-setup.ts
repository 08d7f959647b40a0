import { mkdtemp, chmod } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { migrate } from '../src/database/migrations.js';
import { TEMPLATE_DATABASE, withDatabase } from './database.js';

/**
 * One embedded PostgreSQL for the whole run, in a temporary folder, and a template database
 * with every migration applied: each test file clones it (see `test/database.ts`).
 */
export default async function globalSetup(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'parley-test-'));
  await chmod(dataDir, 0o755); // the cluster runs as the postgres user when we are root
  const server = await startEmbeddedPostgres({ dataDir, port: await freePort() });
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  await admin.end();
  await migrate(withDatabase(server.url, TEMPLATE_DATABASE));
  process.env.PARLEY_TEST_POSTGRES_URL = server.url;
  process.env.PARLEY_TEST_DATA_DIR = dataDir;
  (globalThis as { parleyTestPostgres?: typeof server }).parleyTestPostgres = server;
}

/** A port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
