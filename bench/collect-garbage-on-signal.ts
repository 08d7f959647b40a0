/**
 * Preloaded (`--import`) into the server that `server-process.ts` starts, with `--expose-gc`:
 * SIGUSR2 runs a full garbage collection, so that a memory sample taken just after counts the
 * objects alive rather than whatever garbage the collector has not reached yet.
 */
process.on('SIGUSR2', () => (globalThis as { gc?: () => void }).gc?.());
