import { rm } from 'node:fs/promises';
import type { EmbeddedPostgres } from '../src/database/embedded-postgres.js';

export default async function globalTeardown(): Promise<void> {
  const server = (globalThis as { parleyTestPostgres?: EmbeddedPostgres }).parleyTestPostgres;
  await server?.stop();
  const dataDir = process.env.PARLEY_TEST_DATA_DIR;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}
