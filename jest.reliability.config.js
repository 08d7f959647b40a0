import base from './jest.config.js';

/**
 * `npm run test:reliability`: the scenarios of issue 6 (the app killed under load, the database
 * lost, a node of two killed, hostile input at length). Slow and heavy, so kept out of `npm
 * test`; one file at a time, each printing what it did and counted.
 */
/** @type {import('jest').Config} */
export default {
  ...base,
  roots: ['<rootDir>/test/reliability'],
  testPathIgnorePatterns: ['/node_modules/'],
  maxWorkers: 1,
  testTimeout: 240_000,
};
