/**
 * slonik logs through roarr, which adds an `error` listener to `process.stdout` when it is loaded
 * and keeps the way to remove it in its global state. Once per process, as the app runs it; but
 * jest loads it again in each test file (each has its modules and its globals of its own, one
 * `process.stdout` for all), and the 11th such file of a worker made Node warn of a possible
 * listener leak (MaxListenersExceededWarning … SyncWriteStream). Each file removes its own.
 */
afterAll(() => (globalThis as { ROARR?: { teardown?: () => void } }).ROARR?.teardown?.());
