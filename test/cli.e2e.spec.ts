import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, cp, mkdir, readdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { type DatabasePool, sql } from 'slonik';
import { MIGRATIONS_DIR, migrate } from '../src/database/migrations.js';
import { createDatabasePool } from '../src/database/pool.js';
import { PostgresEventStore } from '../src/event-store/postgres-event-store.js';
import { createTestDatabase } from './database.js';
import { freePort } from './global-setup.js';
import { CLI, exitWithin, ROOT, runNode, scratchFolder, startNode, waitFor } from './processes.js';
import { startWriteSide } from './write-side.js';

/** `npm run chat -- …` against a database holding a real conversation; no projector runs. */
describe('the chat command line', () => {
  let drop: () => Promise<void>;
  let url: string;
  let pool: DatabasePool;
  const sessionId = randomUUID();
  const chat = (...args: string[]) => runNode(CLI, args, { DATABASE_URL: url }, tmpdir());

  beforeAll(async () => {
    ({ url, drop } = await createTestDatabase());
    pool = await createDatabasePool(url);
    const writeSide = await startWriteSide(new PostgresEventStore(pool), pool);
    const { service } = writeSide;
    await service.submit({ kind: 'open', payload: { sessionId, subject: 'Key card lost' }, actor: { id: 'customer-1', role: 'customer' } });
    await service.submit({ kind: 'join', sessionId, payload: {}, actor: { id: 'agent-1', role: 'agent', name: 'Ada' } });
    await service.submit({ kind: 'messages', sessionId, payload: { messageId: randomUUID(), body: '=cmd|calc' }, actor: { id: 'customer-1', role: 'customer' } });
    await writeSide.close();
  });
  afterAll(async () => {
    await pool.end();
    await drop();
  });

  it('reports the lag, rebuilds the read model with progress, and then reports no lag', async () => {
    const before = await chat('projections', 'status');
    expect(before).toMatchObject({ code: 0 });
    expect(before.output).toMatch(/chat:\n\s+checkpoint\s+start of the log\n[\s\S]*lag\s+3 events\n\s+held back\s+no\n\s+projector\s+none running/);

    const rebuild = await chat('projections', 'rebuild', 'chat_sessions');
    expect(rebuild.code).toBe(0);
    expect(rebuild.output).toMatch(/rebuilding chat \[#+\] 3 \/ 3 events/);
    expect(rebuild.output).toContain('rebuilt chat: 3 events');
    expect(await pool.oneFirst(sql.unsafe`SELECT session_status FROM chat_sessions WHERE session_id = ${sessionId}`)).toBe('active');

    expect((await chat('projections', 'status')).output).toMatch(/lag\s+0 events/);
  });

  it('logs at LOG_LEVEL (warnings and errors only when unset), on stderr: stdout holds the result alone', async () => {
    const rebuild = async (settings: Record<string, string>) => {
      const run = startNode(CLI, ['projections', 'rebuild'], { DATABASE_URL: url, ...settings }, tmpdir());
      expect(await run.exited).toEqual({ code: 0, signal: null });
      expect(run.stdout()).toMatch(/^rebuilt chat: 3 events, swapped in at commit \d+, prepare \d+\n$/);
      return run.output();
    };
    const building = /LOG \[Rebuild:chat\] building chat_sessions__rebuild, chat_messages__rebuild from the log\n/;

    expect(await rebuild({ LOG_LEVEL: 'log' })).toMatch(building);
    expect(await rebuild({ LOG_LEVEL: 'error' })).not.toMatch(building);
    expect(await rebuild({})).not.toMatch(building);
  });

  it('refuses an unknown projection, naming the ones there are', async () => {
    expect(await chat('projections', 'rebuild', 'nope')).toMatchObject({ code: 64, output: expect.stringContaining('no projection "nope": chat (chat_sessions, chat_messages)') });
  });

  it('refuses, as a usage error, an --at that names no instant, where Date rolls February 31 over to March 3', async () => {
    const replay = await chat('audit', 'replay', sessionId, '--at', '2099-02-31T00:00:00Z');
    expect(replay).toMatchObject({ code: 64, output: expect.stringMatching(/^--at must be an ISO-8601 instant[^\n]*"2099-02-31T00:00:00Z"/) });
  });

  it('refuses, as a usage error, an option the command does not take, rather than answer without it', async () => {
    // An auditor asking for the history up to revision 1 would otherwise get all of it.
    const partial = await chat('audit', 'export', sessionId, '--format', 'json', '--revision', '1');
    expect(partial).toMatchObject({ code: 64, output: expect.stringMatching(/^audit export does not take --revision\n/) });
    expect(await chat('audit', 'verify', sessionId, '--format', 'csv')).toMatchObject({ code: 64, output: expect.stringMatching(/^audit verify does not take --format\n/) });
    expect(await chat('projections', 'rebuild', '--swap-attempts', '0')).toMatchObject({ code: 64, output: expect.stringMatching(/^--swap-attempts must be a whole number of 1 or more, got "0"\n/) });
  });

  it('says a missing command is a usage error, on stderr with exit status 64, like an unknown one', async () => {
    const run = startNode(CLI, [], { DATABASE_URL: url }, tmpdir());
    expect(await run.exited).toEqual({ code: 64, signal: null });
    expect(run.stdout()).toBe('');
    expect(run.output()).toMatch(/^a command is missing\n\nusage: /);
  });

  it('replays a session holding an event of a newer release, skipping it as the projection does', async () => {
    const id = randomUUID();
    const event = (type: string, data: Record<string, unknown>) => ({ eventId: randomUUID(), type, data: { sessionId: id, ...data }, metadata: { occurredAt: new Date().toISOString() } });
    await new PostgresEventStore(pool).appendToStream(`chat_session-${id}`, [
      event('ChatSessionOpened', { customerId: 'customer-1', subject: 'Child seat' }),
      event('ChatSessionTagged', { tag: 'family' }), // written by the next release, during a rolling upgrade
      event('AgentJoined', { agentId: 'agent-1', agentName: 'Ada' }),
    ], { expectedRevision: 'no_stream' });

    const replay = await chat('audit', 'replay', id);
    expect(replay.code).toBe(0);
    expect(JSON.parse(replay.output)).toMatchObject({ sessionId: id, revision: 2, status: 'active', agentId: 'agent-1' });
  });

  it('writes nothing but the export on stdout when run as the README says, npm run --silent chat -- audit export > export.json', async () => {
    // `npm run chat` builds dist/ first: in a copy of the project here, so as not to rewrite the
    // dist/ that other specs run meanwhile.
    const copy = await scratchFolder('parley-npm-run-');
    try {
      for (const name of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'read-models', 'bench', 'web-components', 'migrations']) {
        await cp(join(ROOT, name), join(copy.path, name), { recursive: true });
      }
      await symlink(join(ROOT, 'node_modules'), join(copy.path, 'node_modules'));
      const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: url, NO_COLOR: '1' };
      delete env.NODE_OPTIONS;
      const args = ['run', '--silent', 'chat', '--', 'audit', 'export', sessionId, '--format', 'json'];
      const { stdout } = await promisify(execFile)('npm', args, { cwd: copy.path, env });
      // Neither npm's banner nor the build's lines (the bundle's size) before the JSON.
      expect(stdout).toBe((await chat('audit', 'export', sessionId, '--format', 'json')).output);
    } finally {
      await copy.remove();
    }
  });

  it('replays, exports and verifies a session', async () => {
    const replay = await chat('audit', 'replay', sessionId, '--revision', '0');
    expect(JSON.parse(replay.output)).toMatchObject({ sessionId, revision: 0, status: 'waiting', agentId: null });
    expect((await chat('audit', 'replay', sessionId, '--revision', '9')).output).toContain('revision must be from 0 to 2');

    const csv = await chat('audit', 'export', sessionId, '--format', 'csv');
    const lines = csv.output.trimEnd().split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toContain(',ChatMessageSent,');
    expect((await chat('audit', 'export', sessionId, '--format', 'xml')).code).toBe(64);
    expect(JSON.parse((await chat('audit', 'export', sessionId, '--format', 'json')).output).events).toHaveLength(3);

    expect(await chat('audit', 'verify', sessionId)).toMatchObject({ code: 0, output: `hash chain of ${sessionId}: intact\n` });
    await pool.query(sql.unsafe`ALTER TABLE events DISABLE TRIGGER USER`);
    await pool.query(sql.unsafe`UPDATE events SET data = jsonb_set(data, '{body}', '"hello"') WHERE stream_name = ${`chat_session-${sessionId}`} AND revision = 2`);
    await pool.query(sql.unsafe`ALTER TABLE events ENABLE TRIGGER USER`);
    expect(await chat('audit', 'verify', sessionId)).toMatchObject({ code: 1, output: `hash chain of ${sessionId}: BROKEN at revision 2\n` });
  });

  it('tells a missing session, an unreachable database and a configuration error from a broken chain by exit status, in one line each', async () => {
    const unknown = randomUUID();
    expect(await chat('audit', 'verify', unknown)).toEqual({ code: 65, output: `no session ${unknown}\n` });

    const closed = await runNode(CLI, ['audit', 'verify', sessionId], { DATABASE_URL: `postgres://parley:secret@127.0.0.1:${await freePort()}/parley` }, tmpdir());
    expect(closed).toEqual({ code: 69, output: expect.stringMatching(/^cannot use PostgreSQL at 127\.0\.0\.1:\d+ \(from DATABASE_URL\): [^\n]*ECONNREFUSED[^\n]*\n$/) });

    const misconfigured = await runNode(CLI, ['audit', 'verify', sessionId], { DATABASE_URL: url, LOG_LEVEL: 'info' }, tmpdir());
    expect(misconfigured).toEqual({ code: 78, output: 'LOG_LEVEL must be one of error, warn, log, debug, verbose, got "info"\n' });
    expect(await runNode(CLI, ['audit', 'verify', sessionId], { DATABASE_URL: 'not a url' }, tmpdir()))
      .toEqual({ code: 78, output: 'DATABASE_URL must be a postgres:// or postgresql:// URL, got one that does not parse\n' });

    const esdb = `esdb://127.0.0.1:${await freePort()}?tls=false`;
    const noEventStore = await runNode(CLI, ['audit', 'verify', sessionId], { DATABASE_URL: url, EVENTSTORE_CONNECTION_STRING: esdb }, tmpdir());
    expect(noEventStore).toEqual({ code: 69, output: expect.stringMatching(/^EventStoreDB unavailable: [^\n]*\n$/) });
  });

  it('refuses in one line to replay a history that lacks a revision, with the status of a broken chain', async () => {
    await pool.query(sql.unsafe`ALTER TABLE events DISABLE TRIGGER USER`);
    await pool.query(sql.unsafe`DELETE FROM events WHERE stream_name = ${`chat_session-${sessionId}`} AND revision = 1`);
    await pool.query(sql.unsafe`ALTER TABLE events ENABLE TRIGGER USER`);
    expect(await chat('audit', 'replay', sessionId)).toEqual({
      code: 1,
      output: `the stored history of session ${sessionId} lacks revision 1: it cannot be replayed (see …/verify)\n`,
    });
    expect(await chat('audit', 'verify', sessionId)).toMatchObject({ code: 1, output: `hash chain of ${sessionId}: BROKEN at revision 1\n` });
  });
});

