import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';

/** The project's root, whose `dist/` holds the compiled server and command line. */
export const ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../..' : '..', import.meta.url));
export const SERVER = join(ROOT, 'dist', 'src', 'main.js');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
/** NODE_OPTIONS by which a process's clock jumps an hour ahead on SIGUSR2 (`test/clock-ahead.ts`). */
export const CLOCK_AHEAD = `--import=${pathToFileURL(join(ROOT, 'dist', 'test', 'clock-ahead.js')).href}`;

/** Settings of the app that a test must not inherit from the shell that runs jest. */
const APP_VARIABLES = [
  'PORT', 'HOST', 'DATABASE_URL', 'DATA_DIR', 'EMBEDDED_POSTGRES_PORT', 'EVENT_STORE', 'EVENTSTORE_CONNECTION_STRING', 'LOG_LEVEL',
  'JWT_SECRET', 'JWT_JWKS_URL', 'DEV_TOKENS', 'STOMP_MAX_FRAME_BYTES', 'STOMP_HEARTBEAT_MS', 'STOMP_MAX_BUFFERED_BYTES',
  'STOMP_SEND_RATE', 'STOMP_SEND_BURST', 'MAX_OPEN_SESSIONS_PER_CUSTOMER', 'SHUTDOWN_GRACE_MS', 'NODE_OPTIONS',
];

/** A node program the test started, its output (colourless) collected as it comes. */
export interface NodeProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** stdout alone so far. */
  stdout(): string;
  /** Settles when the process has exited (and been reaped). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the output contains `text`. @throws when the process exits first or time runs out. */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
}

/** Starts `node script ...args` with exactly the given app settings. */
export function startNode(script: string, args: string[], settings: Record<string, string>, cwd: string): NodeProcess {
  return startProgram(process.execPath, [script, ...args], script, settings, cwd);
}

/**
 * Starts `node script ...args` in a terminal of its own: a pseudo-terminal that `script` (of
 * util-linux) makes, whose output it copies to its stdout, and which it closes when it is killed.
 * The `child` is `script`'s process.
 */
export function startNodeInTerminal(script: string, args: string[], settings: Record<string, string>, cwd: string): NodeProcess {
  const command = `exec ${[process.execPath, script, ...args].map((word) => `'${word.replaceAll("'", `'\\''`)}'`).join(' ')}`;
  return startProgram('script', ['--quiet', '--flush', '--command', command, '/dev/null'], script, settings, cwd);
}

function startProgram(program: string, argv: string[], script: string, settings: Record<string, string>, cwd: string): NodeProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const name of APP_VARIABLES) delete env[name];
  const child = spawn(program, argv, { cwd, env: { ...env, ...settings }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stdout = '';
  const colourless = (chunk: Buffer) => chunk.toString('utf8').replace(/\x1b\[[0-9;]*m/g, '');
  child.stdout!.on('data', (chunk: Buffer) => {
    output += colourless(chunk);
    stdout += colourless(chunk);
  });
  child.stderr!.on('data', (chunk: Buffer) => void (output += colourless(chunk)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close' rather than 'exit': the output is complete by then.
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const started: NodeProcess = {
    child,
    output: () => output,
    stdout: () => stdout,
    exited,
    waitForOutput: async (text, timeoutMs = 30_000) => {
      await waitFor(`"${text}" in the output of ${script}`, () => {
        if (output.includes(text)) return true;
        if (hasExited) throw new Error(`${script} exited before printing "${text}"; its output:\n${output}`);
        return false;
      }, timeoutMs);
    },
  };
  return started;
}

/** The exit of `process`. @throws with its output when it has not exited after `timeoutMs`. */
export async function exitWithin(process: NodeProcess, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms; output:\n${process.output()}`)), timeoutMs);
  });
  return Promise.race([process.exited, late]).finally(() => clearTimeout(timer));
}

/** Runs `node script ...args` to its end. @throws when it runs longer than `timeoutMs` (it is killed). */
export async function runNode(
  script: string, args: string[], settings: Record<string, string>, cwd: string, timeoutMs = 30_000,
): Promise<{ code: number | null; output: string }> {
  const run = startNode(script, args, settings, cwd);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), timeoutMs);
  const { code, signal } = await run.exited;
  clearTimeout(timer);
  if (signal === 'SIGKILL') throw new Error(`${script} ${args.join(' ')} ran over ${timeoutMs} ms; its output:\n${run.output()}`);
  return { code, output: run.output() };
}

/**
 * Polls `probe` until it returns a truthy value, which is returned.
 * @throws when `timeoutMs` passes first, or what `probe` throws.
 */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A new temporary folder that an embedded PostgreSQL can use: as root, the cluster runs as the
 * postgres user, who must reach it.
 */
export async function postgresReachableFolder(prefix: string): Promise<string> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  await chmod(path, 0o755);
  return path;
}

/** A {@link postgresReachableFolder} for a scenario's nodes; removed by the returned function. */
export async function scratchFolder(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await postgresReachableFolder(prefix);
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** The PostgreSQL processes whose command line names a path under `dir` (the postmasters of its clusters). */
export async function postgresProcessesUnder(dir: string): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  const found: number[] = [];
  for (const pid of pids) {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv[0]?.endsWith('postgres') && argv.some((arg) => arg.startsWith(dir))) found.push(Number(pid));
  }
  return found;
}

/**
 * Runs `work` with a connection of its own, closed after, to the `postgres` database of the
 * embedded PostgreSQL of `dataDir` running on `port`.
 */
export async function withEmbeddedClient<T>(dataDir: string, port: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const password = (await readFile(join(dataDir, 'password'), 'utf8')).trim();
  const client = new pg.Client({ connectionString: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Whether a connection named `applicationName` waits for an advisory lock (the projection's write
 * lock, held by a test), asked through `client`.
 */
export async function waitsForAdvisoryLock(client: pg.Client, applicationName: string): Promise<boolean> {
  const { rows } = await client.query<{ waiting: boolean }>(`
    SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_stat_activity a USING (pid)
      WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = $1) AS waiting`, [applicationName]);
  return rows[0]!.waiting;
}

/** Stops (fast shutdown, then SIGKILL) the PostgreSQL servers whose command line names a path under `dir`. */
export async function stopPostgresUnder(dir: string): Promise<void> {
  const signal = (pid: number, name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // gone already
    }
  };
  const pids = await postgresProcessesUnder(dir);
  if (pids.length === 0) return;
  for (const pid of pids) signal(pid, 'SIGINT');
  const gone = async () => (await postgresProcessesUnder(dir)).length === 0;
  await waitFor('postgres to stop', gone, 10_000).catch(async () => {
    for (const pid of await postgresProcessesUnder(dir)) signal(pid, 'SIGKILL');
  });
}
