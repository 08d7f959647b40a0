import { TokenBucket } from './rate-limit.js';

describe('TokenBucket', () => {
  let now: number;
  const clock = { now: () => now };
  const takes = (bucket: TokenBucket, count: number) => Array.from({ length: count }, () => bucket.take());

  beforeEach(() => {
    now = 1_000;
  });

  it('starts full: a burst goes through at once, the next is refused', () => {
    const bucket = new TokenBucket({ perSecond: 2, burst: 3 }, clock);
    expect(takes(bucket, 4)).toEqual([true, true, true, false]);
  });

  it('refills at the sustained rate, fractions of a token adding up', () => {
    const bucket = new TokenBucket({ perSecond: 4, burst: 1 }, clock);
    expect(bucket.take()).toBe(true);
    now += 125; // half a token
    expect(bucket.take()).toBe(false);
    now += 125;
    expect(takes(bucket, 2)).toEqual([true, false]);
  });

  it('holds no more than the burst however long it was left alone', () => {
    const bucket = new TokenBucket({ perSecond: 10, burst: 2 }, clock);
    takes(bucket, 2);
    now += 3_600_000;
    expect(takes(bucket, 3)).toEqual([true, true, false]);
  });

  it('does not charge a refused take', () => {
    const bucket = new TokenBucket({ perSecond: 1, burst: 1 }, clock);
    bucket.take();
    expect(takes(bucket, 5)).toEqual([false, false, false, false, false]);
    now += 1_000;
    expect(bucket.take()).toBe(true);
  });
});
