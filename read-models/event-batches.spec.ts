import type { RecordedEvent, Subscription } from '../src/event-store/event-store.js';
import { EventBatches } from './event-batches.js';

/** A live feed fed by the test: events pushed are ready at once; when there are none, it waits. */
class FakeSubscription implements Subscription {
  private readonly queue: RecordedEvent[] = [];
  private wake?: () => void;
  private closed = false;

  push(...events: RecordedEvent[]): void {
    this.queue.push(...events);
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RecordedEvent> {
    while (!this.closed) {
      const event = this.queue.shift();
      if (event) yield event;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
  }
}

const event = (n: number): RecordedEvent => ({
  streamName: 'chat_session-x', eventId: `event-${n}`, type: 'ChatMessageSent', revision: BigInt(n), position: BigInt(n),
  logPosition: { commit: BigInt(n), prepare: BigInt(n) }, data: {}, metadata: {}, createdAt: new Date(0),
});
const ids = (batch: RecordedEvent[] | undefined) => batch?.map((e) => e.eventId);

describe('reading a subscription in batches', () => {
  it('takes every event ready, up to the limit, and waits for one when none is', async () => {
    const subscription = new FakeSubscription();
    const batches = new EventBatches(subscription, 4);
    subscription.push(...[1, 2, 3, 4, 5, 6].map(event));

    expect(ids(await batches.next())).toEqual(['event-1', 'event-2', 'event-3', 'event-4']);
    expect(ids(await batches.next())).toEqual(['event-5', 'event-6']);

    const waiting = batches.next();
    subscription.push(event(7));
    expect(ids(await waiting)).toEqual(['event-7']);
    await batches.close();
  });

  it('ends when the subscription is closed, even while waiting for an event', async () => {
    const subscription = new FakeSubscription();
    const batches = new EventBatches(subscription, 4);
    subscription.push(event(1));
    expect(ids(await batches.next())).toEqual(['event-1']);

    const waiting = batches.next();
    await subscription.close();
    expect(await waiting).toBeUndefined();
    expect(await batches.next()).toBeUndefined();
    await batches.close();
  });
});
