import { ConsoleLogger, type INestApplication } from '@nestjs/common';
import { SignJWT } from 'jose';
import type { DatabasePool } from 'slonik';
import { chatProjection } from '../read-models/chat.projection.js';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import { createApp } from '../src/app.module.js';
import { loadConfig } from '../src/config.js';
import { createDatabasePool } from '../src/database/pool.js';
import { PostgresEventStore, type PostgresEventStoreOptions } from '../src/event-store/postgres-event-store.js';
import { createTestDatabase } from './database.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/** The HS256 secret of the test apps' tokens. */
export const TEST_JWT_SECRET = 'stomp-gateway-test-secret-of-32-bytes-at-least';

/** The whole app on a database of its own, listening on a free port, its projections running. */
export interface StompTestApp {
  readonly app: INestApplication;
  /** `ws://127.0.0.1:PORT/stomp` */
  readonly stompUrl: string;
  readonly pool: DatabasePool;
  readonly store: PostgresEventStore;
  /**
   * A proxy in front of the database that only the gateway's LISTEN connection goes through:
   * cutting it loses the notices, nothing else.
   */
  readonly listenProxy: TcpProxy;
  close(): Promise<void>;
}

/**
 * Starts the app as `main.ts` does, over a fresh test database, with `env` as its environment
 * and `storeOptions` for its event store (Nest logs with PARLEY_TEST_LOGS=1).
 */
export async function startStompTestApp(env: Record<string, string> = {}, storeOptions: PostgresEventStoreOptions = {}): Promise<StompTestApp> {
  const database = await createTestDatabase();
  const pool = await createDatabasePool(database.url);
  const store = new PostgresEventStore(pool, storeOptions);
  const projections = new ProjectionRunner({ databaseUrl: database.url, store, projections: [chatProjection] });
  const listenProxy = await startTcpProxy(Number(new URL(database.url).port));
  const listenUrl = new URL(database.url);
  listenUrl.port = String(listenProxy.port);
  const config = loadConfig({ JWT_SECRET: TEST_JWT_SECRET, DEV_TOKENS: '0', PORT: '0', ...env });
  const runtime = { config, databaseUrl: listenUrl.toString(), pool, eventStore: store, projections, close: async () => {} };
  const app = await createApp(runtime, process.env.PARLEY_TEST_LOGS ? new ConsoleLogger() : false);
  await app.listen(0, '127.0.0.1');
  projections.start();
  const base = new URL(await app.getUrl());
  return {
    app,
    stompUrl: `ws://127.0.0.1:${base.port}/stomp`,
    pool,
    store,
    listenProxy,
    close: async () => {
      await app.close();
      await projections.stop();
      await listenProxy.close();
      await pool.end();
      await database.drop();
    },
  };
}

/** A token of the test apps for `sub` in `role`; `options` forge the bad ones. */
export function testToken(
  sub: string,
  role: string,
  options: { secret?: string; expiresAt?: number; name?: string; claims?: Record<string, unknown> } = {},
): Promise<string> {
  const jwt = new SignJWT({ ...options.claims, role, ...(options.name ? { name: options.name } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? '1h');
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}
