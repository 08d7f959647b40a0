import type { CommonQueryMethods } from 'slonik';
import type { EventStore, LogPosition } from '../src/event-store/event-store.js';
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
  const pending = await store.readAll({ after: checkpoint, category: projection.category, maxCount: cap });
  return {
    name: projection.name,
    checkpoint,
    head: pending.at(-1)?.logPosition ?? checkpoint,
    lag: pending.length,
    capped: pending.length >= cap,
  };
}
