import { type DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { ChatSessionModule } from './chat-session/chat-session.module.js';
import { CONFIG } from './config.js';
import { DATABASE_POOL } from './database/pool.js';
import { EVENT_STORE } from './event-store/event-store.js';
import { HealthController } from './http/health.controller.js';
import type { Runtime } from './runtime.js';

/** The app over a started {@link Runtime}: its pool, event store and config are global providers. */
@Module({})
export class AppModule {
  static forRuntime(runtime: Runtime): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [CqrsModule.forRoot(), ChatSessionModule],
      controllers: [HealthController],
      providers: [
        { provide: CONFIG, useValue: runtime.config },
        { provide: DATABASE_POOL, useValue: runtime.pool },
        { provide: EVENT_STORE, useValue: runtime.eventStore },
      ],
      exports: [CONFIG, DATABASE_POOL, EVENT_STORE],
    };
  }
}
