import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { chatProjection } from '../../read-models/chat.projection.js';
import { projectionLag } from '../../read-models/projection-lag.js';
import { ProjectionRunner } from '../../read-models/projection-runner.js';
import { DATABASE_POOL } from '../database/pool.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.js';
import { LiveFeed } from '../gateway/live-feed.js';

type Check = 'up' | 'down';

interface ProjectionHealth {
  readonly state: string;
  /** Whether this node is the one projecting it. */
  readonly leader: boolean;
  /** Events not projected yet; null when it could not be counted (database down). */
  readonly lag: number | null;
  /** Later events wait behind a transaction still in flight, not counted in `lag` (`projectionLag`). */
  readonly heldBack: boolean | null;
}

interface Readiness {
  readonly status: 'ready' | 'unavailable';
  /** `liveFeed`: the node's LISTEN connection, through which projected events reach its subscribers. */
  readonly checks: { database: Check; eventStore: Check; liveFeed: Check };
  readonly projections: Record<string, ProjectionHealth>;
}

/**
 * Liveness (the process answers) and readiness (it can reach what it needs, hears the
 * projector's announcements, and its read models are being kept: a projection stopped at an
 * event it cannot apply is not ready).
 */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(DATABASE_POOL) private readonly pool: DatabasePool,
    @Inject(EVENT_STORE) private readonly eventStore: EventStore,
    private readonly projections: ProjectionRunner,
    private readonly feed: LiveFeed,
  ) {}

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  /** @throws {ServiceUnavailableException} (503, same body shape) when a dependency is down. */
  async ready(): Promise<Readiness> {
    const [database, eventStore, lag] = await Promise.all([
      check(() => this.pool.oneFirst(sql.type(z.object({ ok: z.number() }))`SELECT 1 AS ok`)),
      check(() => this.eventStore.readStream('$parley-health', { maxCount: 1 })),
      projectionLag(this.pool, this.eventStore, chatProjection).catch(() => undefined),
    ]);
    const projections = Object.fromEntries(this.projections.status().map((status) => {
      const counted = status.name === chatProjection.name ? lag : undefined;
      return [status.name, { state: status.state, leader: status.holdsLock, lag: counted?.lag ?? null, heldBack: counted?.heldBack ?? null }];
    }));
    const liveFeed: Check = this.feed.listening ? 'up' : 'down';
    const checks = { database, eventStore, liveFeed };
    const ready = Object.values(checks).every((check) => check === 'up') && Object.values(projections).every((p) => p.state === 'running');
    const body: Readiness = { status: ready ? 'ready' : 'unavailable', checks, projections };
    if (!ready) throw new ServiceUnavailableException(body);
    return body;
  }
}

async function check(probe: () => Promise<unknown>): Promise<Check> {
  return probe().then(() => 'up' as const, () => 'down' as const);
}
