import { ConfigError, loadConfig } from './config.js';

/** The error `loadConfig(env)` throws, or a failure naming the config it returned instead. */
function errorOf(env: NodeJS.ProcessEnv): unknown {
  try {
    return { returned: loadConfig(env) };
  } catch (error) {
    return error;
  }
}

describe('loadConfig', () => {
  it('runs on port 3000 with the embedded database under .data and the PostgreSQL event store by default', () => {
    expect(loadConfig({})).toEqual(expect.objectContaining({
      port: 3000,
      databaseUrl: undefined,
      dataDir: '.data',
      embeddedPostgresPort: 5488,
      eventStore: 'postgres',
      eventStoreConnectionString: undefined,
      logLevel: undefined,
    }));
  });

  it('treats blank variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '  ', DATA_DIR: '', EVENTSTORE_CONNECTION_STRING: ' ', EVENT_STORE: '' }))
      .toEqual(loadConfig({}));
  });

  it('reads every setting from the environment', () => {
    expect(loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://parley:secret@db:5432/parley',
      DATA_DIR: '/var/lib/parley',
      EMBEDDED_POSTGRES_PORT: '6543',
      LOG_LEVEL: 'debug',
    })).toEqual(expect.objectContaining({
      port: 8080,
      databaseUrl: 'postgres://parley:secret@db:5432/parley',
      dataDir: '/var/lib/parley',
      embeddedPostgresPort: 6543,
      logLevel: 'debug',
    }));
  });

  it('gives the STOMP gateway 64 KiB frames, 10 s heart-beats, a 1 MiB slow-consumer bound and 20 SENDs a second (bursts of 40) by default', () => {
    expect(loadConfig({}).stomp).toEqual({
      maxFrameBytes: 65_536, heartbeatMs: 10_000, maxBufferedBytes: 1_048_576, sendLimit: { perSecond: 20, burst: 40 },
    });
  });

  it('reads the STOMP settings from the environment', () => {
    expect(loadConfig({
      STOMP_MAX_FRAME_BYTES: '131072', STOMP_HEARTBEAT_MS: '0', STOMP_MAX_BUFFERED_BYTES: '4194304', STOMP_SEND_RATE: '5', STOMP_SEND_BURST: '1',
    }).stomp).toEqual({ maxFrameBytes: 131_072, heartbeatMs: 0, maxBufferedBytes: 4_194_304, sendLimit: { perSecond: 5, burst: 1 } });
  });

  it('lets a customer have 3 sessions open, and waits 5 s for the commands under way at shutdown, by default', () => {
    expect(loadConfig({})).toEqual(expect.objectContaining({ maxOpenSessionsPerCustomer: 3, shutdownGraceMs: 5_000 }));
    expect(loadConfig({ MAX_OPEN_SESSIONS_PER_CUSTOMER: '10', SHUTDOWN_GRACE_MS: '0' }))
      .toEqual(expect.objectContaining({ maxOpenSessionsPerCustomer: 10, shutdownGraceMs: 0 }));
  });

  it('caches open sessions up to 500,000 message ids by default, or SESSION_CACHE_MESSAGE_IDS', () => {
    expect(loadConfig({}).sessionCacheMessageIds).toBe(500_000);
    expect(loadConfig({ SESSION_CACHE_MESSAGE_IDS: '2000000' }).sessionCacheMessageIds).toBe(2_000_000);
  });

  it('lets pages of any origin call the HTTP API by default, or those of CORS_ORIGINS', () => {
    expect(loadConfig({}).corsOrigins).toBe('*');
    expect(loadConfig({ CORS_ORIGINS: 'https://www.example.com, http://localhost:8080' }).corsOrigins)
      .toEqual(['https://www.example.com', 'http://localhost:8080']);
  });

  it('refuses a CORS_ORIGINS entry that is not an origin, saying to list each origin, as no entry is read as a pattern', () => {
    expect((errorOf({ CORS_ORIGINS: 'https://www.example.com, https://*.example.com' }) as Error).message).toBe(
      'CORS_ORIGINS must be * or a comma-separated list of each origin (scheme, host and port if any: no wildcard, path or '
        + 'trailing slash), such as https://www.example.com,https://shop.example.com; got "https://*.example.com"',
    );
  });

  it('uses EventStoreDB when EVENTSTORE_CONNECTION_STRING is set', () => {
    expect(loadConfig({ EVENTSTORE_CONNECTION_STRING: 'esdb://localhost:2113?tls=false' })).toEqual(expect.objectContaining({
      eventStore: 'eventstoredb',
      eventStoreConnectionString: 'esdb://localhost:2113?tls=false',
    }));
  });

  it('lets EVENT_STORE force either event store', () => {
    const esdb = 'esdb://localhost:2113?tls=false';
    expect(loadConfig({ EVENT_STORE: 'postgres', EVENTSTORE_CONNECTION_STRING: esdb }).eventStore).toBe('postgres');
    expect(loadConfig({ EVENT_STORE: 'eventstoredb', EVENTSTORE_CONNECTION_STRING: esdb }).eventStore).toBe('eventstoredb');
  });

  it.each([
    [{}, true],
    [{ DATABASE_URL: 'postgres://db/parley' }, false],
    [{ JWT_SECRET: 'a-secret-of-thirty-two-bytes-or-more' }, false],
    [{ JWT_JWKS_URL: 'https://id.example.com/jwks.json' }, false],
    [{ DATABASE_URL: 'postgres://db/parley', DEV_TOKENS: '1' }, true],
    [{ DEV_TOKENS: '0' }, false],
  ])('issues dev tokens by default only in the embedded mode with no JWT keys: %j → %s', (env, devTokens) => {
    expect(loadConfig(env).devTokens).toBe(devTokens);
  });

  it.each([
    [{}, '127.0.0.1'],
    [{ DATABASE_URL: 'postgres://db/parley', DEV_TOKENS: '1' }, '127.0.0.1'],
    [{ DATABASE_URL: 'postgres://db/parley' }, undefined],
    [{ HOST: '0.0.0.0' }, '0.0.0.0'],
    [{ DATABASE_URL: 'postgres://db/parley', HOST: '10.0.0.7' }, '10.0.0.7'],
  ])('listens on this machine only while it issues dev tokens, on every interface otherwise, or on HOST: %j → %s', (env, host) => {
    expect(loadConfig(env).host).toBe(host);
  });

  it('takes JWT_SECRET as it is, spaces included, and reads the issuer and audience tokens must have', () => {
    expect(loadConfig({ JWT_SECRET: ' a-secret-of-thirty-two-bytes-or-more ', JWT_ISSUER: 'https://id.example.com', JWT_AUDIENCE: 'parley' }))
      .toMatchObject({ jwtSecret: ' a-secret-of-thirty-two-bytes-or-more ', jwtIssuer: 'https://id.example.com', jwtAudience: 'parley' });
    expect(loadConfig({})).toMatchObject({ jwtSecret: undefined, jwtIssuer: undefined, jwtAudience: undefined });
  });

  it('takes a DATABASE_URL of either PostgreSQL scheme, and a PORT of 0 (any free port)', () => {
    expect(loadConfig({ DATABASE_URL: 'postgresql://parley@db/parley' }).databaseUrl).toBe('postgresql://parley@db/parley');
    expect(loadConfig({ PORT: '0' }).port).toBe(0);
  });

  it.each([
    ['not a url', 'got one that does not parse'],
    ['mysql://parley:secret@db/parley', 'got a mysql: URL'],
    ['db:5432/parley', 'got a db: URL'],
  ])('refuses DATABASE_URL=%s, naming the variable but not the value, which may hold a password', (value, said) => {
    const error = errorOf({ DATABASE_URL: value });
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(`DATABASE_URL must be a postgres:// or postgresql:// URL, ${said}`);
  });

  it('refuses EVENT_STORE=eventstoredb without a connection string, naming the missing variable', () => {
    const error = errorOf({ EVENT_STORE: 'eventstoredb' });
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('EVENTSTORE_CONNECTION_STRING');
  });

  it.each([
    ['EVENT_STORE', 'mysql'],
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['PORT', '1e3'],
    ['PORT', '0x1f90'],
    ['EMBEDDED_POSTGRES_PORT', 'five'],
    ['EMBEDDED_POSTGRES_PORT', '0'],
    ['LOG_LEVEL', 'info'],
    ['LOG_LEVEL', 'LOG'],
    ['STOMP_MAX_FRAME_BYTES', '64k'],
    ['STOMP_MAX_FRAME_BYTES', '100'],
    ['STOMP_HEARTBEAT_MS', '-1'],
    ['STOMP_HEARTBEAT_MS', '1.5'],
    ['STOMP_MAX_BUFFERED_BYTES', '99999999999'],
    ['STOMP_SEND_RATE', '0'],
    ['STOMP_SEND_RATE', '2.5'],
    ['STOMP_SEND_BURST', '0'],
    ['STOMP_SEND_BURST', 'many'],
    ['MAX_OPEN_SESSIONS_PER_CUSTOMER', '0'],
    ['MAX_OPEN_SESSIONS_PER_CUSTOMER', 'unlimited'],
    ['SESSION_CACHE_MESSAGE_IDS', '0'],
    ['SESSION_CACHE_MESSAGE_IDS', '500k'],
    ['SHUTDOWN_GRACE_MS', '-1'],
    ['SHUTDOWN_GRACE_MS', '5s'],
    ['CORS_ORIGINS', 'www.example.com'],
    ['CORS_ORIGINS', 'https://www.example.com/'],
    // No page has this origin: a wildcard of other tools, which would let none of its sites in.
    ['CORS_ORIGINS', 'https://*.example.com'],
    ['JWT_JWKS_URL', 'file:///etc/jwks.json'],
    ['JWT_JWKS_URL', 'id.example.com/jwks.json'],
  ])('refuses %s=%s with a ConfigError that names the variable and the value', (name, value) => {
    const error = errorOf({ [name]: value });
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(name);
    expect((error as Error).message).toContain(`"${value}"`);
  });
});
