import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import type { CommonQueryMethods, DatabasePoolConnection } from 'slonik';
import { z } from 'zod';
import { errorCodeOf } from '../src/database/connection-loss.js';
import { createDatabasePool } from '../src/database/pool.js';
import { type EventStore, type LogPosition, type RecordedEvent, START, categoryOf, compareLogPositions } from '../src/event-store/event-store.js';
import { readCheckpoint, writeCheckpoint } from './checkpoints.js';
import { takeTransactionLock, trySessionLock } from './locks.js';
import { notifyProjected } from './notify.js';
import { applyEvents } from './projection-batch.js';
import type { Projection, Tables } from './projection.js';
import { ReadAhead } from './read-ahead.js';
import { ProgressReports, type RebuildProgress } from './rebuild-progress.js';
import { sql } from './sql.js';

export type { RebuildProgress } from './rebuild-progress.js';

export interface RebuildOptions {
  /** The rebuild works through a connection of its own to this database. */
  readonly databaseUrl: string;
  readonly store: EventStore;
  readonly projection: Projection;
  /** Events read, and projected in one transaction, at a time (default 5,000). */
  readonly batchSize?: number;
  /**
   * Called after each batch, in order, without holding the rebuild up (the first call waits for
   * the count); a throw aborts the rebuild before its swap, the live tables untouched.
   */
  readonly onProgress?: (progress: RebuildProgress) => void | Promise<void>;
  /** How many events of the category the log holds; by default, counted by reading the log once, while the rebuild runs. */
  readonly countEvents?: () => Promise<number>;
  /**
   * How long each try of the swap waits for queries holding the live tables (a pg_dump, a report)
   * before it gives way (default 200): the queries of the live tables that come meanwhile wait
   * behind it (PostgreSQL's lock queue), as long at most.
   */
  readonly lockTimeoutMs?: number;
  /**
   * How long each try of the swap waits first for the live projection's batch under way (its write
   * lock) before it gives way (default 1,000): only the live projection's next batch waits behind
   * it meanwhile; a batch held open (its host cut off from the network, say) would else hold the
   * rebuild up for as long, without a word.
   */
  readonly batchWaitMs?: number;
  /**
   * How many times the swap is tried (default 12), pausing between tries 100 ms, then twice as long
   * each time, 4 s at most: some 30 s in all by default, and 12 s more at most waiting for batches.
   */
  readonly swapAttempts?: number;
  /**
   * Aborted: the rebuild stops after the batch under way and throws the signal's reason, before
   * its swap commits (the live tables untouched); the log's count stops too.
   */
  readonly signal?: AbortSignal;
}

export interface RebuildResult {
  /** Events of the category put through the projection (unknown ones skipped), as `done`. */
  readonly eventsProjected: number;
  /** The projection's checkpoint as the swap stored it. */
  readonly checkpoint: LogPosition;
}

/** Another rebuild of the projection is running. */
export class RebuildInProgress extends Error {
  override readonly name = 'RebuildInProgress';
  constructor(readonly projection: string) {
    super(`a rebuild of projection ${projection} is running already`);
  }
}

/**
 * The live tables' shape changed while the rebuild built (a migration applied meanwhile, a new
 * release's server starting; an operator's ALTER TABLE): its fresh tables, made in the old shape
 * and filled by this process's projection, would undo it. Nothing was swapped.
 */
export class LiveTablesChanged extends Error {
  override readonly name = 'LiveTablesChanged';
  constructor(readonly tables: readonly string[]) {
    super(`${tables.join(' and ')} changed while the rebuild built (a migration applied meanwhile?): nothing swapped, `
      + 'the live tables kept; rebuild again, with the release that migrated them');
  }
}

/**
 * Objects depend on the live tables that the swap cannot move onto the rebuilt ones (a
 * materialized view, another table's foreign key, a view of a role the rebuild's is not): dropping
 * the old tables would fail; or they are triggers or rules on them, or publications of them, which
 * it does not move. Found before the rebuild builds, or at its swap; nothing was swapped.
 */
