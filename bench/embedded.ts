import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { migrate } from '../src/database/migrations.js';
import { stopOnInterrupt } from './interrupt.js';
import { processTreeCpuSeconds } from './process-cpu.js';

/** A database of a benchmark's own. */
export interface BenchDatabase {
  readonly url: string;
  /** CPU seconds its server processes have used so far (see `processTreeCpuSeconds`). */
  cpuSeconds(): Promise<number>;
  /** The WAL flushes its client connections have made so far (see {@link WalFlushes}). */
  walFlushes(): Promise<WalFlushes>;
  stop(): Promise<void>;
}

/**
 * The `fdatasync` calls on the WAL made by client connections, and the time spent in them: each
 * is a commit (or a group of them) that waits for its flush, as the appends' do before a RECEIPT.
 * PostgreSQL's own statistics (`pg_stat_io`), which each connection reports when it goes idle, at
 * most once a second: a window's figures are off by up to a second's worth at either end.
 */
export interface WalFlushes {
  readonly count: number;
  readonly ms: number;
}

/**
 * A fresh, migrated embedded PostgreSQL in a temporary folder, removed by `stop()`, or by an
 * interruption of the benchmark (`interrupt.ts`), even one while it starts. It times its WAL I/O
 * (`track_wal_io_timing`), for {@link BenchDatabase.walFlushes}.
 */
export async function freshEmbeddedDatabase(port = 54329): Promise<BenchDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), 'parley-bench-'));
  await chmod(dataDir, 0o755);
  const starting = startEmbeddedPostgres({ dataDir, port });
  let statistics: pg.Client | undefined;
  const stop = stopOnInterrupt(async () => {
    await statistics?.end();
    await (await starting.catch(() => undefined))?.stop({ force: true }); // a throwaway cluster
    await rm(dataDir, { recursive: true, force: true });
  });
  try {
    const server = await starting;
    await migrate(server.url);
    const connection = new pg.Client({ connectionString: server.url });
    await connection.connect();
    statistics = connection;
    await connection.query('ALTER SYSTEM SET track_wal_io_timing = on');
    await connection.query('SELECT pg_reload_conf()');
    return {
      url: server.url,
      cpuSeconds: async () => {
        const postmaster = Number((await readFile(join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
        return processTreeCpuSeconds(postmaster);
      },
      walFlushes: async () => {
        const { rows } = await connection.query<{ count: string; ms: number }>(
          `SELECT coalesce(sum(fsyncs), 0) AS count, coalesce(sum(fsync_time), 0) AS ms
             FROM pg_stat_io WHERE object = 'wal' AND backend_type = 'client backend'`,
        );
        return { count: Number(rows[0]!.count), ms: rows[0]!.ms };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
