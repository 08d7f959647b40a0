import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { sql } from 'slonik';
import { z } from 'zod';
import { migrate } from '../src/database/migrations.js';
import { createTestDatabase } from '../test/database.js';
import { CHAT_TABLES, chatProjection } from './chat.projection.js';
import { readCheckpoint, readSwaps } from './checkpoints.js';
import { ProjectionRunner } from './projection-runner.js';
import { DependentsNotCarried, LiveTablesBusy, LiveTablesChanged, RebuildInProgress, type RebuildProgress, rebuildProjection } from './rebuild.js';
import {
  allChatEvents, chatProjectedFromScratch, conversation, customer, eventually, listenForNotices, openTestLog,
  tableContents, type NoticeListener, type TestLog, waitCaughtUp,
} from './testing/fixtures.js';

describe('rebuilding the chat projection', () => {
  let log: TestLog;
  let listener: NoticeListener;
  let live: ProjectionRunner;

  beforeEach(async () => {
    log = await openTestLog(await createTestDatabase());
    listener = await listenForNotices(log.url);
    live = new ProjectionRunner({ databaseUrl: log.url, store: log.store, projections: [chatProjection], batchSize: 50, lockRetryMs: 50 });
  });
  afterEach(async () => {
    await live.stop();
    await listener.close();
    await log.close();
  });

  const appendConversations = async (count: number, messages = 10) => {
    for (let i = 0; i < count; i++) {
      const sessionId = randomUUID();
      await log.chat.append(sessionId, conversation(sessionId, messages));
    }
  };
  const rebuild = (onProgress?: (progress: RebuildProgress) => void | Promise<void>) =>
    rebuildProjection({ databaseUrl: log.url, store: log.store, projection: chatProjection, batchSize: 100, onProgress });
  /** A rebuild held at its first progress report (`building` then) until `release`. */
  const heldRebuild = () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const building = new Promise<void>((resolve) => (started = resolve));
    const rebuilt = rebuild(async () => {
      started();
      await held;
    });
    return { rebuilt, building, release };
  };
  const caughtUp = () => waitCaughtUp(log, [live], { timeoutMs: 20_000 });
  /** The names and ids of the tables and indexes of the chat read model and its rebuilds. */
  const schema = () => log.pool.any(sql.type(z.object({ relname: z.string(), oid: z.number(), table: z.string() }))`
    SELECT c.relname, c.oid::int AS oid, coalesce(t.relname, c.relname) AS table
    FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid LEFT JOIN pg_class t ON t.oid = i.indrelid
    WHERE c.relname LIKE 'chat\\_%' AND c.relkind IN ('r', 'i') ORDER BY c.relname`);
  const names = async () => (await schema()).map((relation) => `${relation.table}:${relation.relname}`);

  it('swaps in tables equal to what the live projector builds, while events keep coming and queries keep being answered', async () => {
    await appendConversations(40);
    live.start();
    await caughtUp();
    const before = await schema();

    let busy = true;
    let appendedDuring = 0;
    const writing = (async () => {
      while (busy) {
        const sessionId = randomUUID();
        for (const event of conversation(sessionId, 3)) {
          await log.chat.append(sessionId, [event]);
          appendedDuring++;
          await sleep(2); // a steady stream of writes, not a flood the rebuild could never catch up with
        }
      }
    })();
    const queryErrors: unknown[] = [];
    let queries = 0;
    const querying = (async () => {
      while (busy) {
        await log.pool.any(sql.unsafe`
          SELECT s.session_id, s.message_count, count(m.message_id) AS lines
          FROM chat_sessions s LEFT JOIN chat_messages m USING (session_id)
          WHERE s.session_status = 'closed' GROUP BY s.session_id, s.message_count`)
          .then(() => queries++, (error: unknown) => queryErrors.push(error));
      }
    })();
    const progress: RebuildProgress[] = [];

    const result = await rebuild((report) => void progress.push(report)).finally(() => {
      busy = false;
    });
    expect(appendedDuring).toBeGreaterThan(0);
    await Promise.all([writing, querying]);
    await caughtUp();

    expect(await tableContents(log.pool, CHAT_TABLES)).toEqual(await chatProjectedFromScratch(log));
    expect(queryErrors).toEqual([]);
    expect(queries).toBeGreaterThan(10);
    const total = progress[0]!.total;
    expect(progress[0]).toEqual({ done: 0, total: expect.any(Number) });
    expect(total).toBeGreaterThanOrEqual(40 * 16); // and the events of the writer before the count
    expect(progress.map((p) => p.done)).toEqual([...progress.map((p) => p.done)].sort((a, b) => a - b));
    expect(progress.at(-1)).toEqual({ done: result.eventsProjected, total });
    expect(result.eventsProjected).toBeGreaterThanOrEqual(total);
    expect(await readCheckpoint(log.pool, chatProjection.name)).toEqual((await allChatEvents(log.store)).at(-1)!.logPosition);

    // New tables under the old names, indexes included; no copy left behind.
    const after = await schema();
    expect(after.map((r) => `${r.table}:${r.relname}`)).toEqual(before.map((r) => `${r.table}:${r.relname}`));
    expect(after.find((r) => r.relname === 'chat_sessions')!.oid).not.toBe(before.find((r) => r.relname === 'chat_sessions')!.oid);
    // The live feed went on through the swap: each event announced once, in log order.
    const events = await allChatEvents(log.store);
    await eventually(() => listener.notices.length, (count) => count >= events.length, { what: 'every notice' });
    expect(listener.notices.map((notice) => notice.eventId)).toEqual(events.map((event) => event.eventId));
    expect(live.status()[0]).toMatchObject({ state: 'running', holdsLock: true });
  });

  it('keeps the live tables\' statistics targets and storage parameters, which LIKE does not copy', async () => {
    const settings = async () => (await log.pool.any(sql.type(z.object({ setting: z.string() }))`
      SELECT c.relname || '.' || a.attname || '=' || coalesce(a.attstattarget::text, 'default') AS setting
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relname IN ('chat_sessions', 'chat_messages') AND a.attnum > 0 AND NOT a.attisdropped
      UNION ALL
      SELECT relname || ' WITH ' || coalesce(array_to_string(reloptions, ', '), 'defaults') FROM pg_class
      WHERE relname IN ('chat_sessions', 'chat_messages')
      ORDER BY 1`)).map((row) => row.setting);
    await appendConversations(2);
    const before = await settings();
    expect(before).toEqual(expect.arrayContaining([
      'chat_messages.session_id=10', 'chat_messages.message_content=10', 'chat_sessions.user_id=default',
      'chat_messages WITH autovacuum_vacuum_insert_threshold=10000, autovacuum_vacuum_insert_scale_factor=0',
      'chat_sessions WITH defaults',
    ]));

    await rebuild();

    expect(await settings()).toEqual(before);
  });

  it('projects and announces the events the live projection has not reached, when it is not running', async () => {
    await appendConversations(3);
    live.start();
    await caughtUp();
    await live.stop();
    const projectedLive = (await allChatEvents(log.store)).length;
    await appendConversations(2);

    await rebuild();

    expect(await tableContents(log.pool, CHAT_TABLES)).toEqual(await chatProjectedFromScratch(log));
    const events = await allChatEvents(log.store);
    await eventually(() => listener.notices.length, (count) => count >= events.length, { what: 'every notice' });
    expect(listener.notices.map((notice) => notice.eventId)).toEqual(events.map((event) => event.eventId));

    live.start();
    await appendConversations(1);
    await caughtUp();
    expect(live.status()[0]!.eventsProjected).toBe(projectedLive + 16); // resumed after the rebuild's checkpoint
    expect(await tableContents(log.pool, CHAT_TABLES)).toEqual(await chatProjectedFromScratch(log));
  });

  it("keeps the live projection from writing its memory of the old tables over the new, when the swap left the checkpoint where it was", async () => {
    const sessionId = randomUUID();
    const [opened, joined, first, second] = conversation(sessionId, 3);
    await log.chat.append(sessionId, [opened!, joined!, first!]);
    live.start();
    await caughtUp();
    await live.stop();
    // A row gone wrong, which the live projection then reads into its memory as it writes the next message.
    await log.pool.query(sql.unsafe`UPDATE chat_sessions SET message_count = 999 WHERE session_id = ${sessionId}`);
    live.start();
    await log.chat.append(sessionId, [second!]);
    await caughtUp();
    const messageCount = () => log.pool.oneFirst(sql.type(z.object({ message_count: z.number() }))`
      SELECT message_count FROM chat_sessions WHERE session_id = ${sessionId}`);
    expect(await messageCount()).toBe(1000);

    const before = await readCheckpoint(log.pool, chatProjection.name);
    await rebuild();
    expect(await readCheckpoint(log.pool, chatProjection.name)).toEqual(before); // nothing happened meanwhile
    expect(await messageCount()).toBe(2);

    await log.chat.append(sessionId, [
      { type: 'ChatMessageSent', data: { sessionId, messageId: randomUUID(), senderId: customer.id, senderType: 'user', body: 'third' } },
    ]);
    await caughtUp();
    expect(await messageCount()).toBe(3);
  });

  it('leaves the live tables untouched when interrupted half-way, and succeeds when run again', async () => {
    await appendConversations(20);
    live.start();
    await caughtUp();
    const [contents, relations] = [await tableContents(log.pool, CHAT_TABLES), await schema()];
    const interruption = new Error('interrupted');

    const interrupted = rebuild(({ done, total }) => {
      if (done >= total / 2) throw interruption;
    });

    await expect(interrupted).rejects.toBe(interruption);
    expect(await tableContents(log.pool, CHAT_TABLES)).toEqual(contents);
    expect(await schema()).toEqual(expect.arrayContaining(relations));
    expect(await names()).toEqual(expect.arrayContaining(['chat_sessions__rebuild:chat_sessions__rebuild']));

    await appendConversations(2);
    await rebuild();
    await caughtUp();
    expect(await tableContents(log.pool, CHAT_TABLES)).toEqual(await chatProjectedFromScratch(log));
    expect(await names()).toEqual(relations.map((r) => `${r.table}:${r.relname}`));
  });

  it('stops at its signal before its swap commits, even one with nothing left to project, the live tables as they were', async () => {
    await appendConversations(5);
    live.start();
    await caughtUp();
    const [contents, swaps] = [await tableContents(log.pool, CHAT_TABLES), await readSwaps(log.pool, chatProjection.name)];
    const stopping = new AbortController();
    const waitsToSwap = async () => log.pool.oneFirst(sql.type(z.object({ waiting: z.boolean() }))`
      SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_stat_activity a USING (pid)
        WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = 'parley-rebuild-chat') AS waiting`);
    // The projection's write lock, held here: the rebuild, caught up, waits for it to swap.
    const holder = new pg.Client({ connectionString: log.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT pg_advisory_xact_lock(hashtextextended('parley.projection.write:chat', 0))`);
    const rebuilt = rebuildProjection({ databaseUrl: log.url, store: log.store, projection: chatProjection, signal: stopping.signal });
    try {
      await eventually(waitsToSwap, Boolean, { what: 'the rebuild waiting to swap' });
      stopping.abort(new Error('stopped'));
    } finally {
      await holder.end();
    }

    await expect(rebuilt).rejects.toBe(stopping.signal.reason);
    expect(await tableContents(log.pool, CHAT_TABLES)).toEqual(contents);
    expect(await readSwaps(log.pool, chatProjection.name)).toBe(swaps);
  });

  it("keeps the live tables' replica identity (FULL, or an index's) and the index CLUSTER orders them by, which LIKE does not copy", async () => {
    await appendConversations(2);
    await log.pool.query(sql.unsafe`ALTER TABLE chat_sessions REPLICA IDENTITY FULL`);
    await log.pool.query(sql.unsafe`ALTER TABLE chat_messages REPLICA IDENTITY USING INDEX chat_messages_by_revision`);
    await log.pool.query(sql.unsafe`ALTER TABLE chat_messages CLUSTER ON chat_messages_pkey`);
    const markers = () => log.pool.anyFirst(sql.type(z.object({ marker: z.string() }))`
      SELECT relname || ' replica identity ' || relreplident::text AS marker FROM pg_class WHERE relname IN ('chat_sessions', 'chat_messages')
      UNION ALL
      SELECT i.relname || CASE WHEN x.indisreplident THEN ' replica identity' ELSE '' END || CASE WHEN x.indisclustered THEN ' clustered' ELSE '' END
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
      WHERE x.indrelid IN ('chat_sessions'::regclass, 'chat_messages'::regclass) AND (x.indisreplident OR x.indisclustered)
      ORDER BY 1`);
    const before = await markers();
    expect(before).toEqual([
      'chat_messages replica identity i', 'chat_messages_by_revision replica identity', 'chat_messages_pkey clustered',
      'chat_sessions replica identity f',
    ]);

    await rebuild();

    expect(await markers()).toEqual(before);
    await log.pool.query(sql.unsafe`CLUSTER chat_messages`); // an operator's, on the index it was clustered on
  });

  it('keeps the comments on the live tables and on their columns, those made while it built too (a migration\'s)', async () => {
    await appendConversations(2);
    const comments = () => log.pool.anyFirst(sql.type(z.object({ comment: z.string() }))`
      SELECT c.relname || coalesce('.' || a.attname, '') || ': ' || d.description AS comment
      FROM pg_description d JOIN pg_class c ON c.oid = d.objoid
      LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid AND d.objsubid > 0
      WHERE d.classoid = 'pg_class'::regclass AND c.relname IN ('chat_sessions', 'chat_messages') ORDER BY 1`);
    await log.pool.query(sql.unsafe`COMMENT ON TABLE chat_sessions IS 'A chat''s row, kept by the chat projection'`);
    await log.pool.query(sql.unsafe`COMMENT ON COLUMN chat_sessions.revision IS 'The revision of the last event applied'`);
    const { rebuilt, building, release } = heldRebuild();
    await building;
    await log.pool.query(sql.unsafe`COMMENT ON COLUMN chat_messages.position IS 'The log position of the event'`);
    const before = await comments();
    expect(before).toEqual([
      'chat_messages.position: The log position of the event', 'chat_sessions.revision: The revision of the last event applied',
      'chat_sessions: A chat\'s row, kept by the chat projection',
    ]);
    release();

    await rebuilt;

    expect(await comments()).toEqual(before);
  });

  /** A reporting role for the test, dropped with what it was granted once `work` ends. */
  const withRole = async (work: (role: string) => Promise<void>) => {
    const role = `reporting_${randomUUID().slice(0, 8)}`;
    await log.pool.query(sql.unsafe`CREATE ROLE ${sql.identifier([role])}`);
    try {
      await work(role);
    } finally {
      await log.pool.query(sql.unsafe`DROP OWNED BY ${sql.identifier([role])}`);
      await log.pool.query(sql.unsafe`DROP ROLE ${sql.identifier([role])}`);
    }
  };
  /** What each of `queries` answers `role` (its rows, or its error's message), in one transaction with `settings` set. */
  const askedAs = async (role: string, settings: Record<string, string>, ...queries: string[]) => {
    const client = new pg.Client({ connectionString: log.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL ROLE "${role}"`);
      for (const [name, value] of Object.entries(settings)) await client.query('SELECT set_config($1, $2, true)', [name, value]);
      const answers: unknown[] = [];
      for (const query of queries) answers.push((await client.query(query).catch((error: Error) => ({ rows: error.message }))).rows);
      return answers;
    } finally {
      await client.end();
    }
  };

  it("keeps the privileges granted on the live tables (a reporting role's SELECT), which LIKE does not copy", async () => {
    await appendConversations(2);
    await withRole(async (role) => {
      const canRead = () => log.pool.oneFirst(sql.type(z.object({ allowed: z.boolean() }))`
        SELECT has_table_privilege(${role}, 'chat_sessions', 'SELECT') AND has_table_privilege(${role}, 'chat_messages', 'SELECT') AS allowed`);
      await log.pool.query(sql.unsafe`GRANT SELECT ON chat_sessions, chat_messages TO ${sql.identifier([role])}`);
      expect(await canRead()).toBe(true);

      await rebuild();

      expect(await canRead()).toBe(true);
    });
  });

  it("keeps the privileges granted on some columns of the live tables only (a reporting role's SELECT of a few), which LIKE does not copy", async () => {
    await appendConversations(2);
    live.start();
    await caughtUp();
    await withRole(async (role) => {
      const columnGrants = () => log.pool.anyFirst(sql.type(z.object({ grant: z.string() }))`
        SELECT c.relname || '.' || a.attname || ' ' || acl.privilege_type || CASE WHEN acl.is_grantable THEN ' grantable' ELSE '' END AS grant
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid, aclexplode(a.attacl) AS acl
        WHERE c.relname IN ('chat_sessions', 'chat_messages') AND acl.grantee = ${role}::regrole ORDER BY 1`);
      const report = () => askedAs(role, {},
        'SELECT count(*)::int AS n FROM chat_sessions WHERE session_status = \'closed\'',
        'SELECT count(DISTINCT session_id)::int AS n FROM chat_messages');
      await log.pool.query(sql.unsafe`GRANT SELECT (session_id, session_status) ON chat_sessions TO ${sql.identifier([role])}`);
      await log.pool.query(sql.unsafe`GRANT SELECT (session_id) ON chat_messages TO ${sql.identifier([role])} WITH GRANT OPTION`);
      const before = await columnGrants();
      expect(before).toEqual(['chat_messages.session_id SELECT grantable', 'chat_sessions.session_id SELECT', 'chat_sessions.session_status SELECT']);
      expect(await report()).toEqual([[{ n: 2 }], [{ n: 2 }]]);

      await rebuild();

      expect(await report()).toEqual([[{ n: 2 }], [{ n: 2 }]]);
      expect(await columnGrants()).toEqual(before);
    });
  });

  it("keeps the live tables' owner, an operator's role, with the privileges that gives and those it granted", async () => {
    await appendConversations(2);
    live.start();
    await caughtUp();
    await withRole(async (owner) => {
      await withRole(async (reporting) => {
        await log.pool.query(sql.unsafe`ALTER TABLE chat_sessions OWNER TO ${sql.identifier([owner])}`);
        await log.pool.query(sql.unsafe`ALTER TABLE chat_messages OWNER TO ${sql.identifier([owner])}`);
        await log.pool.query(sql.unsafe`GRANT SELECT ON chat_sessions TO ${sql.identifier([reporting])}`);
        const owners = () => log.pool.anyFirst(sql.type(z.object({ owner: z.string() }))`
          SELECT relname || ' ' || pg_get_userbyid(relowner) || ' ' || coalesce(relacl::text, 'owner''s defaults') AS owner
          FROM pg_class WHERE relname IN ('chat_sessions', 'chat_messages') ORDER BY 1`);
        const before = await owners();
        expect(before).toEqual([
          `chat_messages ${owner} owner's defaults`, `chat_sessions ${owner} {${owner}=arwdDxtm/${owner},${reporting}=r/${owner}}`,
        ]);
        const fix = 'UPDATE chat_sessions SET subject = trim(subject) RETURNING 1 AS n'; // an operator's, as the owner
        expect(await askedAs(owner, {}, fix, 'SELECT count(*)::int AS n FROM chat_messages')).toEqual([[{ n: 1 }, { n: 1 }], [{ n: 24 }]]);

        await rebuild();

        expect(await owners()).toEqual(before);
        expect(await askedAs(owner, {}, fix, 'SELECT count(*)::int AS n FROM chat_messages')).toEqual([[{ n: 1 }, { n: 1 }], [{ n: 24 }]]);
      });
    });
  });

  it('keeps row security on the live tables: enabled and forced as it was, with its policies, one reading the other table', async () => {
    await appendConversations(3);
    live.start();
    await caughtUp();
    await withRole(async (role) => {
      const sessionId = await log.pool.oneFirst(sql.type(z.object({ id: z.string() }))`SELECT min(session_id::text) AS id FROM chat_sessions`);
      const to = sql.identifier([role]);
      await log.pool.query(sql.unsafe`GRANT SELECT ON chat_sessions, chat_messages TO ${to}`);
      await log.pool.query(sql.unsafe`ALTER TABLE chat_sessions ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY`);
      await log.pool.query(sql.unsafe`ALTER TABLE chat_messages ENABLE ROW LEVEL SECURITY`);
      await log.pool.query(sql.unsafe`CREATE POLICY one_session ON chat_sessions FOR SELECT TO ${to}
        USING (session_id = current_setting('parley.session')::uuid)`);
      await log.pool.query(sql.unsafe`CREATE POLICY of_sessions_seen ON chat_messages AS PERMISSIVE FOR SELECT TO ${to}, PUBLIC
        USING (EXISTS (SELECT FROM chat_sessions s WHERE s.session_id = chat_messages.session_id))`);
      await log.pool.query(sql.unsafe`CREATE POLICY no_system_lines ON chat_messages AS RESTRICTIVE FOR ALL TO ${to}
        USING (sender_type <> 'system') WITH CHECK (false)`);
      const rowSecurity = () => log.pool.anyFirst(sql.type(z.object({ setting: z.string() }))`
        SELECT relname || ' ' || relrowsecurity || ' ' || relforcerowsecurity AS setting FROM pg_class
        WHERE relname IN ('chat_sessions', 'chat_messages')
        UNION ALL
        SELECT concat_ws(' ', tablename, policyname, permissive, roles::text, cmd, qual, with_check) FROM pg_policies
        WHERE tablename IN ('chat_sessions', 'chat_messages')
        ORDER BY 1`);
      const seen = () => askedAs(role, { 'parley.session': sessionId },
        'SELECT count(*)::int AS n FROM chat_sessions',
        'SELECT count(DISTINCT session_id)::int AS sessions, count(*)::int AS lines FROM chat_messages');
      const before = await rowSecurity();
      expect(before).toHaveLength(5);
      expect(await seen()).toEqual([[{ n: 1 }], [{ sessions: 1, lines: 10 }]]);

      await rebuild();

      expect(await seen()).toEqual([[{ n: 1 }], [{ sessions: 1, lines: 10 }]]);
      expect(await rowSecurity()).toEqual(before);
    });
  });

  it("swaps in under a view an operator made on the live tables (a report's), which then reads the rebuilt rows", async () => {
    await appendConversations(2);
    live.start();
    await caughtUp();
    await log.pool.query(sql.unsafe`CREATE VIEW sessions_by_status WITH (security_barrier) AS SELECT session_status, count(*) AS sessions FROM chat_sessions GROUP BY session_status`);
    const report = () => log.pool.any(sql.unsafe`SELECT * FROM sessions_by_status ORDER BY session_status`);
    const before = await report();
    expect(before).toEqual([{ session_status: 'closed', sessions: 2n }]);

    await rebuild();

    expect(await report()).toEqual(before);
    expect(await log.pool.oneFirst(sql.unsafe`SELECT 'chat_sessions'::regclass::oid = (
      SELECT refobjid FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
      WHERE r.ev_class = 'sessions_by_status'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.ev_class LIMIT 1)`)).toBe(true);
    expect(await log.pool.oneFirst(sql.unsafe`SELECT reloptions FROM pg_class WHERE oid = 'sessions_by_status'::regclass`))
      .toEqual(['security_barrier=true']);
  });

  it('refuses, before it builds, when an object it cannot move onto the rebuilt tables depends on them, naming it', async () => {
    await appendConversations(2);
    await log.pool.query(sql.unsafe`CREATE MATERIALIZED VIEW sessions_by_status AS SELECT session_status, count(*) AS sessions FROM chat_sessions GROUP BY session_status`);
    const before = await schema();

    await expect(rebuild()).rejects.toThrow(new DependentsNotCarried('chat', ['materialized view sessions_by_status']));

    expect(await schema()).toEqual(before); // no fresh tables made
  });

  it("refuses, before it builds, an operator's trigger on the live tables, naming it, but not a foreign key's own triggers", async () => {
    await appendConversations(2);
    await log.pool.query(sql.unsafe`CREATE FUNCTION audit_session() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`);
    await log.pool.query(sql.unsafe`CREATE TRIGGER audit_session AFTER UPDATE ON chat_sessions FOR EACH ROW EXECUTE FUNCTION audit_session()`);
    await log.pool.query(sql.unsafe`CREATE TABLE rentals (session_id uuid REFERENCES chat_sessions)`);
    const before = await schema();

    await expect(rebuild()).rejects.toThrow(new DependentsNotCarried('chat', [
      'constraint rentals_session_id_fkey on table rentals', 'trigger audit_session on table chat_sessions',
    ]));

    expect(await schema()).toEqual(before); // no fresh tables made
  });

  it('refuses, before it builds, a rule on the live tables, or one of another table writing into them, naming each', async () => {
    await appendConversations(2);
    await log.pool.query(sql.unsafe`CREATE RULE keep_sessions AS ON DELETE TO chat_sessions DO INSTEAD NOTHING`);
    await log.pool.query(sql.unsafe`CREATE TABLE session_closings (session_id uuid)`);
    await log.pool.query(sql.unsafe`CREATE RULE close_session AS ON INSERT TO session_closings
      DO ALSO UPDATE chat_sessions SET session_status = 'closed' WHERE session_id = NEW.session_id`);
    const before = await schema();

    await expect(rebuild()).rejects.toThrow(new DependentsNotCarried('chat', [
      'rule close_session on table session_closings', 'rule keep_sessions on table chat_sessions',
    ]));

    expect(await schema()).toEqual(before); // no fresh tables made
  });

  it("refuses, before it builds, when the live tables are published (logical replication, change capture), even with all tables, naming each publication", async () => {
    await appendConversations(2);
    await log.pool.query(sql.unsafe`CREATE PUBLICATION transcripts FOR TABLE chat_messages`);
    await log.pool.query(sql.unsafe`CREATE PUBLICATION public_tables FOR TABLES IN SCHEMA public`);
    await log.pool.query(sql.unsafe`CREATE PUBLICATION warehouse FOR ALL TABLES`);
    const before = await schema();

    await expect(rebuild()).rejects.toThrow(new DependentsNotCarried('chat', [
      'publication of schema public in publication public_tables', 'publication of table chat_messages in publication transcripts',
      'publication warehouse of all tables',
    ]));

    expect(await schema()).toEqual(before); // no fresh tables made, which the last two would publish
  });

  it('keeps the live tables answering while its swap waits for a long query on them (a pg_dump, a report), and swaps once it ends', async () => {
    await appendConversations(3);
    live.start();
    await caughtUp();
    const client = async () => {
      const connected = new pg.Client({ connectionString: log.url });
      await connected.connect();
      return connected;
    };
    const [dump, api] = [await client(), await client()];
    await dump.query('BEGIN');
    await dump.query('SELECT count(*) FROM chat_sessions'); // holds it, shared, until its transaction ends
    const rebuilt = rebuildProjection({ databaseUrl: log.url, store: log.store, projection: chatProjection });
    try {
      await eventually(() => log.pool.exists(sql.unsafe`
        SELECT FROM pg_stat_activity WHERE application_name = 'parley-rebuild-chat' AND wait_event_type = 'Lock'`), Boolean, { what: 'the swap waiting' });

      // A query of the API meanwhile, which gives up when it waits 2 s for the table: it may queue
      // behind a try of the swap (PostgreSQL's lock queue), which gives way before that.
      await api.query("SET lock_timeout = '2s'");
      const { rows } = await api.query<{ sessions: string }>('SELECT count(*) AS sessions FROM chat_sessions');
      expect(rows).toEqual([{ sessions: '3' }]);
    } finally {
      await dump.end();
      await api.end();
      await Promise.allSettled([rebuilt]);
    }
    expect(await rebuilt).toMatchObject({ eventsProjected: (await allChatEvents(log.store)).length });
  });

  it("gives up its swap, the live tables as they were, when the live projection's batch under way holds its write lock through every attempt", async () => {
    await appendConversations(3);
    const [contents, swaps] = [await tableContents(log.pool, CHAT_TABLES), await readSwaps(log.pool, chatProjection.name)];
    // A batch of the live projection held open (its host cut off from the network, say): its write lock, held here.
    const batch = new pg.Client({ connectionString: log.url });
    await batch.connect();
    try {
      await batch.query('BEGIN');
      await batch.query(`SELECT pg_advisory_xact_lock(hashtextextended('parley.projection.write:chat', 0))`);

      const rebuilt = rebuildProjection({
        databaseUrl: log.url, store: log.store, projection: chatProjection, batchWaitMs: 100, swapAttempts: 2,
      });

      await expect(rebuilt).rejects.toThrow(new LiveTablesBusy('chat', ['batch'], 2, {}).message);
    } finally {
      await batch.end();
    }
    expect(await tableContents(log.pool, CHAT_TABLES)).toEqual(contents);
    expect(await readSwaps(log.pool, chatProjection.name)).toBe(swaps);
  });

  it('keeps what a migration applied to the live tables while it built (a new release starting meanwhile)', async () => {
    await appendConversations(3);
    live.start();
    await caughtUp();
    const dir = await mkdtemp(join(tmpdir(), 'parley-migrations-'));
    try {
      await writeFile(join(dir, '0011_session_channel.sql'), 'ALTER TABLE chat_sessions ADD COLUMN channel text;\n');
      const { rebuilt, building, release } = heldRebuild();
      await building;
      expect(await migrate(log.url, dir)).toEqual(['0011_session_channel.sql']);
      release();
      // Built by this release's projection, which may not know the column, the fresh tables are not swapped in.
      await expect(rebuilt).rejects.toThrow(new LiveTablesChanged(['chat_sessions']));

      // schema_migrations says 0011 is applied: the new release's queries count on the column.
      expect(await log.pool.maybeOneFirst(sql.type(z.object({ attname: z.string() }))`
        SELECT attname FROM pg_attribute WHERE attrelid = 'chat_sessions'::regclass AND attname = 'channel' AND NOT attisdropped`))
        .toBe('channel');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses to run beside another rebuild of the same projection', async () => {
    await appendConversations(3);
    const { rebuilt: first, building, release } = heldRebuild();
    await building;
    await expect(rebuild()).rejects.toBeInstanceOf(RebuildInProgress);
    release();
    await first;
    expect(await tableContents(log.pool, CHAT_TABLES)).toEqual(await chatProjectedFromScratch(log));
  });
});