describe('the chat command line on a database it cannot use as it is', () => {
  it('refuses to read an embedded database that is not there, naming its folder, and makes none', async () => {
    const scratch = await scratchFolder('parley-cli-');
    try {
      expect(await runNode(CLI, ['projections', 'status'], {}, scratch.path)).toEqual({
        code: 78,
        output: `no embedded database in ${join(scratch.path, '.data')}: set DATA_DIR to the server's (or DATABASE_URL), ` +
          'or run the server or `npm run chat -- migrate` first\n',
      });
      expect(await readdir(scratch.path)).toEqual([]);
    } finally {
      await scratch.remove();
    }
  });

  // Only run as root does PostgreSQL run as another user (the postgres user), as on these machines.
  (process.getuid?.() === 0 ? it : it.skip)('run as root, refuses in one line a DATA_DIR under a folder the postgres user cannot enter, naming it', async () => {
    const scratch = await scratchFolder('parley-cli-');
    try {
      const closed = join(scratch.path, 'closed');
      await mkdir(closed, { mode: 0o700 });
      const dataDir = join(closed, 'data');
      expect(await runNode(CLI, ['migrate'], { DATA_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(await freePort()) }, scratch.path)).toEqual({
        code: 78,
        output: `DATA_DIR ${dataDir} cannot hold the embedded PostgreSQL: as Parley runs as root, PostgreSQL runs as the postgres ` +
          `user, who cannot enter ${closed} (mode 700); set DATA_DIR to a folder that user can reach, or let it in (chmod o+x ${closed})\n`,
      });
    } finally {
      await scratch.remove();
    }
  });

  it('says in one line that a database not migrated yet needs `npm run chat -- migrate`', async () => {
    const { url, drop } = await createTestDatabase({ migrated: false });
    try {
      for (const args of [['audit', 'verify', randomUUID()], ['projections', 'status'], ['projections', 'rebuild']]) {
        expect(await runNode(CLI, args, { DATABASE_URL: url }, tmpdir())).toEqual({
          code: 78,
          output: 'no migration applied yet: the database is not migrated; run `npm run chat -- migrate` (npm start does too)\n',
        });
      }
    } finally {
      await drop();
    }
  });

  it('says in one line, with the status of an unreachable database, that its connection was cut (a restart, a failover)', async () => {
    const { url, drop } = await createTestDatabase({ migrated: false });
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      // Another process migrating: this one waits for the migrations' lock, then loses its connection.
      await admin.query(`SELECT pg_advisory_lock(hashtext('parley.migrations'))`);
      const migrating = startNode(CLI, ['migrate'], { DATABASE_URL: url }, tmpdir());
      const waiting = () => admin.query<{ pid: number }>(`
        SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE '%parley.migrations%'`);
      const { pid } = await waitFor('the migration waiting for the lock', async () => (await waiting()).rows[0]);
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);

      expect(await exitWithin(migrating, 30_000)).toEqual({ code: 69, signal: null });
      expect(migrating.output()).toMatch(/^[^\n]*terminating connection due to administrator command[^\n]*\n$/);
    } finally {
      await admin.end();
      await drop();
    }
  });

  it('says in one line that a database a migration behind the command line needs `npm run chat -- migrate`', async () => {
    const { url, drop } = await createTestDatabase({ migrated: false });
    const older = await scratchFolder('parley-migrations-');
    try {
      // Migrated by the previous release: all but the last migration of this one.
      const files = (await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql')).sort();
      await Promise.all(files.slice(0, -1).map((name) => copyFile(join(MIGRATIONS_DIR, name), join(older.path, name))));
      await migrate(url, older.path);

      expect(await runNode(CLI, ['projections', 'rebuild'], { DATABASE_URL: url }, tmpdir())).toEqual({
        code: 78,
        output: `${files.at(-1)} not applied yet: the database is not migrated; run \`npm run chat -- migrate\` (npm start does too)\n`,
      });
    } finally {
      await older.remove();
      await drop();
    }
  });

  it('says in one line, with the status of "try again later", that its swap could not have the live tables', async () => {
    const { url, drop } = await createTestDatabase();
    const report = new pg.Client({ connectionString: url });
    await report.connect();
    try {
      // A long report (or a pg_dump) reading the live tables through every attempt of the swap:
      // two attempts here, where the default 12 take some 30 s.
      await report.query('BEGIN');
      await report.query('SELECT count(*) FROM chat_sessions');
      const rebuild = await runNode(CLI, ['projections', 'rebuild', '--swap-attempts', '2'], { DATABASE_URL: url }, tmpdir());
      expect(rebuild.code).toBe(75);
      expect(rebuild.output).not.toMatch(/^\s+at /m);
      expect(rebuild.output).toMatch(/\nthe rebuild of projection chat could not swap in: [^\n]* through 2 attempts; try again later\n$/);
    } finally {
      await report.end();
      await drop();
    }
  });

  it('refuses in one line, as a setting to change, a rebuild whose live tables something depends on that it cannot move', async () => {
    const { url, drop } = await createTestDatabase();
    const report = new pg.Client({ connectionString: url });
    await report.connect();
    try {
      await report.query('CREATE MATERIALIZED VIEW sessions_by_status AS SELECT session_status, count(*) FROM chat_sessions GROUP BY session_status');
      const rebuild = await runNode(CLI, ['projections', 'rebuild'], { DATABASE_URL: url }, tmpdir());
      expect(rebuild.code).toBe(78);
      expect(rebuild.output).not.toMatch(/^\s+at /m);
      expect(rebuild.output).toMatch(/^cannot rebuild projection chat: [^\n]*sessions_by_status[^\n]*; drop them, rebuild, then make them again\n$/);
    } finally {
      await report.end();
      await drop();
    }
  });

  it('stops a rebuild at an event the projection cannot apply, and says which in one line', async () => {
    const { url, drop } = await createTestDatabase();
    const pool = await createDatabasePool(url);
    try {
      const neverOpened = randomUUID();
      const event = { eventId: randomUUID(), type: 'AgentJoined', data: { sessionId: neverOpened, agentId: 'a', agentName: 'A' }, metadata: { occurredAt: new Date().toISOString() } };
      await new PostgresEventStore(pool).appendToStream(`chat_session-${neverOpened}`, [event], { expectedRevision: 'no_stream' });
      const rebuild = await runNode(CLI, ['projections', 'rebuild'], { DATABASE_URL: url }, tmpdir());
      expect(rebuild.code).toBe(65);
      expect(rebuild.output).not.toMatch(/^\s+at /m);
      expect(rebuild.output).toMatch(new RegExp(`\\n[^\\n]*event ${event.eventId} \\(AgentJoined, [^\\n]* cannot be applied: [^\\n]*was never opened[^\\n]*\\n$`));
    } finally {
      await pool.end();
      await drop();
    }
  });
});

