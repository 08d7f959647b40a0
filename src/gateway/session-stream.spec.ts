import { waitFor } from '../../test/processes.js';
import type { SessionEvent, SessionReader } from './session-events.js';
import { SessionStream } from './session-stream.js';

const SESSION = '6f1f7a64-5ad6-4a39-9d1a-0d6f3c1f9b10';

function event(revision: number): SessionEvent {
  return { sessionId: SESSION, type: 'ChatMessageSent', revision: BigInt(revision), position: BigInt(100 + revision), occurredAt: '2026-11-24T09:00:00Z', data: { n: revision } };
}

/** An event store of one session whose reads a test can hold back or make fail. */
class FakeStore implements SessionReader {
  events: SessionEvent[] = [];
  reads: Array<{ from: bigint; max: number }> = [];
  failNext = 0;
  #held: Array<() => void> | undefined;

  append(...revisions: number[]): void {
    this.events.push(...revisions.map(event));
  }

  /** Reads wait until `release`. */
  hold(): void {
    this.#held = [];
  }

  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const resume of held) resume();
  }

  /** What the store holds when the read is issued (its snapshot), answered once released. */
  async read(_: string, from: bigint, max: number): Promise<SessionEvent[]> {
    this.reads.push({ from, max });
    const snapshot = this.events.filter((e) => e.revision >= from).slice(0, max);
    if (this.#held) await new Promise<void>((resolve) => this.#held!.push(resolve));
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('store unreachable');
    }
    return snapshot;
  }
}

describe('SessionStream', () => {
  let store: FakeStore;
  let delivered: number[];
  let readErrors: number;
  let missing: Array<[bigint, bigint]>;
  let stream: SessionStream | undefined;

  beforeEach(() => {
    store = new FakeStore();
    delivered = [];
    readErrors = 0;
    missing = [];
  });
  afterEach(() => stream?.close());

  function open(after: number): SessionStream {
    stream = new SessionStream({
      sessionId: SESSION,
      after: BigInt(after),
      reader: store,
      deliver: (e) => delivered.push(Number(e.revision)),
      hasRoom: () => true,
      drained: async () => {},
      onReadError: () => readErrors++,
      onMissing: (from, to) => missing.push([from, to]),
    });
    return stream;
  }

  /** Waits for `revisions` exactly: a revision delivered twice or out of order would show before the last. */
  const deliveredUpTo = async (revisions: number[]) => {
    await waitFor(`revision ${revisions.at(-1)}`, () => delivered.includes(revisions.at(-1)!), 5_000);
    expect(delivered).toEqual(revisions);
  };

  it('delivers what the store holds after the starting revision, then announced events, dropping repeats', async () => {
    store.append(0, 1, 2, 3, 4);
    const s = open(1);
    await deliveredUpTo([2, 3, 4]);
    s.offer(3n, event(3));
    s.offer(4n, event(4));
    store.append(5);
    s.offer(5n, event(5));
    await deliveredUpTo([2, 3, 4, 5]);
  });

  it('replays everything from -1', async () => {
    store.append(0, 1, 2);
    open(-1);
    await deliveredUpTo([0, 1, 2]);
  });

  it('holds notices that arrive during the catch-up read, and delivers each revision once, in order', async () => {
    store.append(0, 1, 2);
    store.hold();
    const s = open(0);
    store.append(3, 4); // committed after the read's snapshot: only their notices tell of them
    s.offer(4n, event(4));
    s.offer(2n, event(2));
    s.offer(3n, event(3));
    store.release();
    await deliveredUpTo([1, 2, 3, 4]);
  });

  it('fills a gap from the store before delivering what comes after it', async () => {
    store.append(0);
    const s = open(0);
    await waitFor('the first read', () => store.reads.length === 1);
    store.append(1, 2, 3);
    s.offer(3n, event(3));
    await deliveredUpTo([1, 2, 3]);
    expect(store.reads.at(-1)).toEqual({ from: 1n, max: 3 });
  });

  it('puts notices that arrive out of order back in order', async () => {
    store.append(0);
    const s = open(0);
    await waitFor('the first read', () => store.reads.length === 1);
    store.append(1, 2, 3);
    const reads = store.reads.length;
    store.hold();
    s.offer(3n, event(3)); // a gap: the store is read, slowly
    s.offer(1n, event(1));
    s.offer(2n, event(2));
    store.release();
    await deliveredUpTo([1, 2, 3]);
    expect(store.reads.length).toBe(reads + 1);
  });

  it('reads the event of a truncated notice from the store', async () => {
    store.append(0);
    const s = open(0);
    await waitFor('the first read', () => store.reads.length === 1);
    store.append(1);
    s.offer(1n);
    await deliveredUpTo([1]);
  });

  it('reads the store to its end on resync (notices were lost)', async () => {
    store.append(0);
    const s = open(0);
    await waitFor('the first read', () => store.reads.length === 1);
    store.append(1, 2, 3);
    s.resync();
    await deliveredUpTo([1, 2, 3]);
  });

  it('drops its buffer when too many notices wait, and reads the store instead: still each once, in order', async () => {
    store.hold();
    const s = open(-1);
    const revisions = Array.from({ length: 600 }, (_, i) => i);
    store.append(...revisions);
    for (const revision of revisions) s.offer(BigInt(revision), event(revision));
    store.release();
    await deliveredUpTo(revisions);
  });

  it('retries a failed read with back-off, and loses nothing', async () => {
    store.append(0, 1, 2);
    store.failNext = 2;
    open(-1);
    await deliveredUpTo([0, 1, 2]);
    expect(readErrors).toBe(2);
  });

  it('on resync (the LISTEN connection is back, so is the database), reads at once rather than waiting out a back-off', async () => {
    store.append(0);
    store.failNext = 4; // waits of 250, 500 and 1,000 ms, then 2,000 ms after the fourth failure
    const s = open(-1);
    await waitFor('the fourth failed read', () => readErrors === 4, 5_000);
    const resynced = Date.now();
    s.resync();
    await deliveredUpTo([0]);
    expect(Date.now() - resynced).toBeLessThan(1_000);
  });

  it('does not wait forever for revisions the store does not have: they are reported and skipped', async () => {
    store.append(0, 1);
    const s = open(0);
    await deliveredUpTo([1]);
    s.offer(3n, event(3)); // 2 was announced by nobody and is not stored
    await deliveredUpTo([1, 3]);
    expect(missing).toEqual([[2n, 2n]]);
  });

  it('delivers nothing once closed', async () => {
    store.hold();
    const s = open(-1);
    store.append(0, 1);
    s.close();
    s.offer(0n, event(0));
    store.release();
    await waitFor('the held read to be answered', () => store.reads.length === 1);
    await Promise.resolve();
    expect(delivered).toEqual([]);
  });
});