export class DependentsNotCarried extends Error {
  override readonly name = 'DependentsNotCarried';
  constructor(readonly projection: string, readonly objects: readonly string[]) {
    super(`cannot rebuild projection ${projection}: ${objects.join(', ')} depend(s) on its tables and cannot be moved onto `
      + 'rebuilt ones (only views its role owns and the tables\' own policies can); drop them, rebuild, then make them again');
  }
}

/** What kept a try of the swap from its lock: queries of the live tables, or the live projection's batch. */
export type SwapHolder = 'queries' | 'batch';

const HELD: Record<SwapHolder, string> = {
  queries: 'queries held its live tables',
  batch: "the live projection's batch under way held its write lock",
};

/**
 * The swap could not have the live tables, or the projection's write lock, through its attempts:
 * `holders` held them, each at one attempt or more.
 */
export class LiveTablesBusy extends Error {
  override readonly name = 'LiveTablesBusy';
  constructor(readonly projection: string, readonly holders: readonly SwapHolder[], attempts: number, options: ErrorOptions) {
    super(`the rebuild of projection ${projection} could not swap in: ${holders.map((holder) => HELD[holder]).join(', or ')} `
      + `through ${attempts} attempts; try again later`, options);
  }
}

/** A try of the swap gave way: its wait for a lock held by `holder` ran out (`lock_timeout`). */
class SwapKept extends Error {
  override readonly name = 'SwapKept';
  constructor(readonly holder: SwapHolder, options: ErrorOptions) {
    super(HELD[holder], options);
  }
}

/** The fresh table a rebuild builds beside a live one. */
function rebuildTableOf(table: string): string {
  return `${table}__rebuild`;
}

/** PostgreSQL's lock_not_available: the swap's `lock_timeout` ran out. */
const LOCK_NOT_AVAILABLE = '55P03';

/** The swap's first pause before it tries again; each next one is twice as long, up to the second. */
const SWAP_PAUSES_MS = { first: 100, longest: 4000 } as const;

/**
 * Rebuilds a projection without stopping the service (blue/green):
 *
 * 1. creates fresh, empty copies of its tables beside the live ones (`<table>__rebuild`, `LIKE
 *    … INCLUDING ALL`), dropping those an interrupted rebuild left;
 * 2. projects the log into them from the start, in large batches (read a page ahead, while the
 *    current one is projected), up to where the live projection stands (its stored checkpoint,
 *    which keeps moving), reporting progress (the log is counted meanwhile);
 * 3. swaps, in ONE transaction: takes the projection's write lock (the live runner's batch in
 *    flight ends first, its next one waits), projects the last events, announcing those the
 *    live projection had not, locks the live tables, checks they kept the shape the fresh ones
 *    copied, gives the fresh ones their owner, privileges (on columns too), row security and
 *    comments, renames live → `<table>__old` and new → live (index names included), gives them
 *    the old ones' replica identity and `CLUSTER` index, moves the views and policies on them
 *    over, drops the old ones and stores the checkpoint. The live runner finds its checkpoint
 *    moved at its next batch and resumes from the new one.
 *
 * When the live projection is behind (or not running), the events it has not reached are
 * projected, and announced, in the swap's transaction: no event is announced twice, or never.
 *
 * The live tables answer queries throughout; the swap holds them for as long as its renames
 * take. While a long query holds them (a pg_dump, a report), each try of the swap waits for them
 * `lockTimeoutMs` at most (the queries that come meanwhile queue behind it), then gives way and
 * tries again later, up to `swapAttempts` times, then throws {@link LiveTablesBusy}; so it does
 * while the live runner's batch holds the write lock, waiting for it `batchWaitMs` at most. A
 * rebuild that fails, is stopped (`signal`) or is killed leaves them as they were, and its fresh
 * tables behind: the next one drops those first.
 * @throws {RebuildInProgress} when another rebuild of the projection is running.
 * @throws {LiveTablesBusy} when queries held the live tables, or the live runner's batch the write
 *   lock, through every attempt of the swap.
 * @throws {EventNotApplicable} when an event cannot be applied; the live tables are untouched.
 * @throws {DependentsNotCarried} when an object the swap cannot move depends on the live tables,
 *   or a trigger or a rule is on them, or a publication publishes them.
 * @throws {LiveTablesChanged} when the live tables changed shape while the rebuild built.
 */
