import { randomUUID } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { sql } from 'slonik';
import { z } from 'zod';
import { CHAT_TABLES } from '../read-models/chat.projection.js';
import { ChatWriter, conversation, tableContents } from '../read-models/testing/fixtures.js';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { migrate } from '../src/database/migrations.js';
import { createDatabasePool } from '../src/database/pool.js';
import { PostgresEventStore } from '../src/event-store/postgres-event-store.js';
import { freePort } from './global-setup.js';
import {
  CLI, type NodeProcess, SERVER, exitWithin, postgresProcessesUnder, postgresReachableFolder, runNode, startNode, stopPostgresUnder, waitFor,
  withEmbeddedClient,
} from './processes.js';
import { TEST_JWT_SECRET, testToken } from './stomp-app.js';

/**
 * `chat projections rebuild` stopped by a signal half-way, as a user stops it: on the embedded
 * PostgreSQL it started itself, then beside a server using that database. The tests run in order
 * on one data folder, each from where the one before left it.
 */
describe('chat projections rebuild, interrupted', () => {
  const CONVERSATIONS = 200;
  const EVENTS = CONVERSATIONS * conversation(randomUUID(), 100).length;
  let root: string;
  let dataDir: string;
  let settings: Record<string, string>;
  let server: NodeProcess | undefined;
  const running = new Set<NodeProcess>();
  /** The read model the log makes, as the live tables hold it. */
  let expected: ReadModel;

  beforeAll(async () => {
    root = await postgresReachableFolder('parley-cli-interrupt-e2e-');
    dataDir = join(root, 'data');
    settings = {
      DATA_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(await freePort()), PORT: String(await freePort()), JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'log',
    };
    // Enough events that a rebuild signalled after its first batch has several more to go.
    const database = await startEmbeddedPostgres({ dataDir, port: Number(settings.EMBEDDED_POSTGRES_PORT) });
    await migrate(database.url);
    const pool = await createDatabasePool(database.url, { maximumPoolSize: 2 });
    const writer = new ChatWriter(new PostgresEventStore(pool));
    for (let i = 0; i < CONVERSATIONS; i++) {
      const sessionId = randomUUID();
      await writer.append(sessionId, conversation(sessionId, 100));
    }
    await pool.end();
    await database.stop();
    // The live tables, and their checkpoint at the end of the log: a rebuild's long part is then
    // the one beside them, before its swap.
    expect(await runNode(CLI, ['projections', 'rebuild'], settings, root, 120_000)).toMatchObject({ code: 0 });
    expected = await readModel();
    expect(expected.rebuildTables).toEqual([]);
  }, 180_000);

  afterAll(async () => {
    for (const process of running) process.child.kill('SIGKILL');
    await Promise.all([...running].map((process) => process.exited));
    await stopPostgresUnder(root);
    await rm(root, { recursive: true, force: true });
  });

  function track(process: NodeProcess): NodeProcess {
    running.add(process);
    void process.exited.then(() => running.delete(process));
    return process;
  }

  interface ReadModel {
    readonly tables: Awaited<ReturnType<typeof tableContents>>;
    readonly swaps: bigint;
    /** The fresh tables of a rebuild, in the database beside the live ones. */
    readonly rebuildTables: readonly string[];
  }

  /** The chat read model as it stands (the embedded database started for the look when nobody runs it). */
  async function readModel(): Promise<ReadModel> {
    const database = await startEmbeddedPostgres({ dataDir, port: Number(settings.EMBEDDED_POSTGRES_PORT) });
    const pool = await createDatabasePool(database.url, { maximumPoolSize: 2 });
    try {
      return {
        tables: await tableContents(pool, CHAT_TABLES),
        swaps: await pool.oneFirst(sql.type(z.object({ swaps: z.bigint() }))`SELECT swaps FROM projection_checkpoints WHERE projection_name = 'chat'`),
        rebuildTables: await pool.anyFirst(sql.type(z.object({ relname: z.string() }))`
          SELECT relname FROM pg_class WHERE relname LIKE '%\\_\\_rebuild' AND relkind = 'r' ORDER BY relname`),
      };
    } finally {
      await pool.end();
      await database.stop();
    }
  }

  /** Runs `work` with a connection of its own to the running embedded database, closed after. */
  const withClient = <T>(work: (client: pg.Client) => Promise<T>) => withEmbeddedClient(dataDir, settings.EMBEDDED_POSTGRES_PORT!, work);

  /** Starts a rebuild and waits until it has projected its first batch beside the live tables: its swap is batches away. */
  async function rebuildUnderWay(): Promise<NodeProcess> {
    const rebuild = track(startNode(CLI, ['projections', 'rebuild'], settings, root));
    // The fresh tables made anew: an interrupted rebuild's are still there until then.
    await rebuild.waitForOutput('building chat_sessions__rebuild, chat_messages__rebuild from the log', 60_000);
    await waitFor('the first batch of the rebuild', () => withClient(async (client) => {
      const { rows } = await client.query<{ lines: number }>('SELECT count(*)::int AS lines FROM chat_messages__rebuild');
      return rows[0]!.lines > 0;
    }));
    return rebuild;
  }

  /**
   * SIGINT twice, the second once the first is taken: `npm run` passes the terminal's Ctrl-C on to
   * a script that the terminal signals too, when bash runs it (kill(2) twice at once would make one
   * signal of the two, the first not delivered yet).
   */
  async function interruptAsNpmRunDoes(command: NodeProcess): Promise<void> {
    command.child.kill('SIGINT');
    await command.waitForOutput('SIGINT: stopping (again to exit at once)');
    command.child.kill('SIGINT');
  }

  /** Whether the command line's connection waits for a lock on the log, to read it. */
  const rebuildWaitsForLog = () => withClient(async (client) => {
    const { rows } = await client.query<{ waiting: boolean }>(`
      SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_stat_activity a USING (pid)
        WHERE l.locktype = 'relation' AND l.relation = 'events'::regclass AND NOT l.granted AND a.application_name = 'parley-cli') AS waiting`);
    return rows[0]!.waiting;
  });

  it('on SIGINT, even delivered twice as npm run delivers Ctrl-C, stops after its batch, stops the database it started, and exits 130', async () => {
    const rebuild = await rebuildUnderWay();
    expect(rebuild.output()).toContain('embedded PostgreSQL started');

    await interruptAsNpmRunDoes(rebuild);

    expect(await exitWithin(rebuild, 30_000)).toEqual({ code: 130, signal: null });
    expect(rebuild.output().match(/^SIGINT: stopping \(again to exit at once\)$/gm)).toHaveLength(1);
    expect(rebuild.output()).toContain('embedded PostgreSQL stopped');
    expect(rebuild.output()).not.toContain('rebuilt chat');
    expect(await postgresProcessesUnder(dataDir)).toEqual([]);
    // The live tables as they were, not swapped; the fresh ones left half-built.
    expect(await readModel()).toEqual({ ...expected, rebuildTables: ['chat_messages__rebuild', 'chat_sessions__rebuild'] });
  }, 120_000);

  it('runs again after that, making the fresh tables anew', async () => {
    const rebuild = await runNode(CLI, ['projections', 'rebuild'], settings, root, 120_000);
    expect(rebuild).toEqual({ code: 0, output: expect.stringContaining(`rebuilt chat: ${EVENTS.toLocaleString('en-US')} events`) });
    expect(await postgresProcessesUnder(dataDir)).toEqual([]);
    expected = { ...expected, swaps: expected.swaps + 1n };
    expect(await readModel()).toEqual(expected);
  }, 120_000);

  it('on SIGHUP (its terminal closed), stops after its batch as on SIGINT, stops the database it started, and exits 129', async () => {
    const rebuild = await rebuildUnderWay();

    rebuild.child.kill('SIGHUP');

    expect(await exitWithin(rebuild, 30_000)).toEqual({ code: 129, signal: null });
    expect(rebuild.output()).toContain('SIGHUP: stopping (again to exit at once)\n');
    expect(rebuild.output()).toContain('embedded PostgreSQL stopped');
    expect(rebuild.output()).not.toContain('rebuilt chat');
    expect(await postgresProcessesUnder(dataDir)).toEqual([]);
    expect(await readdir(dataDir)).not.toContain('postgres.lock');
    expect(await readModel()).toEqual({ ...expected, rebuildTables: ['chat_messages__rebuild', 'chat_sessions__rebuild'] });
  }, 120_000);

  it('on SIGTERM beside a server, exits 143 and leaves the database to the server, which answers from the live tables', async () => {
    server = track(startNode(SERVER, [], settings, root));
    await server.waitForOutput('Parley listening on', 60_000);
    const rebuild = await rebuildUnderWay();
    expect(rebuild.output()).toContain('attaching to the embedded PostgreSQL already running');

    rebuild.child.kill('SIGTERM');

    expect(await exitWithin(rebuild, 30_000)).toEqual({ code: 143, signal: null });
    expect(rebuild.output()).toContain('SIGTERM: stopping (again to exit at once)\n');
    expect(await postgresProcessesUnder(dataDir)).not.toEqual([]);
    const sessions = await fetch(`http://127.0.0.1:${settings.PORT}/api/sessions?limit=100`, {
      headers: { authorization: `Bearer ${await testToken('agent-1', 'agent', { name: 'Ada' })}` },
    });
    expect(sessions.status).toBe(200);
    expect(((await sessions.json()) as { items: unknown[] }).items).toHaveLength(100);
    expect(await readModel()).toEqual({ ...expected, rebuildTables: ['chat_messages__rebuild', 'chat_sessions__rebuild'] });

    expect(await runNode(CLI, ['projections', 'rebuild'], settings, root, 120_000)).toMatchObject({ code: 0 });
    expected = { ...expected, swaps: expected.swaps + 1n };
    expect(await readModel()).toEqual(expected);
  }, 180_000);

  it('exits at once on a second signal, a second after the first, while the first waits for the rebuild', async () => {
    // The log, locked here: the rebuild waits to read it, and its stop (after the batch under way) waits with it.
    await withClient(async (holder) => {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
      const rebuild = track(startNode(CLI, ['projections', 'rebuild'], settings, root));
      await waitFor('the rebuild to wait for the log', rebuildWaitsForLog, 60_000);

      const firstSignal = performance.now();
      await interruptAsNpmRunDoes(rebuild);
      // A repeat within a second is taken for the same Ctrl-C: the wait is the behaviour under test.
      await waitFor('a second since the first signal', async () => performance.now() - firstSignal > 1_100 && (await rebuildWaitsForLog()));
      expect(rebuild.child.exitCode).toBeNull();
      rebuild.child.kill('SIGINT');

      expect(await exitWithin(rebuild, 5_000)).toEqual({ code: 130, signal: null });
      // Gone without ending its connection, whose read still waits: the first signal's stop never came to pass.
      expect(await rebuildWaitsForLog()).toBe(true);
      await holder.query('ROLLBACK');
    });
    // Its read ends once its connection finds the rebuild gone.
    await waitFor('the rebuild\'s connections to end', () => withClient(async (client) => {
      const { rows } = await client.query(`SELECT FROM pg_stat_activity WHERE application_name IN ('parley-cli', 'parley-rebuild-chat')`);
      return rows.length === 0;
    }));
    expect(await readModel()).toEqual({ ...expected, rebuildTables: ['chat_messages__rebuild', 'chat_sessions__rebuild'] });

    server!.child.kill('SIGINT');
    expect(await exitWithin(server!, 30_000)).toEqual({ code: 0, signal: null });
    expect(await postgresProcessesUnder(dataDir)).toEqual([]);
  }, 120_000);
});
