import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { ConnectionError, type DatabasePoolConnection } from 'slonik';
import { createDatabasePool } from '../src/database/pool.js';
import { type EventStore, EventStoreUnavailable, type LogPosition, type RecordedEvent } from '../src/event-store/event-store.js';
import { readCheckpoint, readSwaps } from './checkpoints.js';
import { EventBatches } from './event-batches.js';
import { trySessionLock } from './locks.js';
import { CheckpointMoved, type CommittedBatch, projectBatch } from './projection-batch.js';
import { EventNotApplicable, type MemoryUsage, type Projection, type ProjectionMemory, type RefusedEvent } from './projection.js';
import { sql } from './sql.js';
import { isTransient } from './transient-errors.js';

export interface ProjectionRunnerOptions {
  /** Each projection leads, and writes, through a connection of its own to this database. */
  readonly databaseUrl: string;
  readonly store: EventStore;
  readonly projections: readonly Projection[];
  /** The most events one transaction projects (default 500). */
  readonly batchSize?: number;
  /** A standby tries to take the lead every `lockRetryMs` plus up to as much again (default 1,000). */
  readonly lockRetryMs?: number;
  /**
   * The first wait after a lost connection, doubled at each failure up to `maxBackoffMs` (defaults
   * 500, 2,000: a try on a database that is down costs little; a long wait once it is back leaves
   * the read models and the subscribers behind).
   */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** `running`: started, leading or standing by (see `holdsLock`); `failed`: stopped at an error. */
export type ProjectionState = 'stopped' | 'running' | 'failed';

/** Why a projection stopped; `event`: the event it could not apply, its checkpoint right before it. */
export interface ProjectionFailure {
  readonly reason: string;
  readonly event?: RefusedEvent;
}

/** A projection as seen from this process. */
export interface ProjectionStatus {
  readonly name: string;
  readonly state: ProjectionState;
  /** Whether this process is the one projecting (holds the projection's leader lock). */
  readonly holdsLock: boolean;
  /** The stored checkpoint as this process last read or wrote it; unset until it has led. */
  readonly checkpoint?: LogPosition;
  /** Events projected (committed) by this runner. */
  readonly eventsProjected: number;
  /** Events of unknown types this runner skipped. */
  readonly unknownEventsSkipped: number;
  readonly failure?: ProjectionFailure;
  /** The last infrastructure error, retried with back-off; cleared once the database answers again. */
  readonly lastError?: string;
  /** How full the live run's memory is (`ProjectionMemory`), while this process projects. */
  readonly memory?: MemoryUsage;
}

/**
 * Runs projections live: each consumes its category of the log from its stored checkpoint, in
 * order, one transaction per batch (`projectBatch`: rows, checkpoint and NOTIFYs together).
 *
 * Exactly one process projects each projection: the one holding its leader lock, a session
 * advisory lock on a connection of its own. Others retry every second or two, so when the holder
 * dies (its connection closes, the lock with it) another takes over within seconds, from the
 * stored checkpoint; when its host is cut off, within some 30 s (`HOLDER_PROBES`). The batches
 * go through the lock's connection too: a holder that lost its connection has lost its lock and
 * cannot commit anything either.
 *
 * A lost database or event store is logged and retried with back-off; an event that cannot be
 * applied stops its projection (`failed`), with the checkpoint right before that event.
 */
export class ProjectionRunner {
  private readonly workers: ProjectionWorker[];

  constructor(options: ProjectionRunnerOptions) {
    this.workers = options.projections.map((projection) => new ProjectionWorker(projection, options));
  }

  /** Starts every projection that is stopped or failed; returns at once. */
  start(): void {
    for (const worker of this.workers) worker.start();
  }

  /** Stops every projection: waits for the batches in flight, then releases the locks. */
  async stop(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.stop()));
  }

  status(): ProjectionStatus[] {
    return this.workers.map((worker) => worker.status());
  }
}

class ProjectionWorker {
  private readonly logger: Logger;
  private readonly batchSize: number;
  private readonly lockRetryMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private state: ProjectionState = 'stopped';
  private holdsLock = false;
  private checkpoint?: LogPosition;
  private eventsProjected = 0;
  private unknownEventsSkipped = 0;
  private failure?: ProjectionFailure;
  private lastError?: string;
  /** The memory of the live run in progress. */
  private memory?: ProjectionMemory;
  private backoffMs: number;
  private stopRequest?: AbortController;
  private running?: Promise<void>;

