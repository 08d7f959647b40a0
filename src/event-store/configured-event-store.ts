import type { DatabasePool } from 'slonik';
import type { Config } from '../config.js';
import type { EventStore } from './event-store.js';
import { PostgresEventStore } from './postgres-event-store.js';

/**
 * The event store the configuration names: EventStoreDB, or the log in PostgreSQL over `pool`.
 * The EventStoreDB adapter is loaded only when it is the one: its gRPC client and protocol
 * definitions took some 5 MiB of the server's heap and 15 MiB of its RSS (README), which a server
 * on PostgreSQL would keep for nothing and mark at every full garbage collection.
 */
export async function openEventStore(config: Pick<Config, 'eventStore' | 'eventStoreConnectionString'>, pool: DatabasePool): Promise<EventStore> {
  if (config.eventStore !== 'eventstoredb') return new PostgresEventStore(pool);
  const { EventStoreDbEventStore } = await import('./eventstoredb-event-store.js');
  return EventStoreDbEventStore.connect(config.eventStoreConnectionString!);
}
