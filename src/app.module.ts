import { type DynamicModule, type LoggerService, Module } from '@nestjs/common';
import type { CorsOptions, CorsOptionsDelegate } from '@nestjs/common/internal';
import { APP_FILTER, NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { CqrsModule } from '@nestjs/cqrs';
import { ProjectionRunner } from '../read-models/projection-runner.js';
import { AuthModule } from './auth/auth.module.js';
import { DEV_TOKEN_PATH } from './auth/dev-token.controller.js';
import { ChatSessionModule } from './chat-session/chat-session.module.js';
import { CONFIG, type Config } from './config.js';
import { DATABASE_POOL } from './database/pool.js';
import { EVENT_STORE } from './event-store/event-store.js';
import { GatewayModule } from './gateway/gateway.module.js';
import { AuditController } from './http/audit.controller.js';
import { HealthController } from './http/health.controller.js';
import { MetricsController } from './http/metrics.controller.js';
import { SessionsController } from './http/sessions.controller.js';
import { refusedWhileStopping, StoppingExpressAdapter } from './http/stopping.js';
import { UnavailableFilter } from './http/unavailable.filter.js';
import { WebController } from './http/web.controller.js';
import type { Runtime } from './runtime.js';

/** The app over a started {@link Runtime}: its pool, event store and config are global providers. */
@Module({})
export class AppModule {
  static forRuntime(runtime: Runtime): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [CqrsModule.forRoot(), AuthModule, ChatSessionModule, GatewayModule.forDatabase(runtime.databaseUrl)],
      controllers: [HealthController, MetricsController, SessionsController, AuditController, WebController],
      providers: [
        { provide: CONFIG, useValue: runtime.config },
        { provide: DATABASE_POOL, useValue: runtime.pool },
        { provide: EVENT_STORE, useValue: runtime.eventStore },
        { provide: ProjectionRunner, useValue: runtime.projections },
        { provide: APP_FILTER, useClass: UnavailableFilter },
      ],
      exports: [CONFIG, DATABASE_POOL, EVENT_STORE, ProjectionRunner],
    };
  }
}

/**
 * Pages of the `CORS_ORIGINS` may call the HTTP API, but for the dev token's route: only the
 * server's own pages use it, and a page of another site must not take a token for any role.
 */
function corsFor(config: Config): CorsOptionsDelegate<{ path: string }> {
  const api: CorsOptions = {
    origin: config.corsOrigins === '*' ? '*' : [...config.corsOrigins],
    methods: ['GET', 'HEAD', 'POST'],
    allowedHeaders: ['authorization', 'content-type'],
    maxAge: 600,
  };
  // As Express routes: with or without a trailing slash, in any case.
  const devToken = new RegExp(`^/${DEV_TOKEN_PATH}/?$`, 'i');
  return (request, answer) => answer(null, devToken.test(request.path) ? { origin: false } : api);
}

/**
 * Middleware for the API's answers: transcripts, sessions and tokens must not stay in the browser
 * cache of a shared computer. `no-store`, not `no-cache` with an ETag, which keeps the copy on disk
 * to revalidate it: that would save only the body of an answer asked for again, where the pages
 * load a list or a transcript as they open (or reconnect) and follow it over STOMP.
 */
function noStore(_request: unknown, response: { set(name: string, value: string): void }, next: () => void): void {
  response.set('cache-control', 'no-store');
  next();
}

/**
 * The app over `runtime`, as `main.ts` serves it. From the start of `app.close()` new HTTP
 * requests get 503, while the STOMP gateway lets the commands under way finish (its
 * `beforeApplicationShutdown`). Pages of the `CORS_ORIGINS` may call the HTTP API (see
 * {@link corsFor}): the widget runs in the pages of other sites, and reads those 503s too.
 */
export async function createApp(runtime: Runtime, logger: LoggerService | false): Promise<NestExpressApplication> {
  const server = new StoppingExpressAdapter();
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRuntime(runtime), server, {
    logger,
    // A provider that fails to start is thrown to the caller, which stops the database it
    // started, instead of ending the process here.
    abortOnError: false,
  });
  // Ahead of the body parsers and routes, which `listen` adds.
  app.enableCors(corsFor(runtime.config));
  app.use(refusedWhileStopping(server));
  app.use('/api', noStore);
  app.disable('x-powered-by');
  return app;
}
