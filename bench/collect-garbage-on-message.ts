/**
 * Preloaded (`--import`) into the server that `server-process.ts` starts, with `--expose-gc` and
 * an IPC channel: the message `collect-garbage` runs a full garbage collection and is answered
 * `collected` once it is done, so that a memory sample taken after the answer counts the objects
 * alive rather than whatever garbage the collector has not reached yet. The channel does not keep
 * the server running once it has stopped.
 */
process.on('message', (message) => {
  if (message !== 'collect-garbage') return;
  (globalThis as { gc?: () => void }).gc?.();
  process.send?.('collected');
});
process.channel?.unref();
