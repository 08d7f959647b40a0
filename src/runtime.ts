import type { DatabasePool } from 'slonik';
import { chatProjection } from '../read-models/chat.projection.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import type { Config } from './config.js';
import { startEmbeddedPostgres } from './database/embedded-postgres.js';
import { migrate } from './database/migrations.js';
import { createDatabasePool } from './database/pool.js';
import { explainUnreachable } from './database/unreachable.js';
import type { EventStore } from './event-store/event-store.js';
import { openEventStore } from './event-store/configured-event-store.js';

/** What the app runs on: the database (migrated), its pool, the event store and the projections. */
export interface Runtime {
  readonly config: Config;
  readonly databaseUrl: string;
  readonly pool: DatabasePool;
  readonly eventStore: EventStore;
  /** The read-model projections, running (this process leads them or stands by). */
  readonly projections: ProjectionRunner;
  /** Stops the projections, closes the event store and the pool, then the embedded database. */
  close(): Promise<void>;
}

/**
 * Starts the database (the embedded one unless `DATABASE_URL` is set), applies the migrations
 * and connects the event store.
 * @throws {DatabaseUnreachable} when PostgreSQL cannot be reached or logged into.
 */
export async function startRuntime(config: Config, log: (line: string) => void): Promise<Runtime> {
  const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres({
    dataDir: config.dataDir, port: config.embeddedPostgresPort, log,
  });
  const databaseUrl = config.databaseUrl ?? embedded!.url;
  try {
    const applied = await migrate(databaseUrl).catch((error: unknown) => {
      throw explainUnreachable(error, databaseUrl, embedded !== undefined);
    });
    if (applied.length > 0) log(`applied migrations: ${applied.join(', ')}`);
    const pool = await createDatabasePool(databaseUrl);
    const eventStore = await openEventStore(config, pool);
    log(`event store: ${config.eventStore}`);
    const projections = new ProjectionRunner({ databaseUrl, store: eventStore, projections: [chatProjection] });
    projections.start();
    return {
      config,
      databaseUrl,
      pool,
      eventStore,
      projections,
      close: async () => {
        await projections.stop();
        await eventStore.close();
        await pool.end();
        await embedded?.stop();
      },
    };
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}
