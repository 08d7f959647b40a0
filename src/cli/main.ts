#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConsoleLogger, Logger, type LogLevel as NestLogLevel } from '@nestjs/common';
import type { DatabasePool } from 'slonik';
import { chatProjection } from '../../read-models/chat.projection.js';
import { projectionLag } from '../../read-models/projection-lag.js';
import { lockHolder } from '../../read-models/locks.js';
import { EventNotApplicable } from '../../read-models/projection.js';
import {
  DependentsNotCarried, LiveTablesBusy, LiveTablesChanged, type RebuildProgress, RebuildInProgress, rebuildProjection,
} from '../../read-models/rebuild.js';
import {
  HistoryBroken,
  type HistoryPoint,
  historyAsCsv,
  PointOutOfRange,
  sessionAt,
  sessionHistory,
  SessionNotFound,
  verifySession,
} from '../audit/session-audit.js';
import { type Config, ConfigError, levelsUpTo, loadConfig } from '../config.js';
import { DataDirUnreachable, EmbeddedPostgresLeftRunning, NoEmbeddedDatabase, startEmbeddedPostgres } from '../database/embedded-postgres.js';
import { assertMigrated, MigrationFailed, migrate, NotMigrated } from '../database/migrations.js';
import { LockHeld } from '../database/process-lock.js';
import { createDatabasePool } from '../database/pool.js';
import { DatabaseUnreachable, explainUnreachable } from '../database/unreachable.js';
import { type EventStore, EventStoreUnavailable, type LogPosition } from '../event-store/event-store.js';
import { openEventStore } from '../event-store/configured-event-store.js';
import { isoInstant } from '../http/query-parameters.js';
import { onStopSignal, signalExitStatus, type StopSignal } from '../stop-signals.js';

const USAGE = `usage: npm run chat -- <command>

commands:
  migrate                                      apply the migrations not applied yet
  projections status                           each projection's checkpoint, the log's head, the lag,
                                               events held back behind a transaction in flight
  projections rebuild [name] [--swap-attempts N]
                                               rebuild beside the live tables, then swap (default: all);
                                               the swap tries N times (12: some 30 s) to have them
  audit replay <sessionId> [--revision N | --at ISO]
                                               the session as it was then, rebuilt from its events
  audit export <sessionId> --format json|csv   every event of the session with its metadata
  audit verify <sessionId>                     recompute the hash chain (exit 1 when broken)

exit status: 1 broken history, 64 usage, 65 no such session or an event that cannot be
applied, 69 database or event store unreachable, 70 migration failed or unexpected error,
75 rebuild running, or its swap kept from the live tables by queries, or the live tables
   migrated while it built, or another process starting or stopping the embedded database for
   minutes (at the command's end: the command done, the database left running),
78 configuration, or a database not migrated or not in DATA_DIR, or objects on the live
   tables a rebuild cannot move (a materialized view, a foreign key),
129, 130 or 143 stopped by SIGHUP (terminal closed), SIGINT (Ctrl-C) or SIGTERM

The database is DATABASE_URL's, or the embedded one under DATA_DIR (the running server's when
one runs, else started for the command and stopped after); events come from EventStoreDB when
EVENTSTORE_CONNECTION_STRING is set. Logs go to stderr, warnings and errors only unless LOG_LEVEL
says otherwise.`;

/** A mistake in the command line; the message says what is wrong. */
class UsageError extends Error {}

/** The command was stopped by a signal; a line on stderr said so when the signal came. */
class Interrupted extends Error {
  override readonly name = 'Interrupted';
  constructor(readonly signal: StopSignal) {
    super(`stopped by ${signal}`);
  }
}

/**
 * Aborted by SIGINT, SIGTERM or SIGHUP. A rebuild then stops after its batch under way, before its
 * swap; the other commands finish first. Either way, what the command started is stopped after, as
 * at its normal end.
 */
const interruption = new AbortController();

/**
 * The exit statuses, from sysexits.h where one fits, so that a script tells a broken chain from an
 * outage (the README lists them).
 */
