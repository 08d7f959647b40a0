import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import type { MemoryUsage } from '../read-models/projection.js';
import { freshEmbeddedDatabase, type WalFlushes } from './embedded.js';
import { stopOnInterrupt } from './interrupt.js';
import { sleep } from './stats.js';

const SECRET = 'stomp-benchmark-secret-of-at-least-32-bytes';
const SERVER = fileURLToPath(new URL('../src/main.js', import.meta.url));
const PRELOAD = fileURLToPath(new URL('./server-preload.js', import.meta.url));

/** What the server says of itself on `/metrics` (prom-client's default metrics and ours). */
export interface ServerMetrics {
  readonly rssBytes: number;
  /** The memory V8 has committed to its heap: up to several times what is alive in it. */
  readonly heapTotalBytes: number;
  readonly heapUsedBytes: number;
  /** Memory outside the V8 heap held by JS objects (socket buffers among it). */
  readonly externalBytes: number;
  /** User and system CPU time of the process since it started. */
  readonly cpuSeconds: number;
  /**
   * Event-loop delay since the previous scrape, in milliseconds (prom-client samples it with
   * `monitorEventLoopDelay` and resets the histogram at each scrape). An idle loop reads about
   * 10 ms: the sampling timer's own period is included.
   */
  readonly eventLoopP99Ms: number;
  readonly eventLoopMaxMs: number;
  /** Events of the log the chat projection has not applied yet (counted up to 10,000). */
  readonly projectionLagEvents: number;
  /**
   * Garbage collections since the process started, and their pauses of its main thread in
   * seconds: full collections (mark-sweep-compact; the marking done beside the main thread is not
   * in the pauses) and scavenges of the young generation.
   */
  readonly gc: { readonly full: number; readonly fullPauseSeconds: number; readonly scavenges: number; readonly scavengePauseSeconds: number };
  /** How full each of the server's bounded memories is, by its `memory` label (`parley_memory_*`). */
  readonly memories: ReadonlyMap<string, MemoryUsage>;
}

/** A real server process (`dist/src/main.js`) on a fresh embedded PostgreSQL. */
export interface BenchServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `ws://…/stomp` */
  readonly stompUrl: string;
  /** False once the process has exited. */
  readonly alive: boolean;
  /** A JWT the server accepts. */
  token(sub: string, role: 'customer' | 'agent', name?: string): Promise<string>;
  /** One scrape of `/metrics`; it resets the server's event-loop delay histogram. */
  metrics(): Promise<ServerMetrics>;
  /** CPU seconds the database's processes have used so far. */
  databaseCpuSeconds(): Promise<number>;
  /** The database's WAL flushes by its client connections so far. */
  databaseWalFlushes(): Promise<WalFlushes>;
  /** A full garbage collection in the server, done when this resolves. */
  collectGarbage(): Promise<void>;
  /** The chat projection's lag in events, from `/health/ready` (leaves the event-loop histogram alone). */
  projectionLag(): Promise<number>;
  /** SIGINT, then the database and the temporary folders are removed (by an interruption too). */
  stop(): Promise<void>;
}

/**
 * Starts the built server (its own process, as in production: `LOG_LEVEL=warn`, stderr passed
 * through) with a known JWT secret, and waits until `/health/ready` answers 200. Node runs it
 * as `npm start` does (`--v8-pool-size=1`), with `--expose-gc` and a preload that collects
 * garbage when asked over an IPC channel (`collectGarbage`; see `server-preload.ts`).
 *
 * The server runs in a session of its own (`detached`), as a service does, not in the load
 * generator's. With Linux's autogroup scheduling (on by default, and on these machines), the
 * cores are shared fairly between sessions first and between the processes of a session
 * after; every PostgreSQL process is a session of its own (it calls `setsid`), so in the load
 * generator's session the server would share one session's share with it. Measured in
 * `bench/NOTES.md` (2026-12-06, afternoon).
 */
