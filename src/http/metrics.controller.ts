import { Controller, Get, Header, Inject, type OnApplicationBootstrap } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { DatabasePool } from 'slonik';
import { chatProjection } from '../../read-models/chat.projection.js';
import { projectionLag } from '../../read-models/projection-lag.js';
import { ProjectionRunner } from '../../read-models/projection-runner.js';
import type { MemoryUsage } from '../../read-models/projection.js';
import { ChatSessionRepository } from '../chat-session/chat-session.repository.js';
import { DATABASE_POOL } from '../database/pool.js';
import { EVENT_STORE, type EventStore } from '../event-store/event-store.js';
import { LiveFeed } from '../gateway/live-feed.js';
import { StompGateway } from '../gateway/stomp-gateway.js';

/**
 * `GET /metrics`: Prometheus text, the process's own metrics, the projections' and the STOMP
 * gateway's, and how full the server's bounded memories are.
 */
@Controller('metrics')
export class MetricsController implements OnApplicationBootstrap {
  private readonly registry = new Registry();

  constructor(
    @Inject(DATABASE_POOL) pool: DatabasePool,
    @Inject(EVENT_STORE) store: EventStore,
    projections: ProjectionRunner,
    gateway: StompGateway,
    sessions: ChatSessionRepository,
    feed: LiveFeed,
  ) {
    collectDefaultMetrics({ register: this.registry });
    const labelNames = ['projection'] as const;
    const fromStatus = (name: string, help: string, value: (status: ReturnType<ProjectionRunner['status']>[number]) => number) =>
      new Gauge({
        name, help, labelNames, registers: [this.registry],
        collect() {
          for (const status of projections.status()) this.set({ projection: status.name }, value(status));
        },
      });
    fromStatus('parley_projection_leader', '1 when this process is the one projecting', (s) => Number(s.holdsLock));
    fromStatus('parley_projection_failed', '1 when the projection stopped at an event it cannot apply', (s) => Number(s.state === 'failed'));
    fromStatus('parley_projection_events_projected', 'events this process projected since it started', (s) => s.eventsProjected);
    fromStatus('parley_projection_unknown_events_skipped', 'events of unknown types skipped since start', (s) => s.unknownEventsSkipped);
    // Neither is reported while the lag cannot be counted (the database down): a stale figure
    // would say all is well.
    const counted = () => projectionLag(pool, store, chatProjection).catch(() => undefined);
    new Gauge({
      name: 'parley_projection_lag_events', help: 'events of the log not projected yet (counted up to 10,000)', labelNames, registers: [this.registry],
      async collect() {
        const lag = await counted();
        this.reset();
        if (lag) this.set({ projection: lag.name }, lag.lag);
      },
    });
    new Gauge({
      name: 'parley_projection_held_back', help: '1 when later events wait, not counted in the lag, behind a transaction still in flight', labelNames, registers: [this.registry],
      async collect() {
        const lag = await counted();
        this.reset();
        if (lag) this.set({ projection: lag.name }, Number(lag.heldBack));
      },
    });
    new Counter({
      name: 'parley_stomp_slow_consumers_dropped_total', help: 'STOMP connections closed because more than STOMP_MAX_BUFFERED_BYTES waited to be sent to them',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(gateway.slowConsumersDropped);
      },
    });
    const memories = (): Array<[string, MemoryUsage]> => [
      ['session_cache', sessions.usage()],
      ...projections.status().flatMap((status): Array<[string, MemoryUsage]> => (status.memory ? [[`projection_${status.name}`, status.memory]] : [])),
      ['inbox', feed.inboxMemory],
    ];
    const fromMemories = (name: string, help: string, value: (usage: MemoryUsage) => number) =>
      new Gauge({
        name, help, labelNames: ['memory'], registers: [this.registry],
        collect() {
          this.reset(); // a projection's memory is listed only while this process projects
          for (const [memory, usage] of memories()) this.set({ memory }, value(usage));
        },
      });
    const kinds =
      'session_cache: the open sessions the write side holds, in message ids plus one a session; ' +
      'projection_chat: session rows the chat projection remembers writing, while this process projects; ' +
      'inbox: sessions whose last revision told to /topic/inbox is remembered';
    fromMemories('parley_memory_entries', `what each bounded memory holds (${kinds})`, (usage) => usage.entries);
    fromMemories('parley_memory_capacity', 'what each bounded memory may hold, in the same entries', (usage) => usage.capacity);
  }

  /**
   * Writes the metrics out once before the server takes traffic. The first write-out changes
   * object layouts prom-client shares with the rest of the process (a counter's `+=` on the
   * `value` of its `{ value, labels }` makes that field mutable), and V8 then throws away the
   * optimized code of the whole hot path at once: done at the first scrape, that made the
   * next second of service markedly slower (bench/NOTES.md, 2026-12-05, late morning).
   */
  async onApplicationBootstrap(): Promise<void> {
    await this.registry.metrics();
  }

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
