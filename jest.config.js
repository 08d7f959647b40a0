/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/read-models', '<rootDir>/web-components', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  // `npm run test:reliability` runs those (jest.reliability.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/reliability/'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.(t|j)s$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'es6' },
      },
    ],
  },
  // slonik is CommonJS but loads the ESM-only p-limit, which jest must therefore transform.
  transformIgnorePatterns: ['/node_modules/(?!(p-limit|yocto-queue)/)'],
  // Jest loads these two as CommonJS, outside its ESM support: they run compiled, from dist/
  // (`npm test` compiles first).
  globalSetup: '<rootDir>/dist/test/global-setup.js',
  globalTeardown: '<rootDir>/dist/test/global-teardown.js',
  setupFilesAfterEnv: ['<rootDir>/test/roarr-teardown.ts'],
  testTimeout: 60_000,
  // How long jest waits for its process to exit before it warns of handles left open (1 s by
  // default). When a connection dies during a query, slonik 47 races that query against a 5-s
  // timer and leaves the timer running when the query fails first, so each spec that cuts a
  // database connection away leaves one behind for up to 5 s (bench/NOTES.md, 2026-12-07, 15:56).
  // Past that, the warning stands, and the global teardown names what still holds the process.
  openHandlesTimeout: 6_000,
};
