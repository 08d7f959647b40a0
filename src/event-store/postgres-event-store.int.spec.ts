import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createDatabasePool } from '../database/pool.js';
import { createTestDatabase } from '../../test/database.js';
import { describeEventStoreContract } from './event-store.contract.js';
import { categoryOf } from './event-store.js';
import { PostgresEventStore } from './postgres-event-store.js';

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

describe('the PostgreSQL subscription', () => {
  it('reads events held back behind an open transaction as soon as it ends, not at the next poll', async () => {
    const database = await createTestDatabase();
    const pool = await createDatabasePool(database.url);
    const holder = new pg.Client({ connectionString: database.url });
    // A poll interval no test waits for: only the retry after finding events held back can deliver them.
    const store = new PostgresEventStore(pool, { pollIntervalMs: 600_000 });
    const foundHeldBack = new Promise<void>((resolve) => {
      const readPage = store.readPage.bind(store);
      store.readPage = async (...args) => {
        const page = await readPage(...args);
        if (page.heldBack) resolve();
        return page;
      };
    });
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
