/** Every setting of the app, read from the environment in one place (DESIGN.md, "Configuration"). */
export interface Config {
  readonly port: number;
  /** Unset: the embedded PostgreSQL under `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly embeddedPostgresPort: number;
  readonly eventStore: 'postgres' | 'eventstoredb';
  readonly eventStoreConnectionString: string | undefined;
  readonly logLevel: LogLevel;
}

export type LogLevel = 'error' | 'warn' | 'log' | 'debug' | 'verbose';

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
  return {
    port: portNumber(env, 'PORT', 3000),
    databaseUrl: nonEmpty(env.DATABASE_URL),
    dataDir: nonEmpty(env.DATA_DIR) ?? '.data',
    embeddedPostgresPort: portNumber(env, 'EMBEDDED_POSTGRES_PORT', 5488),
    eventStore,
    eventStoreConnectionString,
    logLevel: oneOf(env, 'LOG_LEVEL', ['error', 'warn', 'log', 'debug', 'verbose'] as const) ?? 'log',
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function portNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = nonEmpty(env[name]);
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`${name} must be a port number (0-65535), got "${value}"`);
  }
  return port;
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
