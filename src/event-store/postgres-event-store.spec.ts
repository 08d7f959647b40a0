import { jest } from '@jest/globals';
import type { DatabasePool } from 'slonik';
import { AppendAnnouncer } from './postgres-event-store.js';

/** A pool whose announcements fail while `failing`, counting them. */
function announcementPool() {
  const pool = {
    failing: true,
    tries: 0,
    query: () => {
      pool.tries++;
      return pool.failing ? Promise.reject(new Error('Connection terminated unexpectedly')) : Promise.resolve({ rows: [{ notified: 1n }] });
    },
  };
  return pool;
}

const INTERVAL_MS = 25;
const GIVE_UP_MS = 1_000;

describe('AppendAnnouncer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  function announcer(pool: ReturnType<typeof announcementPool>) {
    return new AppendAnnouncer(pool as unknown as DatabasePool, 'store-id', INTERVAL_MS, GIVE_UP_MS);
  }

  it('makes a failed announcement again after the interval, then twice as long at each failure, until one goes out', async () => {
    const pool = announcementPool();
    const appends = announcer(pool);
    appends.announce();
    expect(pool.tries).toBe(1);
    for (const [wait, tries] of [[25, 2], [50, 3], [100, 4]] as const) {
      await jest.advanceTimersByTimeAsync(wait - 1);
      expect(pool.tries).toBe(tries - 1);
      if (tries === 4) pool.failing = false;
      await jest.advanceTimersByTimeAsync(1);
      expect(pool.tries).toBe(tries);
    }
    await jest.advanceTimersByTimeAsync(60_000);
    expect(pool.tries).toBe(4);
  });

  it('gives up once the wait would reach the poll interval, and starts over at the next append', async () => {
    const pool = announcementPool();
    const appends = announcer(pool);
    appends.announce();
    await jest.advanceTimersByTimeAsync(60_000);
    // At once, then after 25, 50, 100, 200, 400 and 800 ms; 1,600 is past the others' poll.
    expect(pool.tries).toBe(7);
    appends.announce();
    expect(pool.tries).toBe(8);
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(pool.tries).toBe(9);
    appends.stop();
  });

  it('tries nothing more once stopped', async () => {
    const pool = announcementPool();
    const appends = announcer(pool);
    appends.announce();
    appends.stop();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(pool.tries).toBe(1);
  });
});