describe('the chat command line while a transaction holds events back', () => {
  it('says, in projections status, that committed events wait behind a transaction in flight, as /health/ready does', async () => {
    const { url, drop } = await createTestDatabase();
    const pool = await createDatabasePool(url);
    const inFlight = new pg.Client({ connectionString: url });
    await inFlight.connect();
    try {
      await inFlight.query('BEGIN');
      await inFlight.query('SELECT pg_current_xact_id()'); // the oldest transaction in flight from now on
      const sessionId = randomUUID();
      const opened = { sessionId, customerId: 'customer-1', subject: 'Key card lost' };
      await new PostgresEventStore(pool).appendToStream(`chat_session-${sessionId}`, [
        { eventId: randomUUID(), type: 'ChatSessionOpened', data: opened, metadata: { occurredAt: new Date().toISOString() } },
      ], { expectedRevision: 'no_stream' });

      const status = await runNode(CLI, ['projections', 'status'], { DATABASE_URL: url }, tmpdir());
      expect(status.code).toBe(0);
      // Committed and not projected; "lag 0 events" and a head at the checkpoint alone say all is well.
      expect(status.output).toMatch(/\n\s+held back\s+yes: later events wait, not counted in the lag, behind a transaction still in flight\n/);
    } finally {
      await inFlight.end();
      await pool.end();
      await drop();
    }
  });
});