export async function startBenchServer(): Promise<BenchServer> {
  const database = await freshEmbeddedDatabase(await freePort());
  const dataDir = await mkdtemp(join(tmpdir(), 'parley-bench-server-'));
  const port = await freePort();
  const env = { DATABASE_URL: database.url, PORT: String(port), JWT_SECRET: SECRET, DATA_DIR: dataDir, LOG_LEVEL: 'warn', NO_COLOR: '1' };
  const child = spawn(process.execPath, ['--v8-pool-size=1', '--expose-gc', '--import', PRELOAD, SERVER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    detached: true,
  });
  let stopping = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => {
    // With LOG_LEVEL=warn, a server stopped by a signal from elsewhere says nothing: we do.
    if (!stopping) console.error(`the server process exited during the benchmark (code ${child.exitCode}, signal ${child.signalCode})`);
  });
  const base = `http://127.0.0.1:${port}`;
  const stop = stopOnInterrupt(async () => {
    stopping = true;
    if (child.exitCode === null) child.kill('SIGINT');
    await exited;
    await rm(dataDir, { recursive: true, force: true });
    await database.stop();
  });
  try {
    await ready(base, () => child.exitCode !== null || child.signalCode !== null);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: base,
    stompUrl: `ws://127.0.0.1:${port}/stomp`,
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
    token,
    databaseCpuSeconds: () => database.cpuSeconds(),
    databaseWalFlushes: () => database.walFlushes(),
    collectGarbage: async () => {
      const collected = once(child, 'message');
      child.send('collect-garbage');
      await collected;
    },
    metrics: async () => parseMetrics(await (await fetch(`${base}/metrics`)).text()),
    projectionLag: async () => {
      const body = (await (await fetch(`${base}/health/ready`)).json()) as { projections?: { chat?: { lag?: number | null } } };
      return body.projections?.chat?.lag ?? Number.NaN;
    },
    stop,
  };
}

function token(sub: string, role: string, name?: string): Promise<string> {
  return new SignJWT({ role, ...(name === undefined ? {} : { name }) })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime('12h')
    .sign(new TextEncoder().encode(SECRET));
}

async function ready(base: string, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (exited()) throw new Error('the server exited while starting (its messages are above)');
    const response = await fetch(`${base}/health/ready`).catch(() => undefined);
    if (response?.status === 200) return;
    await sleep(100);
  }
  throw new Error('the server was not ready within 60 s');
}

function parseMetrics(text: string): ServerMetrics {
  const metric = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  // prom-client lists a kind of collection once one has happened.
  const gcMetric = (part: 'count' | 'sum', kind: 'major' | 'minor') =>
    Number(new RegExp(`^nodejs_gc_duration_seconds_${part}\\{kind="${kind}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return {
    rssBytes: metric('process_resident_memory_bytes'),
    heapTotalBytes: metric('nodejs_heap_size_total_bytes'),
    heapUsedBytes: metric('nodejs_heap_size_used_bytes'),
    externalBytes: metric('nodejs_external_memory_bytes'),
    cpuSeconds: metric('process_cpu_seconds_total'),
    eventLoopP99Ms: metric('nodejs_eventloop_lag_p99_seconds') * 1000,
    eventLoopMaxMs: metric('nodejs_eventloop_lag_max_seconds') * 1000,
    projectionLagEvents: metric('parley_projection_lag_events'),
    gc: {
      full: gcMetric('count', 'major'),
      fullPauseSeconds: gcMetric('sum', 'major'),
      scavenges: gcMetric('count', 'minor'),
      scavengePauseSeconds: gcMetric('sum', 'minor'),
    },
    memories: memoryMetrics(text),
  };
}

/** `parley_memory_entries` and `parley_memory_capacity`, by their `memory` label. */
function memoryMetrics(text: string): Map<string, MemoryUsage> {
  const memories = new Map<string, { entries: number; capacity: number }>();
  for (const [, figure, name, value] of text.matchAll(/^parley_memory_(entries|capacity)\{memory="([^"]+)"\} (\S+)$/gm)) {
    const usage = memories.get(name!) ?? { entries: Number.NaN, capacity: Number.NaN };
    usage[figure as keyof MemoryUsage] = Number(value);
    memories.set(name!, usage);
  }
  return memories;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