export async function rebuildProjection(options: RebuildOptions): Promise<RebuildResult> {
  const { projection } = options;
  const pool = await createDatabasePool(options.databaseUrl, { maximumPoolSize: 1, applicationName: `parley-rebuild-${projection.name}` });
  try {
    return await pool.connect(async (connection) => {
      // A session lock on the rebuild's own connection: freed when the rebuild ends, or dies.
      if (!(await trySessionLock(connection, 'rebuild', projection.name))) throw new RebuildInProgress(projection.name);
      return await new Rebuild(connection, options).run();
    });
  } finally {
    await pool.end();
  }
}

class Rebuild {
  private readonly logger: Logger;
  private readonly projection: Projection;
  private readonly fresh: Tables;
  private readonly batchSize: number;
  private readonly reports: ProgressReports;
  /** Stops the log's count when the rebuild fails. */
  private readonly failed = new AbortController();
  private readonly counted: Promise<number>;
  private position: LogPosition = START;
  private done = 0;

  /** Starts counting the log, for the progress reports. */
  constructor(private readonly connection: DatabasePoolConnection, private readonly options: RebuildOptions) {
    this.projection = options.projection;
    this.logger = new Logger(`Rebuild:${this.projection.name}`);
    this.fresh = Object.fromEntries(Object.entries(this.projection.tables).map(([role, table]) => [role, rebuildTableOf(table)]));
    this.batchSize = options.batchSize ?? 5000;
    const stop = options.signal === undefined ? this.failed.signal : AbortSignal.any([options.signal, this.failed.signal]);
    const count = options.countEvents ?? (() => countEvents(options.store, this.projection.category, this.batchSize, stop));
    this.counted = count();
    this.reports = new ProgressReports(this.counted, options.onProgress);
  }

  /**
   * Builds and swaps. A rebuild that fails stops its count of the log, and returns once that has
   * settled: none of its reads is left under way in the store, whose owner may close it next.
   */
  async run(): Promise<RebuildResult> {
    try {
      return await this.buildAndSwap();
    } catch (error) {
      this.failed.abort();
      await this.counted.catch(() => {});
      throw error;
    }
  }

  private async buildAndSwap(): Promise<RebuildResult> {
    await this.refuseDependentsNotCarried(this.connection);
    await createFreshTables(this.connection, this.projection.tables, this.fresh);
    this.logger.log(`building ${Object.values(this.fresh).join(', ')} from the log`);
    this.reports.report(this.done);
    const attempts = this.options.swapAttempts ?? 12;
    const holders = new Set<SwapHolder>();
    for (let attempt = 1, pauseMs: number = SWAP_PAUSES_MS.first; ; attempt++, pauseMs = Math.min(pauseMs * 2, SWAP_PAUSES_MS.longest)) {
      await this.catchUp();
      await analyze(this.connection, this.fresh);
      try {
        return await this.swap();
      } catch (error) {
        if (!(error instanceof SwapKept)) throw error;
        holders.add(error.holder);
        if (attempt === attempts) throw new LiveTablesBusy(this.projection.name, [...holders], attempts, { cause: error.cause });
        this.logger.warn(`${HELD[error.holder]} (swap attempt ${attempt} of ${attempts}); trying again in ${pauseMs} ms`);
        await this.pause(pauseMs);
      }
    }
  }

  /** Waits `ms`, or less when the rebuild's signal is aborted first (its next step throws then). */
  private async pause(ms: number): Promise<void> {
    const { signal } = this.options;
    await sleep(ms, undefined, { signal }).catch((error: unknown) => {
      if (!signal?.aborted) throw error;
    });
  }

