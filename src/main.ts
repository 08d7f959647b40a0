import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConsoleLogger } from '@nestjs/common';
import { createApp } from './app.module.js';
import { ConfigError, levelsUpTo, loadConfig } from './config.js';
import { DataDirUnreachable, EmbeddedPostgresLeftRunning } from './database/embedded-postgres.js';
import { MigrationFailed } from './database/migrations.js';
import { LockHeld } from './database/process-lock.js';
import { DatabaseUnreachable } from './database/unreachable.js';
import { tuneGarbageCollection } from './garbage-collection.js';
import { type Runtime, startRuntime } from './runtime.js';
import { onStopSignal, type StopSignal } from './stop-signals.js';

/** sysexits.h's status for a setting that cannot be used, as the command line exits too. */
const EX_CONFIG = 78;

/**
 * Starts Parley: the database (embedded unless DATABASE_URL is set), the migrations, the event
 * store, then the HTTP server. SIGINT, SIGTERM or SIGHUP (its terminal closed) stops the server
 * first and the database last: new HTTP requests get 503 and new WebSockets are refused, the
 * commands under way finish (for at most SHUTDOWN_GRACE_MS), every STOMP client gets an ERROR and
 * is disconnected, then the projections, the pool and the database stop. Another signal, a second
 * or more after the first, exits at once, as the command line does (`stop-signals.ts`).
 */
async function main(): Promise<void> {
  tuneGarbageCollection();
  const bootLogger = new ConsoleLogger('Parley');
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    bootLogger.error(`configuration: ${error.message}`);
    process.exit(EX_CONFIG);
  }
  const logger = new ConsoleLogger('Parley', { logLevels: levelsUpTo(config.logLevel ?? 'log') });
  // Signals are ours from the start: a Ctrl-C while the database starts must not leave it running.
  let stop: ((signal: StopSignal) => Promise<void>) | undefined;
  let stopRequested: StopSignal | undefined;
  onStopSignal((signal) => {
    if (stop) return void stop(signal);
    stopRequested = signal;
    logger.log(`${signal}: stopping once started (again to exit at once)`);
  });
  let runtime: Runtime;
  try {
    runtime = await startRuntime(config, (line) => logger.log(line));
  } catch (error) {
    const known = error instanceof DatabaseUnreachable || error instanceof DataDirUnreachable || error instanceof MigrationFailed ||
      error instanceof LockHeld;
    logger.error(known ? error.message : `cannot start: ${String((error as Error).stack ?? error)}`);
    process.exit(error instanceof DataDirUnreachable ? EX_CONFIG : 1);
  }
  /** Closes the runtime; false, said in one line, when its embedded PostgreSQL was left running. */
  const closeRuntime = async (): Promise<boolean> => {
    try {
      await runtime.close();
      return true;
    } catch (error) {
      if (!(error instanceof EmbeddedPostgresLeftRunning)) throw error;
      logger.error(error.message);
      return false;
    }
  };
  let app: Awaited<ReturnType<typeof createApp>>;
  try {
    app = await createApp(runtime, logger);
  } catch (error) {
    // Such as a generated JWT secret too short to sign with: the database started is stopped.
    logger.error(`cannot start: ${(error as Error).message}`);
    await closeRuntime();
    process.exit(1);
  }
  stop = async (signal) => {
    logger.log(`${signal}: stopping (again to exit at once)`);
    await app.close();
    process.exit((await closeRuntime()) ? 0 : 1);
  };
  if (stopRequested) return stop(stopRequested);
  try {
    await (config.host === undefined ? app.listen(config.port) : app.listen(config.port, config.host));
  } catch (error) {
    const host = config.host === undefined ? '' : ` of ${config.host}`;
    logger.error(`cannot listen on port ${config.port}${host}: ${(error as Error).message}; set PORT to a free port${host && ', HOST to an address of this machine'}`);
    await app.close();
    await closeRuntime();
    process.exit(1);
  }
  // The port bound: PORT=0 asks for any free one.
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  const everywhere = config.host === undefined || config.host === '0.0.0.0' || config.host === '::';
  const shown = everywhere || ['127.0.0.1', '::1', 'localhost'].includes(config.host!) ? 'localhost'
    : config.host!.includes(':') ? `[${config.host}]` : config.host; // an IPv6 address, as a URL has it
  logger.log(`Parley listening on http://${shown}:${port}${everywhere ? '' : ` (on ${config.host} only)`}`);
  if (config.devTokens) {
    logger.warn('dev tokens are on (DEV_TOKENS): POST /api/dev/token gives anyone who reaches this server a token for any user and role');
  }
}

await main();
