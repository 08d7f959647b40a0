/** Every setting of the app, read from the environment in one place (DESIGN.md, "Configuration"). */
export interface Config {
  readonly port: number;
  /**
   * The address the HTTP server listens on (`HOST`); unset: every interface. By default 127.0.0.1
   * while dev tokens are on: a server that hands anyone a token for any role answers this machine
   * only, unless told otherwise.
   */
  readonly host: string | undefined;
  /** Unset: the embedded PostgreSQL under `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly embeddedPostgresPort: number;
  readonly eventStore: 'postgres' | 'eventstoredb';
  readonly eventStoreConnectionString: string | undefined;
  /** HS256 secret of the JWTs; unset (and no JWKS URL): generated under `dataDir`. */
  readonly jwtSecret: string | undefined;
  /** Where the public keys of asymmetrically signed JWTs are published (http or https). */
  readonly jwtJwksUrl: string | undefined;
  /** When set, the `iss` every token must have (`JWT_ISSUER`). */
  readonly jwtIssuer: string | undefined;
  /** When set, the `aud` every token must have, or include (`JWT_AUDIENCE`). */
  readonly jwtAudience: string | undefined;
  /**
   * `POST /api/dev/token` enabled (`DEV_TOKENS`): by default only in the embedded mode (no
   * `DATABASE_URL`) with no JWT secret or JWKS URL configured, the mode for trying Parley out.
   */
  readonly devTokens: boolean;
  /**
   * What is logged (`LOG_LEVEL`); unset: `log` in the server, `warn` in the command line, whose
   * output is what it was asked for rather than a log.
   */
  readonly logLevel: LogLevel | undefined;
  /** The STOMP gateway's limits and timing (DESIGN.md, "STOMP contract"). */
  readonly stomp: StompSettings;
  /**
   * Sessions a customer may have open (not closed) at once (`MAX_OPEN_SESSIONS_PER_CUSTOMER`,
   * 3); opening one more is `RATE_LIMITED`.
   */
  readonly maxOpenSessionsPerCustomer: number;
  /**
   * How much the write side's cache of open sessions holds, in message ids
   * (`SESSION_CACHE_MESSAGE_IDS`, 500000: some 15 – 21 MB). Sessions in use beyond it are read
   * from the event store at each command.
   */
  readonly sessionCacheMessageIds: number;
  /**
   * How long a stopping server waits for the commands under way before it closes the STOMP
   * connections anyway, in ms (`SHUTDOWN_GRACE_MS`, 5000).
   */
  readonly shutdownGraceMs: number;
  /**
   * The web origins whose pages may call the HTTP API (`CORS_ORIGINS`): `*`, any (the default:
   * the API takes bearer tokens, never cookies, so a page of another site gains nothing it
   * could not do itself), or a list of origins such as `https://www.example.com`.
   */
  readonly corsOrigins: '*' | readonly string[];
}

/** Settings of the STOMP gateway at `/stomp`. */
export interface StompSettings {
  /** Largest client frame, headers and body, in bytes (`STOMP_MAX_FRAME_BYTES`, 65536). */
  readonly maxFrameBytes: number;
  /**
   * The heart-beat interval the server offers both ways, in ms (`STOMP_HEARTBEAT_MS`, 10000;
   * 0: none). A client silent for twice the negotiated interval is dropped; a new socket has
   * twice this (10 s when 0) to send CONNECT.
   */
  readonly heartbeatMs: number;
  /**
   * Bytes a connection may have waiting to be written before it is closed as a slow consumer
   * (`STOMP_MAX_BUFFERED_BYTES`, 1 MiB).
   */
  readonly maxBufferedBytes: number;
  /**
   * SENDs one connection may make: `STOMP_SEND_RATE` a second sustained (20), up to
   * `STOMP_SEND_BURST` at once (40). Every SEND counts, typing indicators too; more are
   * `RATE_LIMITED`.
   */
  readonly sendLimit: RateLimit;
}

/** A token bucket's shape: refilled at `perSecond`, holding at most `burst`. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** The values of `LOG_LEVEL`, each logging what those before it log, and more. */
const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

/** The levels a logger set to `level` prints: it and those before it in {@link LOG_LEVELS}. */
export function levelsUpTo(level: LogLevel): LogLevel[] {
  return LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(level) + 1);
}