  constructor(private readonly projection: Projection, private readonly options: ProjectionRunnerOptions) {
    this.logger = new Logger(`Projection:${projection.name}`);
    this.batchSize = options.batchSize ?? 500;
    this.lockRetryMs = options.lockRetryMs ?? 1000;
    this.initialBackoffMs = options.initialBackoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 2_000;
    this.backoffMs = this.initialBackoffMs;
  }

  start(): void {
    if (this.running) return;
    const stopRequest = new AbortController();
    this.stopRequest = stopRequest;
    this.state = 'running';
    this.failure = undefined;
    this.running = this.run(stopRequest.signal).finally(() => {
      this.running = undefined;
    });
  }

  async stop(): Promise<void> {
    this.stopRequest?.abort();
    await this.running;
  }

  status(): ProjectionStatus {
    const { state, holdsLock, checkpoint, eventsProjected, unknownEventsSkipped, failure, lastError } = this;
    const memory = this.memory?.usage();
    return { name: this.projection.name, state, holdsLock, checkpoint, eventsProjected, unknownEventsSkipped, failure, lastError, memory };
  }

  private async run(stop: AbortSignal): Promise<void> {
    try {
      while (!stop.aborted) {
        try {
          await this.leadWhenElected(stop);
        } catch (error) {
          if (!isTransient(error)) throw error;
          const wait = this.nextBackoff();
          this.lastError = (error as Error).message;
          this.logger.warn(`${this.lastError}; retrying in ${wait} ms`);
          await pause(wait, stop);
        }
      }
      this.state = 'stopped';
    } catch (error) {
      this.fail(error);
    }
  }

  /** Opens the lock's connection, waits for the lead, projects while leading; closing it frees the lock. */
  private async leadWhenElected(stop: AbortSignal): Promise<void> {
    const pool = await createDatabasePool(this.options.databaseUrl, {
      maximumPoolSize: 1,
      applicationName: `parley-projection-${this.projection.name}`,
    }).catch((error: unknown) => {
      // slonik's createPool connects once and lets that connection's errors through unwrapped:
      // pg's "Connection terminated unexpectedly" (a pooler or proxy in front of a server that
      // is down accepts the connection and drops it) has no code to classify. Not reaching the
      // database is the infrastructure's failure whatever the error: back off and retry.
      if (error instanceof ConnectionError) throw error;
      throw new ConnectionError(`cannot connect: ${(error as Error).message}`, { cause: error as Error });
    });
    // slonik's connect settles as soon as its connection fails, while the handler may still be
    // running: the term ends with it (or with `stop`), and the lead is over before another try.
    const term = new AbortController();
    let leading: Promise<void> | undefined;
    try {
      await pool.connect((connection) => (leading = this.leadOn(connection, AbortSignal.any([stop, term.signal]))));
    } finally {
      term.abort();
      await leading?.catch(() => undefined); // its error, if any, is the connection's, thrown by connect already
      await pool.end();
    }
  }

  /** Waits for the lead on `connection`, then projects while leading, until `stop`. */
  private async leadOn(connection: DatabasePoolConnection, stop: AbortSignal): Promise<void> {
    if (!(await this.waitForLead(connection, stop))) return;
    // The batches commit without waiting for their WAL to reach the disk (one fsync less in
    // each): a read model is derived data whose rows and checkpoint commit together, so a
    // crash that loses the last batches loses their checkpoint with them, and they are
    // projected again. What they announce stays true: the events are durable already (an
    // append waits for its flush), and subscribers read what they missed from the log.
    await connection.query(sql.typeAlias('void')`SET synchronous_commit = off`);
    this.holdsLock = true;
    this.backoffMs = this.initialBackoffMs;
    this.logger.log('leading: this process projects');
    try {
      await this.lead(connection, stop);
    } finally {
      this.holdsLock = false;
    }
  }

