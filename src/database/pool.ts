import { AsyncLocalStorage } from 'node:async_hooks';
import { Logger } from '@nestjs/common';
import { createPgDriverFactory } from '@slonik/pg-driver';
import {
  createPool,
  type DatabasePool,
  type DriverClient,
  type DriverFactory,
  type DriverTypeParser,
  type Interceptor,
  SchemaValidationError,
} from 'slonik';
import { isConnectionLoss } from './connection-loss.js';

/**
 * A slonik pool as the whole app uses it: `int8` as `bigint` (positions and revisions outgrow
 * nothing), `timestamptz` as `Date`, and rows of `sql.type(zod)` queries validated.
 */
export async function createDatabasePool(
  url: string,
  options: { maximumPoolSize?: number; applicationName?: string } = {},
): Promise<DatabasePool> {
  const pool = await createPool(withApplicationName(url, options.applicationName ?? 'parley'), {
    driverFactory: evictingDeadClients(createPgDriverFactory()),
    maximumPoolSize: options.maximumPoolSize ?? 10,
    typeParsers,
    interceptors: [resultParser],
    statementTimeout: 'DISABLE_TIMEOUT',
    // slonik closes a connection idle for 5 s by default: under a load that comes in bursts, the
    // next burst then waits for new connections, each a new PostgreSQL backend with cold caches
    // and no plans kept (bench/NOTES.md, 2026-12-05, late morning). A minute of idleness first.
    idleTimeout: 60_000,
    // slonik's default runs DISCARD ALL at every release, a second round trip per query. Nothing
    // borrowed from this pool leaves session state behind (session locks use their own client).
    resetConnection: async () => {},
    // A query that fails is reported, never silently replayed: the event store decides on retries.
    queryRetryLimit: 0,
    transactionRetryLimit: 0,
  });
  // slonik emits every failed query here too (its caller gets the error as well); without a
  // listener the event would crash the process. Only a connection that died (a database restart)
  // is worth a warning: the next query takes another connection.
  pool.on('error', (error) => {
    if (isConnectionLoss(error)) logger.warn(`database connection lost: ${error.message}`);
  });
  return pool;
}

const logger = new Logger('DatabasePool');

/** The signal of {@link closingOnAbort} around the queries being made. */
const abandonment = new AsyncLocalStorage<AbortSignal>();

/**
 * Runs `queries` on a pool of {@link createDatabasePool} so that, should `signal` abort while one
 * of them waits for its answer, the connection it went out on leaves the pool and is closed at
 * once, and the pool opens another in its place: on a network gone silent, waiting for that
 * answer can take hours, or never end. That query then fails as on a lost connection, whether the
 * database carried it out or not; one asked for after the abort is not sent.
 */
export function closingOnAbort<T>(signal: AbortSignal, queries: () => Promise<T>): Promise<T> {
  return abandonment.run(signal, queries);
}

/**
 * Works around a slonik 47 pool leak. When the server goes away during a query, the client's
 * error handler destroys it while the query is still pending; that destroy rejects with the
 * query's error before announcing `destroy`, so the pool keeps the dead client forever and, after
 * `maximumPoolSize` such losses (one database restart under load), every query waits for a slot
 * that never frees up. Here a client whose destroy failed is announced destroyed all the same.
 *
 * And closes the connections of queries abandoned by {@link closingOnAbort} at once. slonik waits
 * for a query in flight (up to `gracefulTerminationTimeout`) before it closes a connection; that
 * wait is made here instead, and skipped for those.
 */
function evictingDeadClients(factory: DriverFactory): DriverFactory {
  return async ({ driverConfiguration }) => {
    const graceMs = driverConfiguration.gracefulTerminationTimeout ?? 5_000;
    const driver = await factory({ driverConfiguration: { ...driverConfiguration, gracefulTerminationTimeout: 0 } });
    return {
      createClient: async (): Promise<DriverClient> => {
        const client = await driver.createClient();
        const destroyListeners = new Set<() => void>();
        const announceDestroyed = () => {
          for (const listener of [...destroyListeners]) listener();
        };
        let inFlight: Promise<unknown> | undefined;
        return {
          ...client,
          on: ((event: 'destroy', listener: () => void) => {
            if (event === 'destroy') destroyListeners.add(listener);
            return client.on(event, listener);
          }) as DriverClient['on'],
          removeListener: ((event: 'destroy', listener: () => void) => {
            if (event === 'destroy') destroyListeners.delete(listener);
            return client.removeListener(event, listener);
          }) as DriverClient['removeListener'],
          destroy: async () => {
            if (inFlight) await settledOrAfter(inFlight, graceMs);
            // Rejects as told above when the query failed meanwhile: the client is gone all the same.
            await client.destroy().catch(announceDestroyed);
          },
          query: async (query, values) => {
            const signal = abandonment.getStore();
            signal?.throwIfAborted();
            const abandon = () => {
              announceDestroyed();
              // Its query fails when the socket closes; its caller has that error.
              client.destroy().catch(() => {});
            };
            signal?.addEventListener('abort', abandon);
            try {
              const answer = client.query(query, values);
              inFlight = answer;
              return await answer;
            } catch (error) {
              if (client.state() === 'PENDING_DESTROY') client.destroy().catch(announceDestroyed);
              throw error;
            } finally {
              inFlight = undefined;
              signal?.removeEventListener('abort', abandon);
            }
          },
        };
      },
    };
  };
}

/** Resolves once `promise` has settled, or after `ms`, whichever comes first. */
async function settledOrAfter(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const after = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  await Promise.race([promise.then(() => {}, () => {}), after]);
  clearTimeout(timer);
}

const typeParsers: DriverTypeParser[] = [
  { name: 'int8', parse: (value) => BigInt(value) },
  { name: 'timestamptz', parse: (value) => new Date(value) },
];

/** slonik validates `sql.type(zod)` rows only through an interceptor like this one (its README's). */
const resultParser: Interceptor = {
  name: 'result-parser',
  transformRow: (context, query, row) => {
    if (!context.resultParser) return row;
    const result = context.resultParser.safeParse(row);
    if (!result.success) throw new SchemaValidationError(query, row, result.error.issues);
    return result.data as typeof row;
  },
};

function withApplicationName(url: string, name: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('application_name')) parsed.searchParams.set('application_name', name);
  return parsed.toString();
}

/** The Nest injection token of the app's slonik pool. */
export const DATABASE_POOL = Symbol('DatabasePool');
