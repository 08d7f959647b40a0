import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { createDatabasePool } from '../database/pool.js';
import { createTestDatabase } from '../../test/database.js';
import { waitFor } from '../../test/processes.js';
import { startTcpProxy } from '../../test/tcp-proxy.js';
import { describeEventStoreContract } from './event-store.contract.js';
import { DuplicateEventId, EventStoreUnavailable, type RecordedEvent, WrongExpectedVersion, categoryOf } from './event-store.js';
import { APPENDS_CHANNEL, PostgresEventStore, type PostgresEventStoreOptions } from './postgres-event-store.js';

describeEventStoreContract('postgres', async () => {
  const database = await createTestDatabase();
  const pool = await createDatabasePool(database.url, { maximumPoolSize: 12 });
  const held: pg.Client[] = [];
  return {
    store: new PostgresEventStore(pool, { pollIntervalMs: 10 }),
    holdAppend: async (streamName, events) => {
      const client = new pg.Client({ connectionString: database.url });
      held.push(client);
      await client.connect();
      await client.query('BEGIN');
      await client.query('SELECT append_to_stream($1, $2, $3, $4::uuid[], $5::text[], $6::jsonb[], $7::jsonb[])', [
        streamName, categoryOf(streamName), 'any',
        events.map((e) => e.eventId), events.map((e) => e.type),
        events.map((e) => JSON.stringify(e.data)), events.map((e) => JSON.stringify(e.metadata)),
      ]);
      return { commit: async () => void (await client.query('COMMIT')) };
    },
    cleanup: async () => {
      await Promise.all(held.map((client) => client.end()));
      await pool.end();
      await database.drop();
    },
  };
});

type Page = Awaited<ReturnType<PostgresEventStore['readPage']>>;

/** Counts the pages `store` reads from now on; `found` resolves once one of them `matches`. */
function watchPageReads(store: PostgresEventStore, matches: (page: Page) => boolean): { readonly count: number; readonly found: Promise<void> } {
  let count = 0;
  let found!: () => void;
  const readPage = store.readPage.bind(store);
  store.readPage = async (...args) => {
    count++;
    const page = await readPage(...args);
    if (matches(page)) found();
    return page;
  };
  return {
    get count() {
      return count;
    },
    found: new Promise<void>((resolve) => (found = resolve)),
  };
}

describe('the PostgreSQL subscription', () => {
  it('reads events held back behind an open transaction as soon as it ends, not at the next poll', async () => {
    const database = await createTestDatabase();
    const pool = await createDatabasePool(database.url);
    const holder = new pg.Client({ connectionString: database.url });
    // A poll interval no test waits for: only the retry after finding events held back can deliver them.
    const store = new PostgresEventStore(pool, { pollIntervalMs: 600_000 });
    const foundHeldBack = watchPageReads(store, (page) => page.heldBack).found;
    const subscription = store.subscribeToAll({ category: 'held' });
    try {
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query(`SELECT append_to_stream('held-1', 'held', 'any', ARRAY[gen_random_uuid()], ARRAY['Late'], ARRAY['{}'::jsonb], ARRAY['{}'::jsonb])`);
      const seen = (async () => {
        const types: string[] = [];
        for await (const event of subscription) if (types.push(event.type) === 2) return types;
        return types;
      })();
      // Wakes the subscription, which finds this event held back behind the open transaction.
      await store.appendToStream('held-2', [{ eventId: randomUUID(), type: 'Early', data: {}, metadata: {} }], { expectedRevision: 'no_stream' });
      await foundHeldBack;
      await holder.query('COMMIT');
      expect(await seen).toEqual(['Late', 'Early']);
    } finally {
      await subscription.close();
      await holder.end();
      await pool.end();
      await database.drop();
    }
  });
});

/**
 * Two processes' stores on one database: a writer (on its pool, or on what `writerPool` makes of
 * it) and a reader that hears of the writer's appends only by their announcements, passed on by a
 * LISTEN connection as a node's LiveFeed does (its poll interval is one no test waits for). `run`
 * is given them once the reader's subscription to `category` has read the empty log and waits:
 * `nextType` is the type of its next event, `heard` the announcements heard so far.
 */