  /** Projects, a batch per transaction, the events the live projection has projected already. */
  private async catchUp(): Promise<void> {
    const pages = new ReadAhead((after) => this.readPage(after));
    for (;;) {
      this.throwIfStopped();
      const page = await pages.pageAfter(this.position);
      const live = await readCheckpoint(this.connection, this.projection.name);
      const projectedLive = page.filter((event) => compareLogPositions(event.logPosition, live) <= 0);
      if (projectedLive.length === 0) return;
      if (projectedLive.length === page.length) pages.readAhead(lastPositionOf(page));
      const events = this.ofCategory(projectedLive);
      await this.connection.transaction((transaction) => applyEvents(transaction, this.projection, this.fresh, events));
      this.position = lastPositionOf(projectedLive);
      this.done += events.length;
      this.reports.report(this.done);
    }
  }

  /**
   * The last events, the renames and the checkpoint, in one transaction.
   * @throws {SwapKept} when its wait for the write lock, or then for the live tables, ran out.
   */
  private async swap(): Promise<RebuildResult> {
    // slonik refuses any query of another connection from inside a transaction's async context:
    // the event store's reads, and the progress callback, run in the context outside it.
    const outsideTransaction = AsyncLocalStorage.snapshot();
    let waitingFor: SwapHolder = 'batch';
    const result = await this.connection.transaction(async (transaction) => {
      await setLockTimeout(transaction, this.options.batchWaitMs ?? 1000);
      await takeTransactionLock(transaction, 'write', this.projection.name);
      const live = await readCheckpoint(transaction, this.projection.name);
      let position = this.position;
      let done = this.done;
      const pages = new ReadAhead((after) => outsideTransaction(() => this.readPage(after)));
      for (let page = await pages.pageAfter(position); page.length > 0; page = await pages.pageAfter(position)) {
        position = lastPositionOf(page);
        pages.readAhead(position);
        const events = this.ofCategory(page);
        const applied = await applyEvents(transaction, this.projection, this.fresh, events);
        // Events up to the live checkpoint were announced by the live projection already.
        await notifyProjected(transaction, applied.projected.filter((event) => compareLogPositions(event.logPosition, live) > 0));
        done += events.length;
        outsideTransaction(() => this.reports.report(done));
        this.throwIfStopped();
      }
      await this.reports.settle();
      this.throwIfStopped();
      waitingFor = 'queries';
      await lockLiveTables(transaction, this.projection.tables, this.options.lockTimeoutMs ?? 200);
      const changed = await changedTables(transaction, this.projection.tables, this.fresh);
      if (changed.length > 0) throw new LiveTablesChanged(changed);
      await this.refuseDependentsNotCarried(transaction);
      await swapTables(transaction, this.projection.tables, this.fresh);
      await writeCheckpoint(transaction, this.projection.name, position);
      return { eventsProjected: done, checkpoint: position };
    }).catch((error: unknown) => {
      throw errorCodeOf(error) === LOCK_NOT_AVAILABLE ? new SwapKept(waitingFor, { cause: error }) : error;
    });
    this.logger.log(`swapped in after ${result.eventsProjected} events`);
    return result;
  }

  /** @throws {DependentsNotCarried} when objects the swap cannot carry over depend on the live tables. */
  private async refuseDependentsNotCarried(connection: CommonQueryMethods): Promise<void> {
    const objects = await dependentsNotCarried(connection, this.projection.tables);
    if (objects.length > 0) throw new DependentsNotCarried(this.projection.name, objects);
  }

  /** @throws the signal's reason once it is aborted, or what a progress report or the count threw. */
  private throwIfStopped(): void {
    this.options.signal?.throwIfAborted();
    this.reports.throwIfFailed();
  }

  /**
   * A page of the whole log, every category: the store's category filter can turn each page
   * into a scan of the rest of the log (PostgreSQL, on an `events` table without statistics
   * yet, sorts every later event of the category to return the first 5,000).
   */
  private readPage(after: LogPosition): Promise<RecordedEvent[]> {
    return this.options.store.readAll({ after, maxCount: this.batchSize });
  }

  private ofCategory(events: readonly RecordedEvent[]): RecordedEvent[] {
    return events.filter((event) => categoryOf(event.streamName) === this.projection.category);
  }
}