const EXIT = {
  /** The session's stored history is broken: its hash chain (`verify`), or a revision (`replay`). */
  broken: 1,
  usage: 64,
  /** EX_DATAERR: no such session or point in its history; an event a projection cannot apply. */
  dataError: 65,
  /** EX_UNAVAILABLE: the database or the event store cannot be reached. */
  unavailable: 69,
  /** EX_SOFTWARE: a migration failed, or an error nobody expected (its stack trace is printed). */
  software: 70,
  /**
   * EX_TEMPFAIL: another rebuild is running, or queries held the live tables through a rebuild's
   * swap, or a migration changed them while it built, or another process has been starting or
   * stopping the embedded database for minutes; try again later.
   */
  tryAgain: 75,
  /**
   * EX_CONFIG: a setting cannot be used; the database is not migrated, or not in DATA_DIR; objects
   * on the live tables that a rebuild cannot move.
   */
  config: 78,
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The command line's own log lines (the embedded database's); the modules it runs have theirs. */
const logger = new Logger('chat');

/**
 * Nest's console logger with every level on stderr, where Nest writes all but errors to stdout:
 * the command's stdout holds its output alone (an export, say).
 */
class StderrLogger extends ConsoleLogger {
  protected override printMessages(
    messages: unknown[], context?: string, logLevel?: NestLogLevel, _stream?: 'stdout' | 'stderr', errorStack?: unknown, params?: Record<string, unknown>,
  ): void {
    super.printMessages(messages, context, logLevel, 'stderr', errorStack, params);
  }
}

