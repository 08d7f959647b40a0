import { Global, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import type { DatabasePool } from 'slonik';
import { ChatSessionModule } from '../src/chat-session/chat-session.module.js';
import { ChatSessionService } from '../src/chat-session/chat-session.service.js';
import { CONFIG, loadConfig } from '../src/config.js';
import { DATABASE_POOL } from '../src/database/pool.js';
import { EVENT_STORE, type EventStore } from '../src/event-store/event-store.js';

/** One app node's write side: its own command bus and session cache. */
export interface WriteSide {
  readonly service: ChatSessionService;
  close(): Promise<void>;
}

/**
 * The write side (`ChatSessionModule`) over `store`, its open-session limit counting in the read
 * model of `pool`, configured by `env` as `loadConfig` reads it.
 */
export async function startWriteSide(store: EventStore, pool: DatabasePool, env: Record<string, string> = {}): Promise<WriteSide> {
  @Global()
  @Module({
    providers: [
      { provide: EVENT_STORE, useValue: store },
      { provide: DATABASE_POOL, useValue: pool },
      { provide: CONFIG, useValue: loadConfig(env) },
    ],
    exports: [EVENT_STORE, DATABASE_POOL, CONFIG],
  })
  class InfrastructureModule {}
  const moduleRef = await Test.createTestingModule({ imports: [CqrsModule.forRoot(), InfrastructureModule, ChatSessionModule] }).compile();
  await moduleRef.init();
  return { service: moduleRef.get(ChatSessionService), close: () => moduleRef.close() };
}
