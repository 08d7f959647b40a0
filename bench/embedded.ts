import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { migrate } from '../src/database/migrations.js';
import { processTreeCpuSeconds } from './process-cpu.js';

/** A database of a benchmark's own. */
export interface BenchDatabase {
  readonly url: string;
  /** CPU seconds its server processes have used so far (see `processTreeCpuSeconds`). */
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

/** A fresh, migrated embedded PostgreSQL in a temporary folder, removed by `stop()`. */
export async function freshEmbeddedDatabase(port = 54329): Promise<BenchDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'parley-bench-'));
  await chmod(dataDir, 0o755);
  const server = await startEmbeddedPostgres({ dataDir, port });
  await migrate(server.url);
  return {
    url: server.url,
    cpuSeconds: async () => {
      const postmaster = Number((await readFile(join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
      return processTreeCpuSeconds(postmaster);
    },
    stop: async () => {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
