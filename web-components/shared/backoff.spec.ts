import { Backoff } from './backoff.js';

describe('reconnection back-off', () => {
  it('doubles from the initial delay up to the cap, and starts over after a reset', () => {
    const backoff = new Backoff({ initialMs: 500, maxMs: 4_000, random: () => 0.5 });
    expect([1, 2, 3, 4, 5].map(() => backoff.next())).toEqual([500, 1_000, 2_000, 4_000, 4_000]);
    backoff.reset();
    expect(backoff.next()).toBe(500);
  });

  it('spreads delays by the jitter so that clients cut off together do not return together', () => {
    const low = new Backoff({ initialMs: 1_000, jitter: 0.2, random: () => 0 }).next();
    const high = new Backoff({ initialMs: 1_000, jitter: 0.2, random: () => 1 }).next();
    expect([low, high]).toEqual([800, 1_200]);
  });
});
