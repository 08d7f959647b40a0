import type { DatabasePool } from 'slonik';
import { openEventStore } from './configured-event-store.js';
import { EventStoreDbEventStore } from './eventstoredb-event-store.js';
import { PostgresEventStore } from './postgres-event-store.js';

const pool = {} as DatabasePool;

describe('openEventStore', () => {
  it('opens the log in PostgreSQL when EventStoreDB is not configured', async () => {
    const store = await openEventStore({ eventStore: 'postgres', eventStoreConnectionString: undefined }, pool);
    expect(store).toBeInstanceOf(PostgresEventStore);
  });

  it('opens EventStoreDB when configured, without connecting yet (nothing listens on port 1)', async () => {
    const store = await openEventStore({ eventStore: 'eventstoredb', eventStoreConnectionString: 'esdb://127.0.0.1:1?tls=false' }, pool);
    expect(store).toBeInstanceOf(EventStoreDbEventStore);
    await store.close();
  });
});