function lastPositionOf(events: readonly RecordedEvent[]): LogPosition {
  const last = events.at(-1);
  if (last === undefined) throw new RangeError('no events');
  return last.logPosition;
}

/**
 * How many events of a category the log holds, by reading it through (unfiltered, as the rebuild reads it).
 * @throws the signal's reason once it is aborted.
 */
async function countEvents(store: EventStore, category: string, pageSize: number, signal?: AbortSignal): Promise<number> {
  let count = 0;
  for (let page = await store.readAll({ maxCount: pageSize }); page.length > 0; ) {
    signal?.throwIfAborted();
    count += page.filter((event) => categoryOf(event.streamName) === category).length;
    page = await store.readAll({ after: lastPositionOf(page), maxCount: pageSize });
  }
  return count;
}

/**
 * Empty copies of the live tables, with their columns, defaults, constraints and indexes, and what
 * `LIKE` leaves out: the columns' statistics targets and the tables' storage parameters
 * (`copy_statistics_targets` and `copy_storage_parameters`, migrations 0007 and 0008).
 */
async function createFreshTables(connection: CommonQueryMethods, live: Tables, fresh: Tables): Promise<void> {
  await connection.transaction(async (transaction) => {
    for (const [role, table] of Object.entries(live)) {
      const copy = sql.identifier([fresh[role]!]);
      await transaction.query(sql.typeAlias('void')`DROP TABLE IF EXISTS ${copy}`);
      await transaction.query(sql.typeAlias('void')`CREATE TABLE ${copy} (LIKE ${sql.identifier([table])} INCLUDING ALL)`);
      await transaction.query(sql.typeAlias('void')`SELECT FROM copy_statistics_targets(${table}::regclass, ${fresh[role]!}::regclass)`);
      await transaction.query(sql.typeAlias('void')`SELECT FROM copy_storage_parameters(${table}::regclass, ${fresh[role]!}::regclass)`);
    }
  });
}

/**
 * Locks the live tables against every query, waiting `timeoutMs` at most for those holding them.
 * @throws PostgreSQL's lock_not_available when the wait runs out.
 */
async function lockLiveTables(transaction: CommonQueryMethods, live: Tables, timeoutMs: number): Promise<void> {
  await setLockTimeout(transaction, timeoutMs);
  const tables = Object.values(live).map((table) => sql.identifier([table]));
  await transaction.query(sql.typeAlias('void')`LOCK TABLE ${sql.join(tables, sql.fragment`, `)} IN ACCESS EXCLUSIVE MODE`);
}

/**
 * The live tables whose shape is no longer their fresh copy's: columns (names, types, defaults,
 * statistics targets ...), constraints, indexes and storage parameters, all that `LIKE` and
 * `createFreshTables` copy, compared by definition (the copies' own names differ).
 */
async function changedTables(connection: CommonQueryMethods, live: Tables, fresh: Tables): Promise<string[]> {
  const changed: string[] = [];
  for (const [role, table] of Object.entries(live)) {
    const [was, is] = [await shapeOf(connection, fresh[role]!), await shapeOf(connection, table)];
    if (was !== is) changed.push(table);
  }
  return changed;
}

async function shapeOf(connection: CommonQueryMethods, table: string): Promise<string> {
  return connection.oneFirst(sql.type(z.object({ shape: z.string() }))`
    SELECT concat_ws(E'\n',
      (SELECT string_agg(concat_ws(' ', quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), a.attnotnull,
          a.attidentity, a.attgenerated, a.attstattarget, a.attcollation, pg_get_expr(d.adbin, d.adrelid)), ', ' ORDER BY a.attnum)
        FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped),
      (SELECT string_agg(pg_get_constraintdef(c.oid), ', ' ORDER BY pg_get_constraintdef(c.oid))
        FROM pg_constraint c WHERE c.conrelid = t.oid),
      (SELECT string_agg(regexp_replace(pg_get_indexdef(i.indexrelid), '^.*? USING ', ''), ', '
          ORDER BY regexp_replace(pg_get_indexdef(i.indexrelid), '^.*? USING ', ''))
        FROM pg_index i WHERE i.indrelid = t.oid),
      array_to_string(t.reloptions, ', ')) AS shape
    FROM pg_class t WHERE t.oid = ${table}::regclass`);
}

