import { type DynamicModule, Module } from '@nestjs/common';
import type { DatabasePool } from 'slonik';
import { chatProjection } from '../../read-models/chat.projection.js';
import { readCheckpoint } from '../../read-models/checkpoints.js';
import { AuthModule } from '../auth/auth.module.js';
import { ChatSessionModule } from '../chat-session/chat-session.module.js';
import { DATABASE_POOL } from '../database/pool.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.js';
import { PostgresEventStore } from '../event-store/postgres-event-store.js';
import { LiveFeed } from './live-feed.js';
import { MonotonicClock } from './rate-limit.js';
import { SessionAccess } from './session-access.js';
import { eventStoreReader } from './session-events.js';
import { StompGateway } from './stomp-gateway.js';

/**
 * The STOMP gateway at `/stomp` on the HTTP server's port. Needs the global `CONFIG`,
 * `DATABASE_POOL` and `EVENT_STORE` providers.
 */
@Module({})
export class GatewayModule {
  /** `databaseUrl`: where the node's LISTEN connection goes (the database the projector notifies in). */
  static forDatabase(databaseUrl: string): DynamicModule {
    return {
      module: GatewayModule,
      imports: [AuthModule, ChatSessionModule],
      providers: [
        SessionAccess,
        MonotonicClock,
        {
          provide: LiveFeed,
          inject: [DATABASE_POOL, EVENT_STORE],
          useFactory: (pool: DatabasePool, store: EventStore) =>
            new LiveFeed({
              databaseUrl,
              pool,
              reader: eventStoreReader(store),
              log: store,
              announcedUpTo: () => readCheckpoint(pool, chatProjection.name),
              appendsAnnounced: store instanceof PostgresEventStore ? (by) => store.appendsAnnounced(by) : undefined,
            }),
        },
        StompGateway,
      ],
      // LiveFeed: `/health/ready` reports whether it listens.
      exports: [StompGateway, LiveFeed],
    };
  }
}
