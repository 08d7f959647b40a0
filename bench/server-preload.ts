/**
 * Preloaded (`--import`) into the server that `server-process.ts` starts, with `--expose-gc` and
 * an IPC channel to the benchmark:
 *
 * - The message `collect-garbage` runs a full garbage collection and is answered `collected`
 *   once it is done, so that a memory sample taken after the answer counts the objects alive
 *   rather than whatever garbage the collector has not reached yet.
 * - When the channel closes (the benchmark is gone, however it ended), the server is sent SIGINT
 *   and stops as it always does. It runs in a session of its own, which a Ctrl-C in the terminal
 *   does not reach, so without this a benchmark killed outright would leave it running.
 *
 * The channel does not keep the server running once it has stopped. Nothing else changes.
 */
process.on('message', (message) => {
  if (message !== 'collect-garbage') return;
  (globalThis as { gc?: () => void }).gc?.();
  process.send?.('collected');
});
process.once('disconnect', () => process.kill(process.pid, 'SIGINT'));
process.channel?.unref();
