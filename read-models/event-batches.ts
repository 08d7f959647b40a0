import type { RecordedEvent, Subscription } from '../src/event-store/event-store.js';

const NOT_READY = Symbol('not ready');

/** Resolves after the I/O callbacks due now: a read that is not settled by then is not ready. */
function afterPendingIo(): Promise<typeof NOT_READY> {
  return new Promise((resolve) => setImmediate(() => resolve(NOT_READY)));
}

/**
 * A subscription read in batches: wait for one event, then take every event the subscription
 * has ready (read already, delivered without waiting on I/O), up to `maxSize`. A busy log fills
 * batches; a quiet one is projected event by event, without delay.
 */
export class EventBatches {
  private readonly iterator: AsyncIterator<RecordedEvent>;
  /** A read started for a batch and not settled in time: the next batch starts with it. */
  private pending?: Promise<IteratorResult<RecordedEvent>>;
  private ended = false;

  constructor(private readonly subscription: Subscription, private readonly maxSize: number) {
    this.iterator = subscription[Symbol.asyncIterator]();
  }

  /** The next batch, never empty; `undefined` once the subscription has ended (or was closed). */
  async next(): Promise<RecordedEvent[] | undefined> {
    if (this.ended) return undefined;
    const first = await this.read();
    if (first.done) return this.end();
    const batch = [first.value];
    while (batch.length < this.maxSize) {
      const next = await Promise.race([this.pending ??= this.iterator.next(), afterPendingIo()]);
      if (next === NOT_READY) break;
      this.pending = undefined;
      if (next.done) {
        this.ended = true;
        break;
      }
      batch.push(next.value);
    }
    return batch;
  }

  /**
   * Closes the subscription and waits for a read in flight to settle: its outcome, an event
   * nobody will project or the error of a source being closed, is of no use any more.
   */
  async close(): Promise<void> {
    await this.subscription.close();
    const abandoned = this.pending;
    this.pending = undefined;
    await abandoned?.then(() => undefined, () => undefined);
    await this.iterator.return?.();
  }

  private async read(): Promise<IteratorResult<RecordedEvent>> {
    const result = await (this.pending ?? this.iterator.next());
    this.pending = undefined;
    return result;
  }

  private end(): undefined {
    this.ended = true;
    return undefined;
  }
}