async function withTwoProcesses(
  category: string,
  options: { writer?: PostgresEventStoreOptions; writerPool?: (pool: DatabasePool) => DatabasePool },
  run: (writer: PostgresEventStore, reader: { nextType(): Promise<string | undefined>; readonly heard: number }) => Promise<void>,
): Promise<void> {
  const database = await createTestDatabase();
  const [writerPool, readerPool] = await Promise.all([createDatabasePool(database.url), createDatabasePool(database.url)]);
  const writer = new PostgresEventStore(options.writerPool?.(writerPool) ?? writerPool, options.writer);
  const store = new PostgresEventStore(readerPool, { pollIntervalMs: 600_000 });
  const listener = new pg.Client({ connectionString: database.url });
  const caughtUp = watchPageReads(store, (page) => page.events.length === 0).found;
  const events = store.subscribeToAll({ category })[Symbol.asyncIterator]();
  let started: Promise<IteratorResult<RecordedEvent>> | undefined = events.next();
  const reader = {
    heard: 0,
    async nextType() {
      const next = started ?? events.next();
      started = undefined;
      return (await next).value?.type;
    },
  };
  listener.on('notification', ({ channel, payload }) => {
    if (channel !== APPENDS_CHANNEL) return;
    reader.heard++;
    store.appendsAnnounced(payload);
  });
  try {
    await listener.connect();
    await listener.query(`LISTEN ${APPENDS_CHANNEL}`);
    await caughtUp;
    await run(writer, reader);
  } finally {
    await events.return?.();
    await listener.end();
    await writer.close();
    await Promise.all([writerPool.end(), readerPool.end()]);
    await database.drop();
  }
}

/** Appends one event of type `type` to a new stream of `category`. */
function appendNew(store: PostgresEventStore, category: string, type: string) {
  return store.appendToStream(`${category}-${randomUUID()}`, [{ eventId: randomUUID(), type, data: {}, metadata: {} }], { expectedRevision: 'no_stream' });
}

