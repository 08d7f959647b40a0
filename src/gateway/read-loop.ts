/**
 * How a subscription's stream works through what it has to do, reading the event store or the
 * log as it goes: one step at a time while there is work, and after a step that failed a pause,
 * doubled at each failure up to the maximum, before the next.
 */

/** The first pause after a failed step, doubled at each failure up to the maximum. */
const INITIAL_RETRY_MS = 250;
const MAX_RETRY_MS = 10_000;

export interface ReadLoopSteps {
  /** Whether there is something to do. */
  readonly hasWork: () => boolean;
  /** Does some of it. */
  readonly step: () => Promise<void>;
  /** A step threw: the stream is told, and the loop goes on after a pause. */
  readonly failed: (error: unknown) => void;
}

/** See the file's comment. */
export class ReadLoop {
  readonly #steps: ReadLoopSteps;
  #running = false;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryMs = INITIAL_RETRY_MS;

  constructor(steps: ReadLoopSteps) {
    this.#steps = steps;
  }

  /** Whether the loop is under way or waits out a pause: whatever comes meanwhile waits for it. */
  get busy(): boolean {
    return this.#running || this.#retryTimer !== undefined;
  }

  /** There may be work: the loop starts, unless it is under way (it looks again before it ends). */
  kick(): void {
    if (this.busy || this.#closed) return;
    void this.#run();
  }

  /**
   * Goes on at once: the database answers again, and a step that failed while it was away need
   * not wait out its pause (up to {@link MAX_RETRY_MS}).
   */
  now(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.kick();
  }

  /** Takes no more steps. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      // Whether there is work is asked last in the same turn as `#running` is cleared: work that
      // comes after it finds the loop stopped, and starts it.
      while (!this.#closed && this.#steps.hasWork()) await this.#steps.step();
      this.#retryMs = INITIAL_RETRY_MS;
    } catch (error) {
      this.#retryLater(error);
    } finally {
      this.#running = false;
    }
  }

  #retryLater(error: unknown): void {
    if (this.#closed) return;
    this.#steps.failed(error);
    const wait = this.#retryMs;
    this.#retryMs = Math.min(wait * 2, MAX_RETRY_MS);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.kick();
    }, wait);
    this.#retryTimer.unref();
  }
}