/** A setting that cannot be used; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** @throws {ConfigError} naming the variable that is wrong. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const eventStoreConnectionString = nonEmpty(env.EVENTSTORE_CONNECTION_STRING);
  const eventStore = oneOf(env, 'EVENT_STORE', ['postgres', 'eventstoredb'] as const)
    ?? (eventStoreConnectionString ? 'eventstoredb' : 'postgres');
  if (eventStore === 'eventstoredb' && !eventStoreConnectionString) {
    throw new ConfigError('EVENT_STORE=eventstoredb needs EVENTSTORE_CONNECTION_STRING (e.g. esdb://localhost:2113?tls=false)');
  }
  // A secret is taken as it is: trimmed, it would not be the issuer's any more.
  const jwtSecret = nonEmpty(env.JWT_SECRET) === undefined ? undefined : env.JWT_SECRET;
  const jwtJwksUrl = nonEmpty(env.JWT_JWKS_URL);
  if (jwtSecret && jwtJwksUrl) throw new ConfigError('set JWT_SECRET or JWT_JWKS_URL, not both');
  if (jwtSecret && Buffer.byteLength(jwtSecret) < 32) throw new ConfigError('JWT_SECRET must be at least 32 bytes long');
  if (jwtJwksUrl && !(URL.canParse(jwtJwksUrl) && ['http:', 'https:'].includes(new URL(jwtJwksUrl).protocol))) {
    throw new ConfigError(`JWT_JWKS_URL must be an http or https URL, got "${jwtJwksUrl}"`);
  }
  const databaseUrl = postgresUrl(env, 'DATABASE_URL');
  const devTokens = flag(env, 'DEV_TOKENS') ?? (!databaseUrl && !jwtSecret && !jwtJwksUrl);
  if (devTokens && jwtJwksUrl) throw new ConfigError('DEV_TOKENS=1 needs a JWT_SECRET to sign with, not a JWT_JWKS_URL');
  return {
    port: portNumber(env, 'PORT', 3000),
    host: nonEmpty(env.HOST) ?? (devTokens ? '127.0.0.1' : undefined),
    databaseUrl,
    dataDir: nonEmpty(env.DATA_DIR) ?? '.data',
    // PostgreSQL takes no port 0 (any free one), which the HTTP server does.
    embeddedPostgresPort: portNumber(env, 'EMBEDDED_POSTGRES_PORT', 5488, 1),
    eventStore,
    eventStoreConnectionString,
    jwtSecret,
    jwtJwksUrl,
    jwtIssuer: nonEmpty(env.JWT_ISSUER),
    jwtAudience: nonEmpty(env.JWT_AUDIENCE),
    devTokens,
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS),
    stomp: {
      maxFrameBytes: integer(env, 'STOMP_MAX_FRAME_BYTES', 64 * 1024, { min: 1024, max: 16 * 1024 * 1024 }),
      heartbeatMs: integer(env, 'STOMP_HEARTBEAT_MS', 10_000, { min: 0, max: 3_600_000 }),
      maxBufferedBytes: integer(env, 'STOMP_MAX_BUFFERED_BYTES', 1024 * 1024, { min: 64 * 1024, max: 1024 * 1024 * 1024 }),
      sendLimit: {
        perSecond: integer(env, 'STOMP_SEND_RATE', 20, { min: 1, max: 100_000 }),
        burst: integer(env, 'STOMP_SEND_BURST', 40, { min: 1, max: 100_000 }),
      },
    },
    maxOpenSessionsPerCustomer: integer(env, 'MAX_OPEN_SESSIONS_PER_CUSTOMER', 3, { min: 1, max: 10_000 }),
    sessionCacheMessageIds: integer(env, 'SESSION_CACHE_MESSAGE_IDS', 500_000, { min: 1_000, max: 1_000_000_000 }),
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 5_000, { min: 0, max: 600_000 }),
    corsOrigins: origins(env, 'CORS_ORIGINS'),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function portNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const value = nonEmpty(env[name]);
  if (value === undefined) return fallback;
  // Digits only: Number() would also take "1e3" or "0x1f90" as ports.
  const port = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(port >= min && port <= 65535)) {
    throw new ConfigError(`${name} must be a port number (${min}-65535), got "${value}"`);
  }
  return port;
}

/** A PostgreSQL connection URL; the value is not repeated in the error: it may hold a password. */
function postgresUrl(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = nonEmpty(env[name]);
  if (value === undefined) return undefined;
  if (!URL.canParse(value)) throw new ConfigError(`${name} must be a postgres:// or postgresql:// URL, got one that does not parse`);
  const { protocol } = new URL(value);
  if (!['postgres:', 'postgresql:'].includes(protocol)) {
    throw new ConfigError(`${name} must be a postgres:// or postgresql:// URL, got a ${protocol} URL`);
  }
  return value;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, range: { min: number; max: number }): number {
  const value = nonEmpty(env[name]);
  if (value === undefined) return fallback;
  const number = /^\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
  if (!(number >= range.min && number <= range.max)) {
    throw new ConfigError(`${name} must be an integer from ${range.min} to ${range.max}, got "${value}"`);
  }
  return number;
}

/**
 * `*`, or a comma-separated list of web origins (scheme, host and port, nothing more). A browser
 * sends its page's origin, which is compared with each entry as it is: no entry is a pattern.
 */
function origins(env: NodeJS.ProcessEnv, name: string): '*' | string[] {
  const value = nonEmpty(env[name]);
  if (value === undefined || value === '*') return '*';
  return value.split(',').map((entry) => {
    const origin = entry.trim();
    // URL takes a * in a host name, where no page's origin has one.
    if (!URL.canParse(origin) || new URL(origin).origin !== origin || origin.includes('*')) {
      throw new ConfigError(`${name} must be * or a comma-separated list of each origin (scheme, host and port if any: no wildcard, `
        + `path or trailing slash), such as https://www.example.com,https://shop.example.com; got "${origin}"`);
    }
    return origin;
  });
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const value = oneOf(env, name, ['1', '0', 'true', 'false'] as const);
  return value === undefined ? undefined : value === '1' || value === 'true';
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[]): T | undefined {
  const value = nonEmpty(env[name]);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${value}"`);
  }
  return value as T;
}

/** The Nest injection token of the {@link Config}. */
export const CONFIG = Symbol('Config');
