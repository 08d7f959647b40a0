/**
 * Exponential back-off with jitter for reconnecting: 0.5 s, 1 s, 2 s, … up to `maxMs`, each
 * drawn within ±`jitter` of the nominal delay so that many clients cut off together do not
 * come back together.
 */
export class Backoff {
  #attempt = 0;

  constructor(
    private readonly options: { initialMs?: number; maxMs?: number; jitter?: number; random?: () => number } = {},
  ) {}

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt, in ms. */
  next(): number {
    const { initialMs = 500, maxMs = 10_000, jitter = 0.2, random = Math.random } = this.options;
    const nominal = Math.min(maxMs, initialMs * 2 ** this.#attempt);
    this.#attempt += 1;
    return Math.round(nominal * (1 - jitter + 2 * jitter * random()));
  }

  /** After a success: the next failure waits the initial delay again. */
  reset(): void {
    this.#attempt = 0;
  }
}
