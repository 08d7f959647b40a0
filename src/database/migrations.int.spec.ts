import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase } from '../../test/database.js';
import { MIGRATIONS_DIR, MigrationFailed, migrate } from './migrations.js';

/** Each file records that it ran in `ran`, so a test sees the order and the count of the runs. */
const recording = (file: string, sql = '') => `${sql}\nINSERT INTO ran (file) VALUES ('${file}');`;
const CREATE_RAN = 'CREATE TABLE ran (n serial PRIMARY KEY, file text NOT NULL);';

describe('migrate', () => {
  let database: { url: string; drop: () => Promise<void> };
  let dir: string;
  let client: pg.Client;

  beforeEach(async () => {
    database = await createTestDatabase({ migrated: false });
    dir = await mkdtemp(join(tmpdir(), 'parley-migrations-'));
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
  });
  afterEach(async () => {
    await client.end();
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const write = (files: Record<string, string>) =>
    Promise.all(Object.entries(files).map(([name, text]) => writeFile(join(dir, name), text)));
  const column = async (query: string) => (await client.query<{ v: string }>(query)).rows.map((row) => row.v);
  const ran = () => column('SELECT file AS v FROM ran ORDER BY n');
  const recorded = () => column('SELECT file AS v FROM schema_migrations ORDER BY file');
  const tableExists = async (name: string) => (await column(`SELECT to_regclass('${name}')::text AS v`))[0] !== null;

  it('applies the files in numeric order, each once, and records them in schema_migrations', async () => {
    // Written out of order; 0010 sorts after 0002 only if the numbers are compared as numbers.
    await write({
      '0010_third.sql': recording('0010_third.sql'),
      '0001_first.sql': recording('0001_first.sql', CREATE_RAN),
      '0002_second.sql': recording('0002_second.sql'),
    });

    expect(await migrate(database.url, dir)).toEqual(['0001_first.sql', '0002_second.sql', '0010_third.sql']);
    expect(await ran()).toEqual(['0001_first.sql', '0002_second.sql', '0010_third.sql']);
    expect(await recorded()).toEqual(['0001_first.sql', '0002_second.sql', '0010_third.sql']);

    expect(await migrate(database.url, dir)).toEqual([]);
    expect(await ran()).toHaveLength(3);

    await write({ '0011_fourth.sql': recording('0011_fourth.sql') });
    expect(await migrate(database.url, dir)).toEqual(['0011_fourth.sql']);
    expect(await ran()).toEqual(['0001_first.sql', '0002_second.sql', '0010_third.sql', '0011_fourth.sql']);
  });

  it('stops at a failing file, naming it, with nothing of it applied and the files before it kept', async () => {
    await write({
      '0001_good.sql': recording('0001_good.sql', CREATE_RAN),
      '0002_bad.sql': 'CREATE TABLE half_done (id int);\nSELEC oops;',
      '0003_later.sql': recording('0003_later.sql', 'CREATE TABLE later (id int);'),
    });

    const failure = await migrate(database.url, dir).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(MigrationFailed);
    expect((failure as MigrationFailed).file).toBe('0002_bad.sql');
    expect((failure as Error).message).toContain('0002_bad.sql');
    expect((failure as Error).message).toMatch(/syntax error/);

    expect(await tableExists('half_done')).toBe(false);
    expect(await tableExists('later')).toBe(false);
    expect(await recorded()).toEqual(['0001_good.sql']);
    expect(await ran()).toEqual(['0001_good.sql']);

    // Once the file is fixed, the next run picks up where the last one stopped.
    await write({ '0002_bad.sql': recording('0002_bad.sql', 'CREATE TABLE half_done (id int);') });
    expect(await migrate(database.url, dir)).toEqual(['0002_bad.sql', '0003_later.sql']);
    expect(await ran()).toEqual(['0001_good.sql', '0002_bad.sql', '0003_later.sql']);
  });

  it('ignores files whose names are not NNNN_name.sql', async () => {
    const broken = 'THIS IS NOT SQL;';
    await write({
      '0001_first.sql': recording('0001_first.sql', CREATE_RAN),
      'README.md': broken,
      '2_short.sql': broken,
      '00003_long.sql': broken,
      '0004_draft.sql.bak': broken,
      '0005_notes.txt': broken,
      '0006.sql': broken,
    });

    expect(await migrate(database.url, dir)).toEqual(['0001_first.sql']);
    expect(await recorded()).toEqual(['0001_first.sql']);
  });

  it('applies each file once when two processes migrate at the same time', async () => {
    await write({
      // The sleep keeps the first file's transaction open, so the two runs overlap.
      '0001_first.sql': recording('0001_first.sql', `${CREATE_RAN}\nSELECT pg_sleep(0.3);`),
      '0002_second.sql': recording('0002_second.sql'),
      '0003_third.sql': recording('0003_third.sql'),
    });

    const runs = await Promise.all([migrate(database.url, dir), migrate(database.url, dir)]);

    expect(runs.flat().sort()).toEqual(['0001_first.sql', '0002_second.sql', '0003_third.sql']);
    expect(await ran()).toEqual(['0001_first.sql', '0002_second.sql', '0003_third.sql']);
    expect(await recorded()).toEqual(['0001_first.sql', '0002_second.sql', '0003_third.sql']);
  });

  it("0009 gives the system lines stored before it ids of version 8, as the projection now does, and leaves messages' ids alone", async () => {
    const files = (await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql')).sort();
    const copy = (names: string[]) => Promise.all(names.map((name) => copyFile(join(MIGRATIONS_DIR, name), join(dir, name))));
    await copy(files.filter((name) => name < '0009'));
    await migrate(database.url, dir);
    const session = '3f1c2b9e-5d7a-4c1e-9b2f-6a8d0e4c7b15';
    const joinLine = '01a2516f-3bca-72e0-bd4c-609e4a2b7cc3';
    const message = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
    await client.query(`
      INSERT INTO chat_messages (message_id, session_id, sender_type, sender_id, message_content, message_type, "timestamp", revision, position)
      VALUES ('${joinLine}', '${session}', 'system', 'agent-1', 'Ada joined', 'join', now(), 1, 2),
             ('${message}', '${session}', 'user', 'customer-1', 'Hello', 'text', now(), 2, 3)`);

    await copy(files.filter((name) => name.startsWith('0009')));
    expect(await migrate(database.url, dir)).toEqual(['0009_system_line_ids.sql']);
    expect(await column('SELECT message_id::text AS v FROM chat_messages ORDER BY revision')).toEqual([
      '01a2516f-3bca-82e0-bd4c-609e4a2b7cc3',
      message,
    ]);
  });

  it('0013 gives the sessions stored before it the name of their agent from the join line, as the projection now does', async () => {
    const files = (await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql')).sort();
    const copy = (names: string[]) => Promise.all(names.map((name) => copyFile(join(MIGRATIONS_DIR, name), join(dir, name))));
    await copy(files.filter((name) => name < '0013'));
    await migrate(database.url, dir);
    // Taken by Ada; taken by agent-1, handed back and taken again under another name; handed back.
    const [taken, retaken, handedBack] = ['3f1c2b9e-5d7a-4c1e-9b2f-6a8d0e4c7b15', '5b0d7f3e-2a4c-4e6b-8d1f-3c5e7a9b1d24', '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b'];
    await client.query(`
      INSERT INTO chat_sessions (session_id, user_id, agent_id, subject, start_time, session_status, revision)
      VALUES ('${taken}', 'customer-1', 'agent-1', 'Keys', now(), 'active', 1),
             ('${retaken}', 'customer-1', 'agent-1', 'Keys', now(), 'active', 3),
             ('${handedBack}', 'customer-1', NULL, 'Keys', now(), 'waiting', 2)`);
    const line = (session: string, revision: number, type: string, content: string) =>
      `(gen_random_uuid(), '${session}', 'system', 'agent-1', '${content}', '${type}', now(), ${revision}, ${revision})`;
    await client.query(`
      INSERT INTO chat_messages (message_id, session_id, sender_type, sender_id, message_content, message_type, "timestamp", revision, position)
      VALUES ${[
        line(taken, 1, 'join', 'Ada joined'),
        line(retaken, 1, 'join', 'Ada joined'), line(retaken, 2, 'leave', 'Ada left'), line(retaken, 3, 'join', 'Ada Lovelace joined'),
        line(handedBack, 1, 'join', 'Ada joined'), line(handedBack, 2, 'leave', 'Ada left'),
      ].join(', ')}`);

    await copy(files.filter((name) => name.startsWith('0013')));
    expect(await migrate(database.url, dir)).toEqual(['0013_session_agent_names.sql']);
    const names = await client.query<{ session_id: string; agent_name: string | null }>('SELECT session_id, agent_name FROM chat_sessions');
    expect(Object.fromEntries(names.rows.map((row) => [row.session_id, row.agent_name]))).toEqual({
      [taken]: 'Ada', [retaken]: 'Ada Lovelace', [handedBack]: null,
    });
  });

  it("0013 keeps a session's agent name when a node of the release before, which writes no name, projects the session during a rolling upgrade", async () => {
    expect(await migrate(database.url)).toContain('0013_session_agent_names.sql');
    const sessionId = '3f1c2b9e-5d7a-4c1e-9b2f-6a8d0e4c7b15';
    const row = (revision: number, agent: Record<string, string | null>) => ({
      session_id: sessionId, user_id: 'customer-1', subject: 'Keys', start_time: '2026-12-08T10:00:00Z',
      session_status: agent.agent_id ? 'active' : 'waiting', message_count: 0, unread_for_user: 0, unread_for_agent: 0, revision, ...agent,
    });
    const write = async (session: object) => {
      await client.query('SELECT write_live_chat_rows($1::json, $2::json)', [JSON.stringify([session]), '[]']);
      return (await client.query<{ agent_name: string | null }>('SELECT agent_name FROM chat_sessions')).rows[0]!.agent_name;
    };

    expect(await write(row(1, { agent_id: 'agent-1', agent_name: 'Ada' }))).toBe('Ada');
    // The release before: a message in the chat (the same agent), then the agent hands it back, then another takes it.
    expect(await write(row(2, { agent_id: 'agent-1' }))).toBe('Ada');
    expect(await write(row(3, { agent_id: null }))).toBeNull();
    expect(await write(row(4, { agent_id: 'agent-2' }))).toBeNull();
    // This release again, the agent's name known.
    expect(await write(row(5, { agent_id: 'agent-2', agent_name: 'Bea' }))).toBe('Bea');
  });
});
