import type { CommonQueryMethods } from 'slonik';
import type { EventStore, LogPosition, RecordedEvent } from '../src/event-store/event-store.js';
import { readCheckpoint } from './checkpoints.js';
import type { Projection } from './projection.js';

/** How far a projection is behind the log, counted in events of its category. */
export interface ProjectionLag {
  readonly name: string;
  readonly checkpoint: LogPosition;
  /** The last event of the category, when the lag was counted to the end (`capped` false). */
  readonly head: LogPosition;
  /** Events after the checkpoint; at most `cap`. */
  readonly lag: number;
  /** True when there are `cap` events or more after the checkpoint (the head is then unknown). */
  readonly capped: boolean;
  /**
   * True when later events have committed and wait, not counted, behind a transaction still in
   * flight (the event store in PostgreSQL reads no further than the oldest one, on the whole
   * server: a long transaction anywhere stalls every projection and subscription meanwhile).
   */
  readonly heldBack: boolean;
}

/** The event store in PostgreSQL, which tells of events held back (`PostgresEventStore.readPage`). */
interface HoldingBack {
  readPage(after: LogPosition, maxCount: number, category?: string): Promise<{ events: RecordedEvent[]; heldBack: boolean }>;
}

/**
 * The stored checkpoint of the projection, and the events of its category after it, counted by
 * reading at most `cap` of them (one page of the log: cheap enough for every health check).
 */
export async function projectionLag(
  connection: CommonQueryMethods,
  store: EventStore,
  projection: Pick<Projection, 'name' | 'category'>,
  cap = 10_000,
): Promise<ProjectionLag> {
  const checkpoint = await readCheckpoint(connection, projection.name);
  const { events: pending, heldBack } = 'readPage' in store
    ? await (store as EventStore & HoldingBack).readPage(checkpoint, cap, projection.category)
    : { events: await store.readAll({ after: checkpoint, category: projection.category, maxCount: cap }), heldBack: false };
  return {
    name: projection.name,
    checkpoint,
    head: pending.at(-1)?.logPosition ?? checkpoint,
    lag: pending.length,
    capped: pending.length >= cap,
    heldBack,
  };
}