  /** `true` once the leader lock is taken; `false` when stopped first. */
  private async waitForLead(connection: DatabasePoolConnection, stop: AbortSignal): Promise<boolean> {
    while (!stop.aborted) {
      const taken = await trySessionLock(connection, 'leader', this.projection.name);
      this.lastError = undefined; // the database answers again
      if (taken) return true;
      await pause(this.lockRetryMs * (1 + Math.random()), stop);
    }
    return false;
  }

  private async lead(connection: DatabasePoolConnection, stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      // The swaps first: one made after this read, however soon, stops the batches that follow.
      const swaps = await readSwaps(connection, this.projection.name);
      const from = await readCheckpoint(connection, this.projection.name);
      this.checkpoint = from;
      await this.follow(connection, from, swaps, stop);
    }
  }

  /**
   * Projects the log after `from` until stopped, or until the stored checkpoint moves elsewhere
   * or a rebuild swaps its tables in (the count of swaps is no longer `swaps`).
   */
  private async follow(connection: DatabasePoolConnection, from: LogPosition, swaps: bigint, stop: AbortSignal): Promise<void> {
    const subscription = this.options.store.subscribeToAll({ after: from, category: this.projection.category });
    const batches = new EventBatches(subscription, this.batchSize);
    const memory = this.projection.remember?.();
    this.memory = memory;
    const closeOnStop = () => {
      subscription.close().catch((error: unknown) => this.logger.warn(`closing the subscription: ${(error as Error).message}`));
    };
    stop.addEventListener('abort', closeOnStop, { once: true });
    try {
      let after: LogPosition | undefined = from;
      while (after !== undefined) {
        const batch = await batches.next();
        if (stop.aborted) return;
        if (batch === undefined) throw new EventStoreUnavailable('the subscription to the event log ended');
        after = await this.commit(connection, batch, after, swaps, memory);
      }
    } finally {
      this.memory = undefined;
      stop.removeEventListener('abort', closeOnStop);
      await batches.close();
    }
  }

  /** Projects a batch; the checkpoint it stored, or `undefined` when the stored one had moved. */
  private async commit(
    connection: DatabasePoolConnection, batch: readonly RecordedEvent[], after: LogPosition, swaps: bigint, memory?: ProjectionMemory,
  ): Promise<LogPosition | undefined> {
    try {
      return this.committed(await projectBatch(connection, this.projection, batch, after, memory, swaps));
    } catch (error) {
      if (error instanceof CheckpointMoved) {
        this.logger.log(`${error.message} (a rebuild swapped its tables in?): resuming from there`);
        return undefined;
      }
      if (!(error instanceof EventNotApplicable)) throw error;
      // Store what precedes the refused event, so that the checkpoint stands right before it.
      const refused = batch.findIndex((event) => event.eventId === error.event.eventId);
      if (refused > 0 && (await this.commit(connection, batch.slice(0, refused), after, swaps, memory)) === undefined) return undefined;
      throw error;
    }
  }

  private committed(batch: CommittedBatch): LogPosition {
    this.eventsProjected += batch.projected.length;
    this.unknownEventsSkipped += batch.unknown;
    this.checkpoint = batch.checkpoint;
    this.lastError = undefined;
    this.backoffMs = this.initialBackoffMs;
    return batch.checkpoint;
  }

  private fail(error: unknown): void {
    const reason = error instanceof EventNotApplicable ? error.reason : error instanceof Error ? error.message : String(error);
    const event = error instanceof EventNotApplicable ? error.event : undefined;
    this.failure = { reason, event };
    this.state = 'failed';
    if (event === undefined) {
      this.logger.error(`stopped: ${reason}`, (error as Error).stack);
    } else {
      const { eventId, type, streamName, revision, position, logPosition } = event;
      this.logger.error(
        `stopped at event ${eventId} (${type}, ${streamName}@${revision}, position ${position}, ` +
          `log position ${logPosition.commit}/${logPosition.prepare}); the checkpoint stays right before it: ${reason}`,
      );
    }
  }

  private nextBackoff(): number {
    const wait = this.backoffMs;
    this.backoffMs = Math.min(wait * 2, this.maxBackoffMs);
    return wait;
  }
}

/** Waits `ms`, or less when `stop` is aborted first. */
async function pause(ms: number, stop: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal: stop }).catch((error: unknown) => {
    if (!stop.aborted) throw error;
  });
}
