import { setFlagsFromString } from 'node:v8';

/**
 * Tunes V8's garbage collector for a server whose objects mostly live for one message, set when
 * the process starts (before any request), whoever starts it: `npm start`, the Dockerfile or the
 * benchmarks. Measured in `bench/NOTES.md` (2026-12-05, morning).
 *
 * - No allocation-site pretenuring. V8 decides once for each object literal of the code whether
 *   its objects are born in the old generation, from whether most of them survived a scavenge,
 *   and never revisits the decision. A burst (start-up, thousands of clients connecting) makes
 *   short-lived objects survive, and from then on they are born old: under load most frames
 *   were, read 10 ms after they were parsed. They then fill the old generation, and keep the
 *   young objects they point to alive until a full collection. Without it the old generation
 *   grows half as fast.
 * - The heap grows to four times what is live before the next full collection. V8 otherwise sizes
 *   that from how fast it collects against how fast the old generation fills, so that a slower
 *   filling buys smaller heaps rather than fewer collections. Each full collection holds up every
 *   chat for some 100 ms on a busy machine: this makes them a third as frequent at 1,000
 *   messages a second, for some 70 MiB more memory under load.
 */
export function tuneGarbageCollection(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
  setFlagsFromString('--heap-growing-percent=300');
}