/** How long the transaction's next lock waits may last (`lock_timeout`), each. */
async function setLockTimeout(transaction: CommonQueryMethods, timeoutMs: number): Promise<void> {
  await transaction.query(sql.type(z.object({ set_config: z.string() }))`SELECT set_config('lock_timeout', ${`${timeoutMs}ms`}, true)`);
}

/** Gives the planner statistics of the new tables before they take queries. */
async function analyze(connection: CommonQueryMethods, tables: Tables): Promise<void> {
  for (const table of Object.values(tables)) await connection.query(sql.typeAlias('void')`ANALYZE ${sql.identifier([table])}`);
}

/**
 * Puts each fresh table in its live one's place, with what `LIKE` does not copy: its owner, the
 * privileges granted on it and on its columns (a reporting role's SELECT: `copy_table_privileges`
 * and `copy_column_privileges`, migrations 0011 and 0014), its row security, enabled and forced as
 * it was, and its policies, and the comments on it and on its columns as they are now, not as
 * `LIKE` found them (`copy_comments`, migration 0015); moves the views on the live tables (an
 * operator's report) onto it, and drops the old one. A renamed table takes its views along: each
 * is defined again, from its definition read before the renames, on the tables now of those names
 * (`redefine_view`, migration 0012); so is each policy, whose expressions may read the other
 * table (`copy_policy`, migration 0014). The copies' indexes got generated names (`LIKE` cannot
 * copy names); they take the old indexes' names, so that the schema reads the same after a
 * rebuild as before (a later migration may name an index), and the old ones' roles: replica
 * identity, `CLUSTER`'s index.
 */
async function swapTables(connection: CommonQueryMethods, live: Tables, fresh: Tables): Promise<void> {
  const [views, policies] = [await viewsOn(connection, live), await policiesOn(connection, live)];
  for (const [role, table] of Object.entries(live)) {
    await copyOwner(connection, table, fresh[role]!);
    for (const copy of ['copy_table_privileges', 'copy_column_privileges', 'copy_row_security', 'copy_comments']) {
      await connection.query(sql.typeAlias('void')`SELECT FROM ${sql.identifier([copy])}(${table}::regclass, ${fresh[role]!}::regclass)`);
    }
    await connection.query(sql.typeAlias('void')`ALTER TABLE ${sql.identifier([table])} RENAME TO ${sql.identifier([`${table}__old`])}`);
    await connection.query(sql.typeAlias('void')`ALTER TABLE ${sql.identifier([fresh[role]!])} RENAME TO ${sql.identifier([table])}`);
  }
  for (const { view, definition } of views) {
    await connection.query(sql.typeAlias('void')`SELECT FROM redefine_view(${view}::regclass, ${definition})`);
  }
  for (const { table, name, using, check } of policies) {
    await connection.query(sql.typeAlias('void')`
      SELECT FROM copy_policy(${`${table}__old`}::regclass, ${name}, ${table}::regclass, ${using}, ${check})`);
  }
  const indexNames = [];
  for (const table of Object.values(live)) {
    const indexes = await matchingIndexes(connection, `${table}__old`, table);
    await copyIndexMarkers(connection, `${table}__old`, table, indexes);
    indexNames.push(...indexes);
  }
  // At once: a policy of one old table may read the other.
  await connection.query(sql.typeAlias('void')`DROP TABLE ${sql.join(Object.values(live).map((table) => sql.identifier([`${table}__old`])), sql.fragment`, `)}`);
  for (const { old_name, new_name } of indexNames) {
    await connection.query(sql.typeAlias('void')`ALTER INDEX ${sql.identifier([new_name])} RENAME TO ${sql.identifier([old_name])}`);
  }
}

/**
 * Gives `to` the owner of `from` (an operator's role, not the rebuild's), first: the privileges
 * granted on a table are its owner's grants, and the owner's own.
 */
