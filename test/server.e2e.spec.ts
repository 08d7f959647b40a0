import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { lockEmbeddedPostgres, startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { migrate } from '../src/database/migrations.js';
import { createTestDatabase } from './database.js';
import { freePort } from './global-setup.js';
import {
  CLI, CLOCK_AHEAD, type NodeProcess, ROOT, SERVER, postgresProcessesUnder, postgresReachableFolder, runNode, startNode, stopPostgresUnder,
  waitFor, waitsForAdvisoryLock, withEmbeddedClient,
} from './processes.js';
import { TEST_JWT_SECRET } from './stomp-app.js';

/**
 * The server as a user runs it (`node dist/src/main.js`, on the embedded PostgreSQL unless
 * DATABASE_URL is set), and the `chat` command line beside it. The tests of the first block run
 * in order on one data folder: each starts from where the one before left it.
 */
let root: string;
const running = new Set<NodeProcess>();

beforeAll(async () => {
  root = await postgresReachableFolder('parley-e2e-');
});

afterAll(async () => {
  for (const server of running) server.child.kill('SIGKILL');
  await Promise.all([...running].map((server) => server.exited));
  await stopPostgresUnder(root);
  await rm(root, { recursive: true, force: true });
});

/** Starts the server; afterAll kills it if a test could not. */
function start(settings: Record<string, string>): NodeProcess {
  return track(startNode(SERVER, [], settings, root));
}

function track(process: NodeProcess): NodeProcess {
  running.add(process);
  void process.exited.then(() => running.delete(process));
  return process;
}

/** Waits until the server answers /health/ready with 200. @throws with its output when it exits first. */
async function ready(server: NodeProcess, port: number, timeoutMs = 45_000): Promise<void> {
  let exited = false;
  void server.exited.then(() => (exited = true));
  await waitFor(`the server on port ${port} to be ready`, async () => {
    if (exited) throw new Error(`the server exited before it was ready; its output:\n${server.output()}`);
    const response = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
    return response?.status === 200;
  }, timeoutMs);
}

/** The exit of `server`. @throws with its output when it has not exited within `timeoutMs`. */
function exitOf(server: NodeProcess, timeoutMs: number) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms; output:\n${server.output()}`)), timeoutMs);
  });
  return Promise.race([server.exited, timeout]).finally(() => clearTimeout(timer));
}

/** What a process says when its stop waited minutes for `holder`, and it left the embedded PostgreSQL of `dataDir` running. */
function leftRunning(dataDir: string, holder: number): string {
  return `embedded PostgreSQL left running: process ${holder} has been starting or stopping it for 3 minutes ` +
    `(${join(dataDir, 'postgres.lock')}); let it finish, or end it; the next process to use the database adopts it`;
}

/** Sends `signal` and waits for the exit, at most `timeoutMs`. */
function stop(server: NodeProcess, signal: NodeJS.Signals, timeoutMs = 30_000) {
  server.child.kill(signal);
  return exitOf(server, timeoutMs);
}

describe('the server on its embedded PostgreSQL', () => {
  let settings: Record<string, string>;
  let port: number;
  let dataDir: string;
  let server: NodeProcess;
  let livePostmasterPid: string;

  /** Runs `work` with a client of the embedded server's `postgres` database. */
  const withClient = <T>(work: (client: pg.Client) => Promise<T>) => withEmbeddedClient(dataDir, settings.EMBEDDED_POSTGRES_PORT!, work);
  const notes = () => withClient(async (client) => (await client.query<{ note: string }>('SELECT note FROM scratch ORDER BY id')).rows.map((r) => r.note));
  const postgresLeft = () => postgresProcessesUnder(dataDir);

  beforeAll(async () => {
    port = await freePort();
    dataDir = join(root, 'data');
    settings = { DATA_DIR: dataDir, PORT: String(port), EMBEDDED_POSTGRES_PORT: String(await freePort()) };
  });

  it('initialises its database on first start and answers /health/live and /health/ready', async () => {
    server = start(settings);
    await ready(server, port);

    const live = await fetch(`http://127.0.0.1:${port}/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    const readiness = await fetch(`http://127.0.0.1:${port}/health/ready`);
    expect(readiness.status).toBe(200);
    expect(await readiness.json()).toEqual({
      status: 'ready',
      checks: { database: 'up', eventStore: 'up', liveFeed: 'up' },
      projections: { chat: { state: 'running', leader: expect.any(Boolean), lag: 0, heldBack: false } },
    });
  });

  it('lets `chat migrate` work on the running server\'s database without stopping it', async () => {
    const postmasters = await postgresLeft();
    expect(postmasters).toHaveLength(1);

    const migrate = await runNode(CLI, ['migrate'], settings, root);

    expect(migrate).toEqual({ code: 0, output: expect.stringContaining('migrations: up to date') });
    expect(await postgresLeft()).toEqual(postmasters);
    expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
    await withClient(async (client) => {
      await client.query('CREATE TABLE scratch (id serial PRIMARY KEY, note text NOT NULL)');
      await client.query(`INSERT INTO scratch (note) VALUES ('written before the restart')`);
    });
  });

  it('stops on SIGINT with exit code 0, its PostgreSQL with it', async () => {
    expect(await stop(server, 'SIGINT')).toEqual({ code: 0, signal: null });
    expect(await postgresLeft()).toEqual([]);
  });

  it('keeps its data across a restart', async () => {
    server = start(settings);
    await ready(server, port);
    expect(await notes()).toEqual(['written before the restart']);
  });

  it('after being killed, adopts the PostgreSQL it left running, and stops it on the next SIGINT', async () => {
    expect(await stop(server, 'SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await postgresLeft()).toHaveLength(1); // the orphan

    server = start(settings);
    await ready(server, port);
    expect(await notes()).toEqual(['written before the restart']);
    livePostmasterPid = await readFile(join(dataDir, 'pg', 'postmaster.pid'), 'utf8');

    expect(await stop(server, 'SIGINT')).toEqual({ code: 0, signal: null });
    expect(await postgresLeft()).toEqual([]);
  });

  it('after being killed, adopts its orphaned PostgreSQL even when another process has taken its process id', async () => {
    server = start(settings);
    await ready(server, port);
    expect(await stop(server, 'SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    // The id of the dead server, recorded as the owner of the database, now names a live process.
    const squatter = track(startNode('-e', ['setInterval(() => {}, 60_000)'], {}, root));
    const ownerFile = join(dataDir, 'owner.pid');
    await writeFile(ownerFile, (await readFile(ownerFile, 'utf8')).replace(/^\d+/, String(squatter.child.pid)));

    server = start(settings);
    await ready(server, port);
    expect(await stop(server, 'SIGINT')).toEqual({ code: 0, signal: null });
    expect(await postgresLeft()).toEqual([]);
    // Alive throughout: the server was not fooled by a live process of the owner's id.
    expect([squatter.child.exitCode, squatter.child.signalCode]).toEqual([null, null]);
    squatter.child.kill('SIGKILL');
  });

  it('starts despite a postmaster.pid left behind naming a dead process', async () => {
    const dead = startNode(process.execPath, ['-e', ''], {}, root);
    await dead.exited;
    await writeFile(join(dataDir, 'pg', 'postmaster.pid'), livePostmasterPid.replace(/^\d+/, String(dead.child.pid)));

    server = start(settings);
    await ready(server, port);
    expect(await notes()).toEqual(['written before the restart']);
    expect(await stop(server, 'SIGINT')).toEqual({ code: 0, signal: null });
    expect(await postgresLeft()).toEqual([]);
  });

  it('starts, and leaves the other server alone, when a stale postmaster.pid names another cluster\'s PostgreSQL', async () => {
    // After a reboot, the process id in a stale postmaster.pid can belong to another server.
    const other = await startEmbeddedPostgres({ dataDir: join(root, 'other'), port: await freePort() });
    try {
      const [otherPid] = await postgresProcessesUnder(join(root, 'other'));
      await writeFile(join(dataDir, 'pg', 'postmaster.pid'), livePostmasterPid.replace(/^\d+/, String(otherPid)));

      server = start(settings);
      await ready(server, port);
      expect(await notes()).toEqual(['written before the restart']);
      expect(await stop(server, 'SIGINT')).toEqual({ code: 0, signal: null });
      expect(await postgresLeft()).toEqual([]);
      expect(await postgresProcessesUnder(join(root, 'other'))).toEqual([otherPid]);
    } finally {
      // Not to hide the failure above when the server under test did stop it (afterAll cleans up).
      await other.stop().catch(() => {});
    }
  });

  it('on SIGINT while still starting, finishes starting, then stops with its PostgreSQL', async () => {
    server = start(settings);
    await server.waitForOutput('embedded PostgreSQL started');

    expect(await stop(server, 'SIGINT')).toEqual({ code: 0, signal: null });
    expect(server.output()).toContain('SIGINT: stopping');
    expect(await postgresLeft()).toEqual([]);
  });

  it('lets `chat migrate` start and stop the embedded PostgreSQL when no server runs', async () => {
    const migrate = await runNode(CLI, ['migrate'], settings, root);
    expect(migrate).toEqual({ code: 0, output: expect.stringContaining('migrations: up to date') });
    expect(await postgresLeft()).toEqual([]);
  });

  it('exits with code 1, naming the port, when PORT is taken, and leaves no PostgreSQL behind', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, resolve));
    try {
      const failed = start(settings);
      expect(await exitOf(failed, 45_000)).toEqual({ code: 1, signal: null });
      expect(failed.output()).toContain(`cannot listen on port ${port}`);
      expect(failed.output()).toContain('EADDRINUSE');
      expect(await postgresLeft()).toEqual([]);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});

describe('the server with a generated JWT secret too short to sign with', () => {
  it('exits with code 1 naming the file and what to do, and stops the embedded PostgreSQL it started', async () => {
    const dataDir = join(root, 'short-secret');
    await mkdir(dataDir);
    await writeFile(join(dataDir, 'jwt-secret'), '\n'); // as a crash during its first write may leave it
    const server = start({ DATA_DIR: dataDir, PORT: String(await freePort()), EMBEDDED_POSTGRES_PORT: String(await freePort()) });
    expect(await exitOf(server, 60_000)).toEqual({ code: 1, signal: null });
    expect(server.output()).toContain(`cannot start: ${join(dataDir, 'jwt-secret')} holds a secret of 0 bytes, not 32 or more: delete it`);
    expect(server.output()).toContain('embedded PostgreSQL stopped');
    expect(await postgresProcessesUnder(dataDir)).toEqual([]);
  });
});

describe('the server run as root on a DATA_DIR the postgres user cannot reach', () => {
  // Only run as root does PostgreSQL run as another user (the postgres user), as on these machines.
  (process.getuid?.() === 0 ? it : it.skip)('exits with code 78, saying in one line which folder that user cannot enter and what to do', async () => {
    const closed = join(root, 'closed');
    await mkdir(closed, { mode: 0o700 });
    const dataDir = join(closed, 'data');
    const server = start({ DATA_DIR: dataDir, PORT: String(await freePort()), EMBEDDED_POSTGRES_PORT: String(await freePort()) });
    expect(await exitOf(server, 30_000)).toEqual({ code: 78, signal: null });
    expect(server.output()).toContain(`ERROR [Parley] DATA_DIR ${dataDir} cannot hold the embedded PostgreSQL: as Parley runs as ` +
      `root, PostgreSQL runs as the postgres user, who cannot enter ${closed} (mode 700); set DATA_DIR to a folder that user ` +
      `can reach, or let it in (chmod o+x ${closed})\n`);
    expect(server.output()).not.toMatch(/^\s+at /m); // no stack trace
  });
});

describe('the server attached to an embedded PostgreSQL another process started', () => {
  it('keeps its database when that process leaves first, and stops it when it leaves last', async () => {
    // This test's process plays a command of `chat` that started the database, the server attaching to it.
    const dataDir = join(root, 'shared');
    const settings = { DATA_DIR: dataDir, PORT: String(await freePort()), EMBEDDED_POSTGRES_PORT: String(await freePort()) };
    const command = await startEmbeddedPostgres({ dataDir, port: Number(settings.EMBEDDED_POSTGRES_PORT) });
    const server = start(settings);
    await ready(server, Number(settings.PORT));
    expect(server.output()).toContain('attaching to the embedded PostgreSQL already running');

    await command.stop(); // the command is done
    const health = await fetch(`http://127.0.0.1:${settings.PORT}/health/ready`, { signal: AbortSignal.timeout(5_000) });
    expect(health.status).toBe(200);

    expect(await stop(server, 'SIGINT')).toEqual({ code: 0, signal: null });
    expect(server.output()).toContain('embedded PostgreSQL stopped');
    expect(await postgresProcessesUnder(dataDir)).toEqual([]);
  });
});

describe('processes sharing the embedded PostgreSQL', () => {
  /** A node process running `code`, an ES module, with `embedded` bound to dist's module of the embedded PostgreSQL. */
  function withEmbeddedModule(code: string): NodeProcess {
    const module = pathToFileURL(join(ROOT, 'dist', 'src', 'database', 'embedded-postgres.js')).href;
    return track(startNode('--input-type=module', ['-e', `const embedded = await import(${JSON.stringify(module)});\n${code}`], {}, ROOT));
  }

  it('keeps it running for a process that attached, when the one that started it leaves before that process has connected', async () => {
    const dataDir = join(root, 'attached');
    const port = await freePort();
    const owner = await startEmbeddedPostgres({ dataDir, port }); // this test's process started it
    // It attaches, says so, and on SIGUSR2 queries the database, then leaves.
    const user = withEmbeddedModule(`
      const { default: pg } = await import('pg');
      const database = await embedded.startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, port: ${port} });
      console.log(database.owned ? 'started' : 'attached');
      await new Promise((resolve) => process.once('SIGUSR2', resolve));
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      console.log('queried');
      await database.stop();`);
    await user.waitForOutput('attached');

    await owner.stop();
    expect(await postgresProcessesUnder(dataDir)).toHaveLength(1);

    user.child.kill('SIGUSR2');
    expect(await exitOf(user, 30_000)).toEqual({ code: 0, signal: null });
    expect(user.output()).toBe('attached\nqueried\n');
    expect(await postgresProcessesUnder(dataDir)).toEqual([]); // the last to leave stopped it
  });

  it('lets three commands started at once on a fresh DATA_DIR all succeed, the last stopping the PostgreSQL', async () => {
    const dataDir = join(root, 'three-at-once');
    const settings = { DATA_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(await freePort()) };
    const runs = await Promise.all([1, 2, 3].map(() => runNode(CLI, ['migrate'], settings, root, 60_000)));

    expect(runs.map((run) => run.code)).toEqual([0, 0, 0]);
    expect(runs.filter((run) => run.output.startsWith('migrations applied: '))).toHaveLength(1);
    expect(runs.filter((run) => run.output === 'migrations: up to date\n')).toHaveLength(2);
    expect(await postgresProcessesUnder(dataDir)).toEqual([]);
    expect(await readdir(dataDir)).not.toContain('postgres.lock');
  });

  it('has a server and two commands started at once on a fresh DATA_DIR share one PostgreSQL, started once', async () => {
    const dataDir = join(root, 'server-and-commands');
    await mkdir(dataDir);
    const settings = { DATA_DIR: dataDir, PORT: String(await freePort()), EMBEDDED_POSTGRES_PORT: String(await freePort()) };
    // Held by this test's process until the server waits for it, so that all three contend.
    const release = await lockEmbeddedPostgres(dataDir);
    const server = start(settings);
    const commands = [1, 2].map(() => runNode(CLI, ['migrate'], settings, root, 60_000));
    await server.waitForOutput(`waiting for process ${process.pid}, which is starting or stopping the embedded PostgreSQL`).finally(release);

    expect((await Promise.all(commands)).map((command) => command.code)).toEqual([0, 0]);
    await ready(server, Number(settings.PORT));
    expect(await postgresProcessesUnder(dataDir)).toHaveLength(1);
    // Started once: a command done before the server attached leaves it running for the server,
    // which waits its turn (until 2026-12-07 it stopped it, and the server started it again).
    const log = await readFile(join(dataDir, 'pg', 'postgres.log'), 'utf8');
    expect(log.match(/database system is ready to accept connections/g)).toHaveLength(1);
    expect(await stop(server, 'SIGINT')).toEqual({ code: 0, signal: null });
    expect(await postgresProcessesUnder(dataDir)).toEqual([]);
  });

  it('keeps it running for a process waiting to attach, when the last one using it leaves first', async () => {
    const dataDir = join(root, 'arriving');
    const settings = { DATA_DIR: dataDir, PORT: String(await freePort()), EMBEDDED_POSTGRES_PORT: String(await freePort()) };
    const command = await startEmbeddedPostgres({ dataDir, port: Number(settings.EMBEDDED_POSTGRES_PORT) }); // this test's process started it
    const release = await lockEmbeddedPostgres(dataDir);
    const server = start(settings);
    await server.waitForOutput(`waiting for process ${process.pid}, which is starting or stopping the embedded PostgreSQL`);
    // Frozen while it waits (as a slow process is, at worst): the command, done, takes the lock first.
    server.child.kill('SIGSTOP');
    const leaving = command.stop();
    await release();
    await leaving;
    expect(await postgresProcessesUnder(dataDir)).toHaveLength(1);

    server.child.kill('SIGCONT');
    await ready(server, Number(settings.PORT));
    expect(server.output()).toContain('adopting the embedded PostgreSQL left running');
    const log = await readFile(join(dataDir, 'pg', 'postgres.log'), 'utf8');
    expect(log.match(/database system is ready to accept connections/g)).toHaveLength(1);
    expect(await stop(server, 'SIGINT')).toEqual({ code: 0, signal: null });
    expect(await postgresProcessesUnder(dataDir)).toEqual([]);
  });

  it('a server whose stop waits 3 minutes for another process to start or stop the PostgreSQL exits 1, saying in one line that it left it running', async () => {
    const dataDir = join(root, 'stop-blocked-server');
    const settings = { DATA_DIR: dataDir, PORT: String(await freePort()), EMBEDDED_POSTGRES_PORT: String(await freePort()), NODE_OPTIONS: CLOCK_AHEAD };
    const server = start(settings);
    await ready(server, Number(settings.PORT));
    const release = await lockEmbeddedPostgres(dataDir); // this test's process plays the one that takes minutes
    try {
      server.child.kill('SIGTERM');
      await server.waitForOutput(`waiting for process ${process.pid}, which is starting or stopping the embedded PostgreSQL`);
      server.child.kill('SIGUSR2'); // the 3 minutes pass

      expect(await exitOf(server, 30_000)).toEqual({ code: 1, signal: null });
    } finally {
      await release();
    }
    expect(server.output()).toContain(`ERROR [Parley] ${leftRunning(dataDir, process.pid)}\n`);
    expect(server.output()).not.toMatch(/^\s+at /m); // no stack trace
    expect(await postgresProcessesUnder(dataDir)).toHaveLength(1);
    expect(await readdir(dataDir)).not.toContain('postgres.lock');

    const next = start(settings); // adopts it, as the message says
    await ready(next, Number(settings.PORT));
    expect(next.output()).toContain('adopting the embedded PostgreSQL left running');
    expect(await stop(next, 'SIGINT')).toEqual({ code: 0, signal: null });
    expect(await postgresProcessesUnder(dataDir)).toEqual([]);
  });

  it('a command whose stop waits 3 minutes for another process to start or stop the PostgreSQL exits 75 after its output, saying in one line that it left it running', async () => {
    const dataDir = join(root, 'stop-blocked-command');
    const port = await freePort();
    const owner = await startEmbeddedPostgres({ dataDir, port }); // this test's process started it
    try {
      await migrate(owner.url);
      // The projection's write lock, held here: the rebuild waits for it to swap its tables in.
      await withEmbeddedClient(dataDir, String(port), async (holder) => {
        await holder.query('BEGIN');
        await holder.query(`SELECT pg_advisory_xact_lock(hashtextextended('parley.projection.write:chat', 0))`);
        const rebuild = track(startNode(CLI, ['projections', 'rebuild'], {
          DATA_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(port), LOG_LEVEL: 'log', NODE_OPTIONS: CLOCK_AHEAD,
        }, root));
        await waitFor('the rebuild to wait for the write lock', () =>
          withEmbeddedClient(dataDir, String(port), (client) => waitsForAdvisoryLock(client, 'parley-rebuild-chat')));
        const release = await lockEmbeddedPostgres(dataDir); // this test's process plays the one that takes minutes
        try {
          await holder.query('ROLLBACK');
          await rebuild.waitForOutput(`waiting for process ${process.pid}, which is starting or stopping the embedded PostgreSQL`);
          rebuild.child.kill('SIGUSR2'); // the 3 minutes pass

          expect(await exitOf(rebuild, 30_000)).toEqual({ code: 75, signal: null });
        } finally {
          await release();
        }
        expect(rebuild.stdout()).toMatch(/^rebuilt chat: 0 events/);
        expect(rebuild.output()).toContain(`\n${leftRunning(dataDir, process.pid)}\n`);
        expect(rebuild.output()).not.toMatch(/^\s+at /m); // no stack trace
      });
    } finally {
      await owner.stop();
    }
    expect(await postgresProcessesUnder(dataDir)).toEqual([]);
  });

  it('takes over the lock of a process that died while starting or stopping the PostgreSQL', async () => {
    const dataDir = join(root, 'stale-lock');
    await mkdir(dataDir);
    const holder = withEmbeddedModule(`
      await embedded.lockEmbeddedPostgres(${JSON.stringify(dataDir)});
      console.log('locked');
      setInterval(() => {}, 60_000);`);
    await holder.waitForOutput('locked');
    holder.child.kill('SIGKILL');
    await holder.exited;

    const migrate = await runNode(CLI, ['migrate'], { DATA_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(await freePort()) }, root, 20_000);
    expect(migrate).toEqual({ code: 0, output: expect.stringContaining('migrations applied: ') });
    expect(await readdir(dataDir)).not.toContain('postgres.lock');
  });
});

describe('the server on PORT=0', () => {
  it('listens on a free port, and the log names that one', async () => {
    const database = await createTestDatabase();
    try {
      const server = start({ DATABASE_URL: database.url, PORT: '0', JWT_SECRET: TEST_JWT_SECRET, DATA_DIR: join(root, 'any-port') });
      await server.waitForOutput('Parley listening on http://localhost:', 45_000);
      const port = Number(/Parley listening on http:\/\/localhost:(\d+)/.exec(server.output())?.[1]);
      expect(port).toBeGreaterThan(0);
      await ready(server, port);
      expect(await stop(server, 'SIGINT')).toEqual({ code: 0, signal: null });
    } finally {
      await database.drop();
    }
  });
});

describe('the server handing out dev tokens', () => {
  /** Whether the server on `port` answers at `address`. */
  const answersAt = async (address: string, port: number) =>
    (await fetch(`http://${address}:${port}/health/live`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined))?.status === 200;

  it('answers this machine only (127.0.0.1), not its other addresses, unless HOST says otherwise', async () => {
    const database = await createTestDatabase();
    try {
      // 127.0.0.2 stands for the machine's other addresses: as they, it reaches a server on every interface, not one on 127.0.0.1.
      for (const [host, elsewhere] of [[undefined, false], ['0.0.0.0', true]] as const) {
        const port = await freePort();
        const settings = { DATABASE_URL: database.url, PORT: String(port), DEV_TOKENS: '1', JWT_SECRET: TEST_JWT_SECRET, DATA_DIR: join(root, 'dev-tokens') };
        const server = start(host === undefined ? settings : { ...settings, HOST: host });
        await ready(server, port);
        expect({ host, local: await answersAt('127.0.0.1', port), elsewhere: await answersAt('127.0.0.2', port) })
          .toEqual({ host, local: true, elsewhere });
        expect(await stop(server, 'SIGINT')).toEqual({ code: 0, signal: null });
      }
    } finally {
      await database.drop();
    }
  });
});

describe('the server and the command line on a setting they cannot use', () => {
  it('both exit with code 78 (EX_CONFIG), naming the variable, and start no database', async () => {
    const settings = { LOG_LEVEL: 'info', DATA_DIR: join(root, 'misconfigured'), PORT: String(await freePort()) };
    const server = start(settings);
    expect(await exitOf(server, 20_000)).toEqual({ code: 78, signal: null });
    expect(server.output()).toContain('configuration: LOG_LEVEL must be one of error, warn, log, debug, verbose, got "info"');

    expect(await runNode(CLI, ['migrate'], settings, root)).toEqual({
      code: 78, output: 'LOG_LEVEL must be one of error, warn, log, debug, verbose, got "info"\n',
    });
    expect(await postgresProcessesUnder(settings.DATA_DIR)).toEqual([]);
  });
});

describe('the server and the command line on an unreachable DATABASE_URL', () => {
  let closedUrl: string;

  beforeAll(async () => {
    closedUrl = `postgres://parley:secret@127.0.0.1:${await freePort()}/parley`;
  });

  it('the server exits with code 1 and says that nothing accepts connections at DATABASE_URL', async () => {
    const server = start({ DATABASE_URL: closedUrl, PORT: String(await freePort()), DATA_DIR: join(root, 'unused') });
    expect(await exitOf(server, 20_000)).toEqual({ code: 1, signal: null });
    expect(server.output()).toContain('(from DATABASE_URL)');
    expect(server.output()).toContain('ECONNREFUSED');
    expect(server.output()).toContain('nothing accepts connections there');
  });

  it('`chat migrate` exits with code 69 (EX_UNAVAILABLE) and the same explanation', async () => {
    const migrate = await runNode(CLI, ['migrate'], { DATABASE_URL: closedUrl }, root);
    expect(migrate.code).toBe(69);
    expect(migrate.output).toContain('(from DATABASE_URL)');
    expect(migrate.output).toContain('nothing accepts connections there');
  });
});

describe('the command line', () => {
  it('exits with code 64 and the usage on an unknown command', async () => {
    const bogus = await runNode(CLI, ['bogus'], {}, root);
    expect(bogus.code).toBe(64);
    expect(bogus.output).toContain('unknown command "bogus"');
    expect(bogus.output).toContain('usage: npm run chat -- <command>');
  });
});
