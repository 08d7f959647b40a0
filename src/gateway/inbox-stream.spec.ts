import { randomUUID } from 'node:crypto';
import { waitFor } from '../../test/processes.js';
import { CHAT_SESSION_CATEGORY } from '../chat-session/chat-session.events.js';
import { compareLogPositions, type LogPosition, type ReadAllOptions, type RecordedEvent, START } from '../event-store/event-store.js';
import { InboxStream } from './inbox-stream.js';
import { sessionEventOf } from './session-events.js';

const SESSION = '0d7c1f5e-3b7a-4f0e-9a51-6c2f4a9e8b21';

/** The event at `position` in the log: revision `position` of one session. */
function recorded(position: number, type = 'ChatMessageSent'): RecordedEvent {
  return {
    streamName: `${CHAT_SESSION_CATEGORY}-${SESSION}`,
    eventId: randomUUID(),
    type,
    revision: BigInt(position),
    position: BigInt(position),
    logPosition: at(position),
    data: { n: position },
    metadata: { occurredAt: '2026-12-08T01:00:00.000Z' },
    createdAt: new Date(),
  };
}

const at = (position: number): LogPosition => ({ commit: BigInt(position), prepare: BigInt(position) });

/** A log and the projector's checkpoint in it; its reads are counted. */
class FakeLog {
  events: RecordedEvent[] = [];
  checkpoint = START;
  reads = 0;

  append(...events: RecordedEvent[]): void {
    this.events.push(...events);
  }

  async readAll({ after = START, maxCount = Number.MAX_SAFE_INTEGER }: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    this.reads++;
    return this.events.filter((event) => compareLogPositions(event.logPosition, after) > 0).slice(0, maxCount);
  }
}

/** A socket with room for `room` more events, then none until the test lets the client read. */
class FakeSocket {
  room = Number.POSITIVE_INFINITY;
  #waiting: Array<() => void> = [];

  hasRoom(): boolean {
    return this.room > 0;
  }

  drained(): Promise<void> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** The client read everything: room for `room` more. */
  read(room: number): void {
    this.room = room;
    for (const resolve of this.#waiting.splice(0)) resolve();
  }
}

describe('InboxStream', () => {
  let log: FakeLog;
  let socket: FakeSocket;
  let delivered: number[];
  let readErrors: unknown[];
  let stream: InboxStream | undefined;

  beforeEach(() => {
    log = new FakeLog();
    socket = new FakeSocket();
    delivered = [];
    readErrors = [];
  });
  afterEach(() => {
    stream?.close();
    expect(readErrors).toEqual([]);
  });

  function open(after: number): InboxStream {
    stream = new InboxStream({
      after: at(after),
      log,
      announcedUpTo: async () => log.checkpoint,
      deliver: (event) => {
        socket.room--;
        delivered.push(Number(event.revision));
      },
      hasRoom: () => socket.hasRoom(),
      drained: () => socket.drained(),
      onReadError: (error) => readErrors.push(error),
    });
    return stream;
  }

  /** Announces the events at `positions` (appended to the log and projected) to the stream. */
  function announce(...positions: number[]): void {
    for (const position of positions) {
      const event = recorded(position);
      log.append(event);
      log.checkpoint = event.logPosition;
      stream!.offer(sessionEventOf(event), event.logPosition);
    }
  }

  /** Waits for `revisions` exactly: one delivered twice or out of order would show before the last. */
  const deliveredUpTo = async (revisions: number[]) => {
    await waitFor(`revision ${revisions.at(-1)}`, () => delivered.includes(revisions.at(-1)!), 5_000);
    expect(delivered).toEqual(revisions);
  };

  it('delivers live events at once, without reading the log, and an event announced again once', () => {
    open(0);
    announce(1, 2);
    stream!.offer(sessionEventOf(log.events[0]!), at(1));
    expect(delivered).toEqual([1, 2]);
    expect(log.reads).toBe(0);
  });

  it('after an outage, reads the log from its place up to the checkpoint, the inbox\'s types only; live events come after, each once', async () => {
    open(2);
    log.append(recorded(1), recorded(2), recorded(3), recorded(4, 'MessagesRead'), recorded(5), recorded(6));
    log.checkpoint = at(5); // 6 is not projected yet: the read model would not show it
    stream!.resync();
    announce(6, 7); // their notices, while the stream reads: 6 is in the log too
    await deliveredUpTo([3, 5, 6, 7]);
  });

  it('sends what it reads only while the socket has room, and the rest once it has', async () => {
    open(0);
    log.append(...[1, 2, 3, 4, 5].map((position) => recorded(position)));
    log.checkpoint = at(5);
    socket.room = 2;
    stream!.resync();
    await waitFor('two events', () => delivered.length === 2, 5_000);
    announce(6); // waits behind the read
    expect(delivered).toEqual([1, 2]);
    socket.read(Number.POSITIVE_INFINITY);
    await deliveredUpTo([1, 2, 3, 4, 5, 6]);
  });

  it('sends a subscriber that lets live events pile up behind its catch-up the rest without waiting for room: every event once, in order', async () => {
    open(0);
    log.append(recorded(1), recorded(2));
    log.checkpoint = at(2);
    socket.room = 1;
    stream!.resync();
    await waitFor('the first event', () => delivered.length === 1, 5_000);
    const live = Array.from({ length: 300 }, (_, i) => 3 + i);
    announce(...live);
    // What overflowed is read from the log; the connection drops a subscriber that does not read.
    await deliveredUpTo([1, 2, ...live]);
    expect(socket.room).toBeLessThan(0);
  });

});
