import { randomInt } from 'node:crypto';

/** A seeded source of randomness: the same seed replays the same choices. */
export interface SeededRandom {
  readonly seed: number;
  /** [0, 1) */
  next(): number;
  /** An integer in [0, n). */
  below(n: number): number;
  /** An integer in [min, max]. */
  between(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

/** mulberry32: a tiny seeded PRNG, so that a failure replays exactly. */
export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const below = (n: number) => Math.floor(next() * n);
  return {
    seed: seed >>> 0,
    next,
    below,
    between: (min, max) => min + below(max - min + 1),
    pick: (items) => items[below(items.length)]!,
  };
}

/**
 * The seed of a reliability run: `RELIABILITY_SEED` when set (to replay a run), a fresh one
 * otherwise. Each scenario prints it.
 */
export function runSeed(): number {
  const given = process.env.RELIABILITY_SEED;
  if (given === undefined || given === '') return randomInt(2 ** 31);
  const seed = Number(given);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`RELIABILITY_SEED must be a non-negative integer, got ${given}`);
  return seed;
}
