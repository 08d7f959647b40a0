import { Injectable } from '@nestjs/common';
import type { RateLimit } from '../config.js';

/**
 * Where the gateway's rate limits read the time: milliseconds on a monotonic clock, which a
 * change of the system time cannot turn back. One instance per app, so a test can stop time.
 */
@Injectable()
export class MonotonicClock {
  now(): number {
    return performance.now();
  }
}

/**
 * A token bucket: it holds at most `burst` tokens, is refilled continuously at `perSecond`, and
 * starts full, so that a client may do `burst` things at once and `perSecond` for ever after.
 */
export class TokenBucket {
  #tokens: number;
  #refilledAt: number;

  constructor(
    private readonly limit: RateLimit,
    private readonly clock: Pick<MonotonicClock, 'now'>,
  ) {
    this.#tokens = limit.burst;
    this.#refilledAt = clock.now();
  }

  /** Takes a token when there is one; `false` (nothing taken) when the limit is reached. */
  take(): boolean {
    const now = this.clock.now();
    const refill = ((now - this.#refilledAt) / 1000) * this.limit.perSecond;
    this.#tokens = Math.min(this.limit.burst, this.#tokens + refill);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