describe('announcements of appends to other processes', () => {
  it('wake a subscription of another process, for an append made soon after an announcement too', async () => {
    // At most one announcement a second: the second append is made well within that.
    await withTwoProcesses('announced', { writer: { announceIntervalMs: 1_000 } }, async (writer, reader) => {
      await appendNew(writer, 'announced', 'First');
      expect(await reader.nextType()).toBe('First');
      expect(reader.heard).toBe(1);
      await appendNew(writer, 'announced', 'Second');
      expect(await reader.nextType()).toBe('Second');
      expect(reader.heard).toBe(2);
    });
  });

  it('are made again when they fail: the subscription of another process still hears of the append', async () => {
    // The writer's pool loses its first announcement (only announcements go through `query`).
    let refused = 0;
    const losingFirstAnnouncement = (pool: DatabasePool) =>
      new Proxy(pool, {
        get(target, key) {
          if (key === 'query' && refused === 0) {
            return () => {
              refused++;
              return Promise.reject(new Error('Connection terminated unexpectedly'));
            };
          }
          const value: unknown = Reflect.get(target, key);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    await withTwoProcesses('retried', { writerPool: losingFirstAnnouncement }, async (writer, reader) => {
      await appendNew(writer, 'retried', 'Retried');
      expect(await reader.nextType()).toBe('Retried');
      expect({ refused, heard: reader.heard }).toEqual({ refused: 1, heard: 1 });
    });
  });
});

describe("a store's own announcements", () => {
  it('wake none of its subscriptions: they heard of those appends already', async () => {
    const database = await createTestDatabase();
    const pool = await createDatabasePool(database.url);
    // A poll interval no test waits for: only appends and announcements wake the subscription.
    const store = new PostgresEventStore(pool, { pollIntervalMs: 600_000 });
    const other = new PostgresEventStore(pool);
    const listener = new pg.Client({ connectionString: database.url });
    let onAnnouncement: (payload: string) => void = () => {};
    listener.on('notification', ({ channel, payload }) => {
      if (channel === APPENDS_CHANNEL) onAnnouncement(payload ?? '');
    });
    const nextAnnouncement = () => new Promise<string>((resolve) => (onAnnouncement = resolve));
    const pageReads = watchPageReads(store, (page) => page.events.length === 0);
    const events = store.subscribeToAll({ category: 'own' })[Symbol.asyncIterator]();
    const append = (into: PostgresEventStore, name: string) =>
      into.appendToStream(`own-${name}`, [{ eventId: randomUUID(), type: name, data: {}, metadata: {} }], { expectedRevision: 'no_stream' });
    try {
      await listener.connect();
      await listener.query(`LISTEN ${APPENDS_CHANNEL}`);
      const first = events.next();
      await pageReads.found; // read 1: the empty log
      let announcement = nextAnnouncement();
      await append(store, 'Own');
      expect((await first).value?.type).toBe('Own'); // read 2, woken by the append itself
      store.appendsAnnounced(await announcement); // its own: nothing to look for
      announcement = nextAnnouncement();
      const second = events.next();
      await append(other, 'Other');
      store.appendsAnnounced(await announcement);
      expect((await second).value?.type).toBe('Other'); // read 3, woken by the other's announcement
      expect(pageReads.count).toBe(3);
    } finally {
      await events.return?.();
      await listener.end();
      await Promise.all([store.close(), other.close()]);
      await pool.end();
      await database.drop();
    }
  });
});

describe('group commit of the PostgreSQL event store', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: Awaited<ReturnType<typeof createDatabasePool>>;
  // One group at a time: the appends made while it commits form the next group.
  let store: PostgresEventStore;
  let category: string;
  const stream = (name: string) => `${category}-${name}`;
  const event = (type: string, data: Record<string, unknown> = {}) => ({ eventId: randomUUID(), type, data, metadata: {} });

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = await createDatabasePool(database.url);
    store = new PostgresEventStore(pool, { groupsInFlight: 1 });
  });
  afterAll(async () => {
    await pool.end();
    await database.drop();
  });
  beforeEach(() => {
    category = `group${randomUUID().slice(0, 8)}`;
  });

  it('commits the appends that wait behind one in flight in one transaction, a stream\'s next append in the next, each settled as if made alone', async () => {
    await store.appendToStream(stream('old'), [event('Old')], { expectedRevision: 'no_stream' });
    const retried = event('Retried');
    await store.appendToStream(stream('retried'), [retried], { expectedRevision: 'no_stream' });

    const [first, ...group] = await Promise.allSettled([
      store.appendToStream(stream('first'), [event('First')], { expectedRevision: 'no_stream' }),
      store.appendToStream(stream('a'), [event('A1'), event('A2')], { expectedRevision: 'no_stream' }),
      store.appendToStream(stream('old'), [event('Refused')], { expectedRevision: 'no_stream' }),
      store.appendToStream(stream('retried'), [retried], { expectedRevision: 'no_stream' }),
      store.appendToStream(stream('retried'), [retried, event('Partly new')], { expectedRevision: 'any' }),
      store.appendToStream(stream('a'), [event('A3')], { expectedRevision: 1n }),
    ]);

    expect(first).toEqual({ status: 'fulfilled', value: { nextExpectedRevision: 0n } });
    expect(group[0]).toEqual({ status: 'fulfilled', value: { nextExpectedRevision: 1n } });
    expect(group[1]).toMatchObject({ status: 'rejected', reason: expect.any(WrongExpectedVersion) });
    expect((group[1] as PromiseRejectedResult).reason.actual).toBe(0n);
    expect(group[2]).toEqual({ status: 'fulfilled', value: { nextExpectedRevision: 0n } });
    expect(group[3]).toMatchObject({ status: 'rejected', reason: expect.any(DuplicateEventId) });
    expect(group[4]).toEqual({ status: 'fulfilled', value: { nextExpectedRevision: 2n } });

    const log = await store.readAll({ category });
    expect(log.map((e) => e.type)).toEqual(['Old', 'Retried', 'First', 'A1', 'A2', 'A3']);
    expect(log.map((e) => `${e.streamName.slice(category.length + 1)}@${e.revision}`)).toEqual(['old@0', 'retried@0', 'first@0', 'a@0', 'a@1', 'a@2']);
    const [, , , a1, a2, a3] = log.map((e) => e.logPosition.commit);
    expect(new Set(log.map((e) => e.logPosition.commit)).size).toBe(5);
    expect(a2).toBe(a1);
    expect(a3).toBeGreaterThan(a2!);
  });

  it("answers an append the database leaves unanswered with EventStoreUnavailable, and lets the appends after it go", async () => {
    const impatient = new PostgresEventStore(pool, { groupsInFlight: 1, commitTimeoutMs: 300 });
    // The stream's lock held elsewhere: the database takes the group and answers nothing.
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [stream('stuck')]);
      const stuck = impatient.appendToStream(stream('stuck'), [event('Stuck')], { expectedRevision: 'no_stream' });
      const after = impatient.appendToStream(stream('free'), [event('Free')], { expectedRevision: 'no_stream' });

      await expect(stuck).rejects.toThrow(new EventStoreUnavailable(
        'PostgreSQL event store: no answer to an append within 300 ms; whether it was stored is not known',
      ));
      await expect(after).resolves.toEqual({ nextExpectedRevision: 0n });
    } finally {
      await holder.end(); // the lock with it: the unanswered append commits after all
    }
    await waitFor('the late commit', async () => (await store.readStream(stream('stuck'))).length === 1);
  });

  it('closes the connections of appends left unanswered: a network gone silent does not keep the pool from the database', async () => {
    const proxy = await startTcpProxy(Number(new URL(database.url).port));
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    const silentPool = await createDatabasePool(viaProxy.toString(), { maximumPoolSize: 2 });
    const impatient = new PostgresEventStore(silentPool, { groupsInFlight: 2, commitTimeoutMs: 300 });
    const append = (name: string) => impatient.appendToStream(stream(name), [event(name)], { expectedRevision: 'no_stream' });
    try {
      // Two queries at once: the pool opens both its connections.
      await Promise.all([silentPool.query(sql.unsafe`SELECT 1`), silentPool.query(sql.unsafe`SELECT 2`)]);
      // Those two go silent (a NAT that forgot them); new connections get through.
      proxy.freeze();
      const unanswered = await Promise.allSettled([append('lost-1'), append('lost-2')]);
      expect(unanswered).toEqual([
        { status: 'rejected', reason: expect.any(EventStoreUnavailable) },
        { status: 'rejected', reason: expect.any(EventStoreUnavailable) },
      ]);

      await expect(append('after')).resolves.toEqual({ nextExpectedRevision: 0n });
    } finally {
      await proxy.close(); // first: ending a pool waits for its queries, and a silent network answers none
      await silentPool.end();
    }
  });

  it('closes the connection of an append left unanswered: the database ends that session, the append with it', async () => {
    // PostgreSQL notices a client gone when it next talks to it, or, with this setting, within 50 ms.
    const url = new URL(database.url);
    url.searchParams.set('options', '-c client_connection_check_interval=50');
    url.searchParams.set('application_name', 'abandoned-append');
    const abandoningPool = await createDatabasePool(url.toString());
    const impatient = new PostgresEventStore(abandoningPool, { commitTimeoutMs: 300 });
    const sessions = () =>
      pool.oneFirst(sql.type(z.object({ count: z.number() }))`SELECT count(*)::int FROM pg_stat_activity WHERE application_name = 'abandoned-append'`);
    // The stream's lock held elsewhere: the database takes the append and answers nothing.
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [stream('abandoned')]);
      const abandoned = impatient.appendToStream(stream('abandoned'), [event('Abandoned')], { expectedRevision: 'no_stream' });
      await expect(abandoned).rejects.toThrow(EventStoreUnavailable);

      await waitFor('the session of the abandoned append to end', async () => (await sessions()) === 0);
    } finally {
      await holder.end();
      await abandoningPool.end();
    }
    expect(await store.readStream(stream('abandoned'))).toEqual([]);
  });

  it('answers appends to a database that takes no writes (a standby after a failover) with EventStoreUnavailable', async () => {
    const readOnly = await createTestDatabase();
    const name = sql.identifier([new URL(readOnly.url).pathname.slice(1)]);
    await pool.query(sql.unsafe`ALTER DATABASE ${name} SET default_transaction_read_only = on`);
    const standbyPool = await createDatabasePool(readOnly.url);
    try {
      const standby = new PostgresEventStore(standbyPool, { groupsInFlight: 1 });
      const appends = await Promise.allSettled(['first', 'grouped', 'too'].map((name) =>
        standby.appendToStream(stream(name), [event('Refused')], { expectedRevision: 'no_stream' })));
      for (const append of appends) {
        expect(append).toMatchObject({ status: 'rejected', reason: expect.any(EventStoreUnavailable) });
        expect((append as PromiseRejectedResult).reason.message).toMatch(/^PostgreSQL event store takes no writes for now: .*read-only transaction/);
      }
      expect(await standby.readAll({ category })).toEqual([]);
    } finally {
      await standbyPool.end();
      await readOnly.drop();
    }
  });

  it('appends a group that fails as a whole again one append at a time: only the culprits fail', async () => {
    const taken = event('Taken');
    await store.appendToStream(stream('owner'), [taken], { expectedRevision: 'no_stream' });

    const [, ...group] = await Promise.allSettled([
      store.appendToStream(stream('first'), [event('First')], { expectedRevision: 'no_stream' }),
      store.appendToStream(stream('x'), [event('X')], { expectedRevision: 'no_stream' }),
      store.appendToStream(stream('thief'), [taken], { expectedRevision: 'no_stream' }),
      store.appendToStream(stream('nul'), [event('Nul', { text: 'a\u0000b' })], { expectedRevision: 'no_stream' }),
      store.appendToStream(stream('y'), [event('Y')], { expectedRevision: 'no_stream' }),
    ]);

    expect(group[0]).toEqual({ status: 'fulfilled', value: { nextExpectedRevision: 0n } });
    expect(group[1]).toMatchObject({ status: 'rejected', reason: expect.any(DuplicateEventId) });
    expect(group[2]).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringMatching(/unicode escape/i) }) });
    expect(group[3]).toEqual({ status: 'fulfilled', value: { nextExpectedRevision: 0n } });
    expect((await store.readAll({ category })).map((e) => e.type)).toEqual(['Taken', 'First', 'X', 'Y']);
  });

  it('refuses a group that names a stream twice, writing nothing: a previous release\'s group then goes one append at a time', async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const twice = client.query(
        `SELECT * FROM append_to_streams($1, $2, ARRAY['any', 'any'], ARRAY[1, 1], $3::uuid[], ARRAY['A', 'B'], ARRAY['{}', '{}']::jsonb[], ARRAY['{}', '{}']::jsonb[])`,
        [[stream('twice'), stream('twice')], [category, category], [randomUUID(), randomUUID()]],
      );
      await expect(twice).rejects.toMatchObject({ code: 'PA400' });
    } finally {
      await client.end();
    }
    expect(await store.readStream(stream('twice'))).toEqual([]);
  });

  it('keeps the one-stream append_to_stream of the previous release: same results, same errors', async () => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const appendOne = (expected: string, ids: string[]) =>
      client.query<{ revision: string }>(
        `SELECT append_to_stream($1, $2, $3, $4::uuid[], ARRAY['E'], ARRAY['{}'::jsonb], ARRAY['{}'::jsonb]) AS revision`,
        [stream('old'), category, expected, ids],
      );
    try {
      const [id, other] = [randomUUID(), randomUUID()];
      expect((await appendOne('no_stream', [id])).rows[0]?.revision).toBe('0');
      expect((await appendOne('no_stream', [id])).rows[0]?.revision).toBe('0');
      await expect(appendOne('no_stream', [other])).rejects.toMatchObject({ code: 'PA409', detail: '0' });
      await expect(appendOne('stream_exists', [other, id])).rejects.toMatchObject({ code: 'PA422' });
      expect((await appendOne('0', [other])).rows[0]?.revision).toBe('1');
    } finally {
      await client.end();
    }
  });
});

describe('the events table', () => {
  it('gives the planner statistics of the columns queries look up, and none of the payloads, which none does', async () => {
    const database = await createTestDatabase();
    const pool = await createDatabasePool(database.url);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const store = new PostgresEventStore(pool);
      for (let i = 0; i < 20; i++) {
        const event = { eventId: randomUUID(), type: 'Sent', data: { body: `message ${i}` }, metadata: { hash: `${i}` } };
        await store.appendToStream(`statistics-${i % 4}`, [event], { expectedRevision: 'any' });
      }
      await client.query('ANALYZE events');
      const { rows } = await client.query<{ attname: string }>(
        `SELECT attname FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'events' ORDER BY attname`,
      );
      const gathered = rows.map((row) => row.attname);
      expect(gathered).toEqual(expect.arrayContaining(['event_id', 'position', 'revision', 'stream_name', 'transaction_id']));
      expect(gathered).not.toContain('data');
      expect(gathered).not.toContain('metadata');
    } finally {
      await client.end();
      await pool.end();
      await database.drop();
    }
  });
});
