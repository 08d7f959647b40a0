import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { DATABASE_POOL } from '../database/pool.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.js';

type Check = 'up' | 'down';

/** Liveness (the process answers) and readiness (it can reach what it needs). */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(EVENT_STORE) private readonly eventStore: EventStore,
  ) {}

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  /** @throws {ServiceUnavailableException} (503, same body shape) when a dependency is down. */
  async ready(): Promise<{ status: 'ready'; checks: Record<string, Check> }> {
    const [database, eventStore] = await Promise.all([
      check(() => this.pool.oneFirst(sql.type(z.object({ ok: z.number() }))`SELECT 1 AS ok`)),
      check(() => this.eventStore.readStream('$parley-health', { maxCount: 1 })),
    ]);
    const checks = { database, eventStore };
    if (database === 'down' || eventStore === 'down') {
      throw new ServiceUnavailableException({ status: 'unavailable', checks });
    }
    return { status: 'ready', checks };
  }
}

async function check(probe: () => Promise<unknown>): Promise<Check> {
  return probe().then(() => 'up' as const, () => 'down' as const);
}
