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