async function copyOwner(connection: CommonQueryMethods, from: string, to: string): Promise<void> {
  const owner = await connection.oneFirst(sql.type(z.object({ owner: z.string() }))`
    SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = ${from}::regclass`);
  await connection.query(sql.typeAlias('void')`ALTER TABLE ${sql.identifier([to])} OWNER TO ${sql.identifier([owner])}`);
}

/** The row-security policies of the tables, each with its expressions as text (null where it has none). */
async function policiesOn(connection: CommonQueryMethods, tables: Tables) {
  return connection.any(sql.type(z.object({ table: z.string(), name: z.string(), using: z.string().nullable(), check: z.string().nullable() }))`
    SELECT live.name AS table, p.polname AS name, pg_get_expr(p.polqual, p.polrelid) AS using,
      pg_get_expr(p.polwithcheck, p.polrelid) AS check
    FROM unnest(${sql.array(Object.values(tables), 'text')}) AS live(name)
    JOIN pg_policy p ON p.polrelid = live.name::regclass
    ORDER BY live.name, p.polname`);
}

/** The views that read the tables (not through other views), each with its definition. */
async function viewsOn(connection: CommonQueryMethods, tables: Tables) {
  return connection.any(sql.type(z.object({ view: z.string(), definition: z.string() }))`
    SELECT DISTINCT v.oid::regclass::text AS view, pg_get_viewdef(v.oid) AS definition
    FROM pg_depend d
    JOIN pg_rewrite r ON r.oid = d.objid
    JOIN pg_class v ON v.oid = r.ev_class AND v.relkind = 'v'
    WHERE d.classid = 'pg_rewrite'::regclass AND d.deptype = 'n'
      AND d.refclassid = 'pg_class'::regclass AND d.refobjid = ANY(${sql.array(Object.values(tables), 'regclass')})`);
}

/**
 * What depends on the tables that dropping them would take along, but for the views and policies
 * `swapTables` moves (views of a role the rebuild's has the privileges of, their owner's, which
 * redefining them needs; the tables' own policies): materialized views, other tables' foreign
 * keys and policies, functions, views of other roles, other tables' rules writing into them, the
 * operator's triggers and rules on them; not the tables' own parts (constraints, indexes), which
 * the copies have. A trigger or a rule is not carried over: the rebuild writes every row again,
 * and whether the trigger should see those writes (an audit log would record the whole history a
 * second time; a table it keeps in step needs them), or the rule rewrite them (one that turns a
 * delete or an update into nothing makes the live rows differ from the projection's), only its
 * author knows; put on the rebuilt tables after, what it keeps would fall out of step without a
 * word.
 * Nor is a publication of the tables (logical replication, change capture): its consumers would
 * get tables swapped under them, without the rows the rebuild changed; and one of their schema's
 * tables, or of all, publishes the fresh tables' rows as the rebuild writes them, under their own
 * names (a PostgreSQL subscription stops at the first, its copy of no such table).
 */