/** The options given, of all the commands': each command refuses those it does not take. */
interface Options {
  help?: boolean;
  revision?: string;
  at?: string;
  format?: string;
  'swap-attempts'?: string;
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      revision: { type: 'string' },
      at: { type: 'string' },
      format: { type: 'string' },
      'swap-attempts': { type: 'string' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (positionals.length === 0) throw new UsageError('a command is missing');
  const config = loadConfig();
  Logger.overrideLogger(new StderrLogger({ logLevels: levelsUpTo(config.logLevel ?? 'warn') }));
  const [command, ...rest] = positionals;
  switch (command) {
    case 'migrate':
      expectArguments(rest, 0, 'migrate');
      expectOptions(values, [], 'migrate');
      return withDatabase(config, { create: true }, async (url) => {
        const applied = await migrate(url);
        console.log(applied.length === 0 ? 'migrations: up to date' : `migrations applied: ${applied.join(', ')}`);
      });
    case 'projections':
      return projections(config, rest, values);
    case 'audit':
      return audit(config, rest, values);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

const PROJECTIONS = [chatProjection];

async function projections(config: Config, args: string[], options: Options): Promise<void> {
  const [action, name, ...rest] = args;
  if (action === 'status') {
    expectArguments(name === undefined ? [] : [name, ...rest], 0, 'projections status');
    expectOptions(options, [], 'projections status');
    return withEventStore(config, async (store, database) => {
      for (const projection of PROJECTIONS) {
        const lag = await projectionLag(database.pool, store, projection);
        const leader = await lockHolder(database.pool, 'leader', projection.name);
        console.log([
          `${projection.name}:`,
          `  checkpoint  ${positionText(lag.checkpoint)}`,
          `  log head    ${lag.capped ? 'beyond the first 10,000 events after the checkpoint' : positionText(lag.head)}`,
          `  lag         ${lag.capped ? `${lag.lag.toLocaleString('en-US')} events or more` : `${lag.lag.toLocaleString('en-US')} events`}`,
          `  held back   ${lag.heldBack ? 'yes: later events wait, not counted in the lag, behind a transaction still in flight' : 'no'}`,
          `  projector   ${leader === null ? 'none running' : `running (database backend pid ${leader})`}`,
        ].join('\n'));
      }
    });
  }
  if (action === 'rebuild') {
    expectArguments(rest, 0, 'projections rebuild');
    expectOptions(options, ['swap-attempts'], 'projections rebuild');
    const swapAttempts = options['swap-attempts'] === undefined ? undefined : attemptCount(options['swap-attempts']);
    const chosen = name === undefined ? PROJECTIONS : PROJECTIONS.filter((p) => p.name === name || Object.values(p.tables).includes(name));
    if (chosen.length === 0) {
      throw new UsageError(`no projection "${name}": ${PROJECTIONS.map((p) => `${p.name} (${Object.values(p.tables).join(', ')})`).join('; ')}`);
    }
    return withEventStore(config, async (store, database) => {
      for (const projection of chosen) {
        const bar = new ProgressLine(`rebuilding ${projection.name}`);
        const result = await rebuildProjection({
          databaseUrl: database.url, store, projection, onProgress: (progress) => bar.update(progress), signal: interruption.signal, swapAttempts,
        }).finally(() => bar.end());
        console.log(`rebuilt ${projection.name}: ${result.eventsProjected.toLocaleString('en-US')} events, swapped in at ${positionText(result.checkpoint)}`);
      }
    });
  }
  throw new UsageError(`unknown projections command "${action ?? ''}": status or rebuild`);
}

function attemptCount(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`--swap-attempts must be a whole number of 1 or more, got "${text}"`);
  return Number(text);
}

function positionText(position: LogPosition): string {
  return position.commit < 0n ? 'start of the log' : `commit ${position.commit}, prepare ${position.prepare}`;
}

async function audit(config: Config, args: string[], options: Options): Promise<void> {
  const [action, sessionId, ...rest] = args;
  expectArguments(rest, 0, `audit ${action ?? ''}`.trim());
  if (sessionId === undefined || !UUID.test(sessionId)) throw new UsageError('audit needs a session id (a UUID)');
  const id = sessionId.toLowerCase();
  const run = (work: (store: EventStore) => Promise<void>) => withEventStore(config, (store) => work(store));
  switch (action) {
    case 'replay': {
      expectOptions(options, ['revision', 'at'], 'audit replay');
      const point = historyPoint(options);
      return run(async (store) => console.log(JSON.stringify(sessionAt(id, await sessionHistory(store, id), point), null, 2)));
    }
    case 'export': {
      expectOptions(options, ['format'], 'audit export');
      if (options.format !== 'json' && options.format !== 'csv') throw new UsageError('audit export needs --format json or --format csv');
      const format = options.format;
      return run(async (store) => {
        const history = await sessionHistory(store, id);
        process.stdout.write(format === 'csv' ? historyAsCsv(history) : `${JSON.stringify({ sessionId: id, events: history }, null, 2)}\n`);
      });
    }
    case 'verify':
      expectOptions(options, [], 'audit verify');
      return run(async (store) => {
        const verdict = verifySession(await sessionHistory(store, id));
        console.log(verdict.ok ? `hash chain of ${id}: intact` : `hash chain of ${id}: BROKEN at revision ${verdict.brokenAtRevision}`);
        if (!verdict.ok) process.exitCode = EXIT.broken;
      });
    default:
      throw new UsageError(`unknown audit command "${action ?? ''}": replay, export or verify`);
  }
}

function historyPoint(options: { revision?: string; at?: string }): HistoryPoint {
  if (options.revision !== undefined && options.at !== undefined) throw new UsageError('give --revision or --at, not both');
  if (options.revision !== undefined) {
    if (!/^\d+$/.test(options.revision)) throw new UsageError(`--revision must be a revision number, got "${options.revision}"`);
    return { revision: Number(options.revision) };
  }
  if (options.at !== undefined) {
    const at = isoInstant(options.at);
    if (at === undefined) {
      throw new UsageError(`--at must be an ISO-8601 instant with its offset, such as 2026-12-07T16:00:00Z, got "${options.at}"`);
    }
    return { at };
  }
  return {};
}

function expectArguments(rest: string[], count: number, command: string): void {
  if (rest.length > count) throw new UsageError(`${command}: unexpected arguments: ${rest.join(' ')}`);
}

/** Refuses an option the command does not take (`--help` aside), which it would otherwise answer without. */
function expectOptions(options: Options, taken: readonly (keyof Options)[], command: string): void {
  const others = Object.keys(options).filter((name) => name !== 'help' && !taken.includes(name as keyof Options));
  if (others.length > 0) throw new UsageError(`${command} does not take ${others.map((name) => `--${name}`).join(' or ')}`);
}

/**
 * Runs `work` against the configured database, starting the embedded one if nobody runs it.
 * @throws {NoEmbeddedDatabase} when DATA_DIR holds none and `create` is false: a command that only
 * reads would answer from a new, empty cluster, made in whatever folder it was run from.
 */
async function withDatabase(config: Config, { create }: { create: boolean }, work: (url: string) => Promise<void>): Promise<void> {
  const explained = (url: string) => work(url).catch((error: unknown) => {
    throw explainUnreachable(error, url, config.databaseUrl === undefined);
  });
  if (config.databaseUrl) return explained(config.databaseUrl);
  const embedded = await startEmbeddedPostgres({
    dataDir: config.dataDir, port: config.embeddedPostgresPort, create, log: (line) => logger.log(line),
  });
  try {
    interruption.signal.throwIfAborted(); // a Ctrl-C while it started
    await explained(embedded.url);
  } finally {
    await embedded.stop().catch((error: unknown) => {
      if (!(error instanceof EmbeddedPostgresLeftRunning)) throw error;
      // Said, but the command's outcome stands (its output, its failure's status): a success is 75.
      console.error(error.message);
      process.exitCode ||= EXIT.tryAgain;
    });
  }
}

/**
 * Runs `work` with the configured event store and the database (a pool of the CLI's own).
 * @throws {NotMigrated} before `work` when the database has not applied every migration.
 */
async function withEventStore(config: Config, work: (store: EventStore, database: { url: string; pool: DatabasePool }) => Promise<void>): Promise<void> {
  return withDatabase(config, { create: false }, async (url) => {
    await assertMigrated(url);
    const pool = await createDatabasePool(url, { maximumPoolSize: 2, applicationName: 'parley-cli' });
    const store = await openEventStore(config, pool);
    try {
      await work(store, { url, pool });
    } finally {
      await store.close();
      await pool.end();
    }
  });
}

/**
 * A progress bar on stderr: events done of the total, rate and time left. Redrawn in place on a
 * terminal; a line every few seconds otherwise (a log file).
 */
class ProgressLine {
  private readonly started = performance.now();
  private lastPrinted = Number.NEGATIVE_INFINITY;

  constructor(private readonly label: string) {}

  update({ done, total }: RebuildProgress): void {
    const seconds = (performance.now() - this.started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const share = total > 0 ? Math.min(1, done / total) : 1;
    const width = 30;
    const bar = '#'.repeat(Math.round(share * width)).padEnd(width, '.');
    const eta = rate > 0 && done < total ? `${Math.ceil((total - done) / rate)} s left` : '';
    const line = `${this.label} [${bar}] ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} events  ${Math.round(rate).toLocaleString('en-US')} events/s  ${eta}`;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${line.padEnd(process.stderr.columns - 1)}`);
    } else if (performance.now() - this.lastPrinted > 2000 || done >= total) {
      this.lastPrinted = performance.now();
      process.stderr.write(`${line}\n`);
    }
  }

  /** Ends the bar's line on a terminal, so that what follows (the outcome) has its own. */
  end(): void {
    if (process.stderr.isTTY) process.stderr.write('\n');
  }
}

/** The exit status of an error said in one line; undefined for an unexpected error. */
function exitStatusOf(error: unknown): number | undefined {
  if (
    error instanceof ConfigError || error instanceof NotMigrated || error instanceof NoEmbeddedDatabase || error instanceof DataDirUnreachable
    || error instanceof DependentsNotCarried
  ) {
    return EXIT.config;
  }
  if (error instanceof DatabaseUnreachable || error instanceof EventStoreUnavailable) return EXIT.unavailable;
  if (error instanceof HistoryBroken) return EXIT.broken;
  if (error instanceof SessionNotFound || error instanceof PointOutOfRange || error instanceof EventNotApplicable) return EXIT.dataError;
  if (error instanceof RebuildInProgress || error instanceof LiveTablesBusy || error instanceof LiveTablesChanged || error instanceof LockHeld) {
    return EXIT.tryAgain;
  }
  if (error instanceof MigrationFailed) return EXIT.software;
  return undefined;
}

/** Says in one line what went wrong (with the usage, or the stack trace of the unexpected), and sets the exit status. */
function reportFailure(error: unknown): void {
  const status = exitStatusOf(error);
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = EXIT.usage;
  } else if (status !== undefined) {
    console.error((error as Error).message);
    process.exitCode = status;
  } else {
    console.error(error);
    process.exitCode = EXIT.software;
  }
}

onStopSignal((signal) => {
  // On a terminal, off the line of the progress bar or of the ^C the terminal echoes.
  console.error(`${process.stderr.isTTY ? '\n' : ''}${signal}: stopping (again to exit at once)`);
  interruption.abort(new Interrupted(signal));
});
try {
  await main(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof Interrupted)) reportFailure(error);
}
// Interrupted, the command exits as the signal would have ended it, whatever it had done by then.
const { reason } = interruption.signal;
if (reason instanceof Interrupted) process.exitCode = signalExitStatus(reason.signal);
