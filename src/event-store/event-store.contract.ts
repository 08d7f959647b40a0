import { randomBytes, randomUUID } from 'node:crypto';
import {
  type EventStore,
  type EventToAppend,
  type RecordedEvent,
  DuplicateEventId,
  WrongExpectedVersion,
  compareLogPositions,
} from './event-store.js';

/** An append held inside a transaction that has not committed yet. */
export interface HeldAppend {
  commit(): Promise<void>;
}

export interface ContractSetup {
  readonly store: EventStore;
  readonly cleanup: () => Promise<void>;
  /**
   * Starts an append and leaves its transaction open until `commit()`: how the contract forces
   * events to commit out of order. Stores that serialise their log (EventStoreDB) have no such
   * state and leave it out.
   */
  readonly holdAppend?: (streamName: string, events: EventToAppend[]) => Promise<HeldAppend>;
}

/**
 * The behaviour every {@link EventStore} adapter must have. Each test works in a category of its
 * own, so the contract also runs against a shared, long-lived server.
 */
export function describeEventStoreContract(name: string, setup: () => Promise<ContractSetup>): void {
  describe(`event store contract: ${name}`, () => {
    let context: ContractSetup;
    let store: EventStore;
    let category: string;
    const stream = (id: string | number) => `${category}-${id}`;

    beforeAll(async () => {
      context = await setup();
      store = context.store;
    });
    afterAll(() => context.cleanup());
    beforeEach(() => {
      category = `contract${randomBytes(5).toString('hex')}`;
    });

    describe('appending and reading a stream', () => {
      it('numbers a new stream from revision 0 and reads back data and metadata', async () => {
        const result = await store.appendToStream(stream('a'), [event('One', { n: 1 }), event('Two', { n: 2 })], { expectedRevision: 'no_stream' });
        expect(result.nextExpectedRevision).toBe(1n);
        const read = await store.readStream(stream('a'));
        expect(read.map((e) => [e.revision, e.type, e.data])).toEqual([[0n, 'One', { n: 1 }], [1n, 'Two', { n: 2 }]]);
        expect(read[0]?.metadata).toEqual({ actor: 'contract' });
        expect(read[0]?.streamName).toBe(stream('a'));
        expect(read[0]?.createdAt).toBeInstanceOf(Date);
      });

      it('stores data and metadata as given, quotes, backslashes and all, whatever appends go together', async () => {
        const tricky = (i: number) => ({
          text: `"quoted" \\ back\\slash \\" both, {braces}, [brackets], 'single' ${i}`,
          unicode: `été, 日本語, emoji 🚗, tab\tnewline\n ${i}`,
          nested: { list: [1, 'two', { three: null }], empty: {}, flag: i % 2 === 0 },
        });
        const appends = [0, 1, 2, 3, 4].map((i) => ({
          streamName: stream(`t${i}`),
          events: [0, 1].map((j) => ({ ...event('Tricky', tricky(10 * i + j)), metadata: { actor: `a"${i}\\${j}`, note: tricky(j) } })),
        }));
        await Promise.all(appends.map(({ streamName, events }) => store.appendToStream(streamName, events, { expectedRevision: 'no_stream' })));
        for (const { streamName, events } of appends) {
          const read = await store.readStream(streamName);
          expect(read.map(({ eventId, data, metadata }) => ({ eventId, data, metadata }))).toEqual(events.map(({ eventId, data, metadata }) => ({ eventId, data, metadata })));
        }
      });

      it('reads nothing from a stream that does not exist', async () => {
        expect(await store.readStream(stream('missing'))).toEqual([]);
      });

      it('reads forwards from a revision, backwards from a revision, and at most maxCount', async () => {
        await store.appendToStream(stream('r'), [0, 1, 2, 3, 4].map((n) => event('N', { n })), { expectedRevision: 'any' });
        const revisions = (events: RecordedEvent[]) => events.map((e) => e.revision);
        expect(revisions(await store.readStream(stream('r'), { fromRevision: 2n }))).toEqual([2n, 3n, 4n]);
        expect(revisions(await store.readStream(stream('r'), { direction: 'backwards', fromRevision: 3n, maxCount: 2 }))).toEqual([3n, 2n]);
        expect(revisions(await store.readStream(stream('r'), { direction: 'backwards', maxCount: 1 }))).toEqual([4n]);
      });
    });

    describe('optimistic concurrency', () => {
      it('refuses no_stream when the stream exists, with its actual revision', async () => {
        await store.appendToStream(stream('c'), [event('A')], { expectedRevision: 'no_stream' });
        const error = await store.appendToStream(stream('c'), [event('B')], { expectedRevision: 'no_stream' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedVersion);
        expect((error as WrongExpectedVersion).actual).toBe(0n);
      });

      it('refuses stream_exists when the stream does not exist', async () => {
        const error = await store.appendToStream(stream('c'), [event('A')], { expectedRevision: 'stream_exists' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedVersion);
        expect((error as WrongExpectedVersion).actual).toBe('no_stream');
      });

      it('accepts the exact revision and refuses any other', async () => {
        await store.appendToStream(stream('c'), [event('A'), event('B')], { expectedRevision: 'no_stream' });
        await expect(store.appendToStream(stream('c'), [event('C')], { expectedRevision: 0n })).rejects.toBeInstanceOf(WrongExpectedVersion);
        await expect(store.appendToStream(stream('c'), [event('C')], { expectedRevision: 1n })).resolves.toEqual({ nextExpectedRevision: 2n });
        await expect(store.appendToStream(stream('c'), [event('D')], { expectedRevision: 'stream_exists' })).resolves.toEqual({ nextExpectedRevision: 3n });
        await expect(store.appendToStream(stream('c'), [event('E')], { expectedRevision: 'any' })).resolves.toEqual({ nextExpectedRevision: 4n });
        expect((await store.readStream(stream('c'))).map((e) => e.type)).toEqual(['A', 'B', 'C', 'D', 'E']);
      });

      it('lets exactly one of concurrent appenders win each revision', async () => {
        await store.appendToStream(stream('race'), [event('Start')], { expectedRevision: 'no_stream' });
        for (const expected of [0n, 1n, 2n]) {
          const attempts = await Promise.allSettled(
            Array.from({ length: 8 }, () => store.appendToStream(stream('race'), [event('Try')], { expectedRevision: expected })),
          );
          expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
          for (const failed of attempts.filter((a) => a.status === 'rejected')) {
            expect(failed.reason).toBeInstanceOf(WrongExpectedVersion);
          }
        }
        expect((await store.readStream(stream('race'))).map((e) => e.revision)).toEqual([0n, 1n, 2n, 3n]);
      });
    });

    describe('event ids', () => {
      it('does not store an append twice when it is retried with the same event ids', async () => {
        const events = [event('A'), event('B')];
        await store.appendToStream(stream('i'), events, { expectedRevision: 'no_stream' });
        await expect(store.appendToStream(stream('i'), events, { expectedRevision: 'no_stream' })).resolves.toEqual({ nextExpectedRevision: 1n });
        await store.appendToStream(stream('i'), events, { expectedRevision: 'any' });
        expect(await store.readStream(stream('i'))).toHaveLength(2);
      });

      it('refuses an append that repeats only some stored event ids', async () => {
        const first = event('A');
        await store.appendToStream(stream('i'), [first], { expectedRevision: 'no_stream' });
        const error = await store.appendToStream(stream('i'), [first, event('B')], { expectedRevision: 'any' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(DuplicateEventId);
        expect(await store.readStream(stream('i'))).toHaveLength(1);
      });
    });

    describe('reading the whole log', () => {
      it('reads a category in append order, after a position, a page at a time', async () => {
        for (const n of [1, 2, 3]) await store.appendToStream(stream(n), [event('E', { n })], { expectedRevision: 'no_stream' });
        await store.appendToStream(`other${category}-1`, [event('Elsewhere')], { expectedRevision: 'no_stream' });
        const all = await store.readAll({ category });
        expect(all.map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
        const rest = await store.readAll({ category, after: all[0]!.logPosition, maxCount: 1 });
        expect(rest.map((e) => e.data)).toEqual([{ n: 2 }]);
      });

      it('delivers to a subscriber every event of 8 concurrent writers exactly once, in log order', async () => {
        const writers = 8;
        const perWriter = 400;
        const subscription = store.subscribeToAll({ category });
        // Awaited together: a failing writer must not leave the collector's rejection unhandled.
        const [events] = await Promise.all([
          collect(subscription, writers * perWriter),
          ...Array.from({ length: writers }, async (_, writer) => {
            for (let n = 0; n < perWriter; n++) {
              await store.appendToStream(stream(`${writer}_${n % 50}`), [event('W', { writer, n })], { expectedRevision: 'any' });
            }
          }),
        ]);
        await subscription.close();
        expectExactlyOnceInOrder(events, writers * perWriter);
        for (let writer = 0; writer < writers; writer++) {
          const mine = events.filter((e) => (e.data as { writer: number }).writer === writer).map((e) => (e.data as { n: number }).n);
          expect(mine).toEqual(Array.from({ length: perWriter }, (_, n) => n));
        }
      });

      it('does not skip an event whose transaction commits after later ones', async () => {
        if (!context.holdAppend) {
          console.log(`${name}: the log is written serially, so no transaction can commit out of order`);
          return;
        }
        const subscription = store.subscribeToAll({ category });
        const seen = collect(subscription, 3);
        const late = await context.holdAppend(stream('late'), [event('Late')]);
        await store.appendToStream(stream('early'), [event('Early')], { expectedRevision: 'no_stream' });
        await store.appendToStream(stream('early'), [event('Early')], { expectedRevision: 0n });
        expect(await store.readAll({ category })).toEqual([]); // held back behind the open transaction
        await late.commit();
        const events = await seen;
        await subscription.close();
        expect(events.map((e) => e.type).sort()).toEqual(['Early', 'Early', 'Late']);
        expectExactlyOnceInOrder(events, 3);
      });
    });
  });
}

function event(type: string, data: Record<string, unknown> = {}): EventToAppend {
  return { eventId: randomUUID(), type, data, metadata: { actor: 'contract' } };
}

/** The first `count` events of a subscription. */
async function collect(subscription: AsyncIterable<RecordedEvent>, count: number): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const e of subscription) {
    events.push(e);
    if (events.length === count) break;
  }
  return events;
}

function expectExactlyOnceInOrder(events: RecordedEvent[], count: number): void {
  expect(events).toHaveLength(count);
  expect(new Set(events.map((e) => e.eventId)).size).toBe(count);
  for (let i = 1; i < events.length; i++) {
    expect(compareLogPositions(events[i - 1]!.logPosition, events[i]!.logPosition)).toBe(-1);
  }
}