async function dependentsNotCarried(connection: CommonQueryMethods, tables: Tables): Promise<readonly string[]> {
  const live = sql.array(Object.values(tables), 'regclass');
  return connection.anyFirst(sql.type(z.object({ object: z.string() }))`
    -- a view by its name, not its rule's; another rule by its own (another table's, writing into them)
    SELECT CASE WHEN r.rulename = '_RETURN' THEN pg_describe_object('pg_class'::regclass, r.ev_class, 0)
      ELSE pg_describe_object(d.classid, d.objid, 0) END AS object
    FROM pg_depend d
    LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
    LEFT JOIN pg_class v ON v.oid = r.ev_class
    WHERE d.deptype = 'n' AND d.refclassid = 'pg_class'::regclass AND d.refobjid = ANY(${live})
      AND NOT coalesce(v.relkind = 'v' AND pg_has_role(v.relowner, 'USAGE'), false)
      -- a policy of the tables themselves (reading the other one), which the swap creates again
      AND NOT (d.classid = 'pg_policy'::regclass AND EXISTS (SELECT FROM pg_policy p
        WHERE p.oid = d.objid AND p.polrelid = ANY(${live})))
      -- a part of the table itself (a check constraint, on its columns), which goes with it
      AND NOT EXISTS (SELECT FROM pg_depend part WHERE part.classid = d.classid AND part.objid = d.objid
        AND part.refclassid = d.refclassid AND part.refobjid = d.refobjid AND part.deptype IN ('a', 'i'))
    UNION -- the operator's triggers, but not those a constraint made
    SELECT pg_describe_object('pg_trigger'::regclass, t.oid, 0) FROM pg_trigger t WHERE t.tgrelid = ANY(${live}) AND NOT t.tgisinternal
    UNION -- the tables' own rules, parts of them that dropping them takes along
    SELECT pg_describe_object('pg_rewrite'::regclass, r.oid, 0) FROM pg_rewrite r WHERE r.ev_class = ANY(${live})
    UNION -- their publications: of them, of their schema's tables, of all tables
    SELECT pg_describe_object('pg_publication_rel'::regclass, p.oid, 0) FROM pg_publication_rel p WHERE p.prrelid = ANY(${live})
    UNION
    SELECT pg_describe_object('pg_publication_namespace'::regclass, p.oid, 0) FROM pg_publication_namespace p
    WHERE p.pnnspid IN (SELECT relnamespace FROM pg_class WHERE oid = ANY(${live}))
    UNION
    SELECT format('publication %s of all tables', quote_ident(p.pubname)) FROM pg_publication p WHERE p.puballtables
    ORDER BY object`);
}

/**
 * Gives `to` the replica identity of `from` (`FULL`, `NOTHING`, or its index's: the matching one
 * of `to`) and the index `CLUSTER` orders it by, which `LIKE` does not copy.
 */
async function copyIndexMarkers(connection: CommonQueryMethods, from: string, to: string, indexes: readonly MatchingIndex[]): Promise<void> {
  const table = sql.identifier([to]);
  const identity = await connection.oneFirst(sql.type(z.object({ identity: z.string() }))`
    SELECT relreplident AS identity FROM pg_class WHERE oid = ${from}::regclass`);
  if (identity === 'f') await connection.query(sql.typeAlias('void')`ALTER TABLE ${table} REPLICA IDENTITY FULL`);
  if (identity === 'n') await connection.query(sql.typeAlias('void')`ALTER TABLE ${table} REPLICA IDENTITY NOTHING`);
  for (const { new_name, replica_identity, clustered } of indexes) {
    const index = sql.identifier([new_name]);
    if (replica_identity) await connection.query(sql.typeAlias('void')`ALTER TABLE ${table} REPLICA IDENTITY USING INDEX ${index}`);
    if (clustered) await connection.query(sql.typeAlias('void')`ALTER TABLE ${table} CLUSTER ON ${index}`);
  }
}

const matchingIndex = z.object({ old_name: z.string(), new_name: z.string(), replica_identity: z.boolean(), clustered: z.boolean() });
type MatchingIndex = z.infer<typeof matchingIndex>;

/**
 * Each index of `from` paired with the index of `to` that has the same definition, and whether
 * the former is its table's replica identity, or the one it is clustered on.
 */
async function matchingIndexes(connection: CommonQueryMethods, from: string, to: string): Promise<readonly MatchingIndex[]> {
  return connection.any(sql.type(matchingIndex)`
    SELECT old_index.relname AS old_name, new_index.relname AS new_name, o.indisreplident AS replica_identity, o.indisclustered AS clustered
    FROM pg_index o
    JOIN pg_class old_index ON old_index.oid = o.indexrelid
    JOIN pg_index n ON n.indrelid = ${to}::regclass
      AND n.indisunique = o.indisunique AND n.indisprimary = o.indisprimary
      AND regexp_replace(pg_get_indexdef(n.indexrelid), '^.*? USING ', '') = regexp_replace(pg_get_indexdef(o.indexrelid), '^.*? USING ', '')
    JOIN pg_class new_index ON new_index.oid = n.indexrelid
    WHERE o.indrelid = ${from}::regclass`);
}
