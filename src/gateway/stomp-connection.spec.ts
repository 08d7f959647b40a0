import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { type Principal, TokenKeysUnavailable } from '../auth/tokens.js';
import type { ChatCommandRequest } from '../chat-session/chat-session.service.js';
import { waitFor } from '../../test/processes.js';
import type { InboxWatcher, LiveFeed } from './live-feed.js';
import type { SessionEvent, SessionReader } from './session-events.js';
import { type ConnectionServices, StompConnection, type StompTransport } from './stomp-connection.js';

const MAX_BUFFERED = 64 * 1024;

/** A socket whose buffered amount the test sets, recording what is sent and done to it. */
class FakeTransport implements StompTransport {
  sent: string[] = [];
  bufferedAmount = 0;
  closedWith: { code: number; reason: string } | undefined;
  pauses = 0;
  resumes = 0;

  send(text: string): void {
    this.sent.push(text);
  }
  hasRoom(bytes: number): boolean {
    return this.bufferedAmount <= bytes || this.closedWith !== undefined;
  }
  drained(_bytes: number): Promise<void> {
    return Promise.resolve();
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }
  pause(): void {
    this.pauses++;
  }
  resume(): void {
    this.resumes++;
  }
  frames(command: string): string[] {
    return this.sent.filter((text) => text.startsWith(`${command}\n`));
  }
}

/**
 * A socket whose client reads at the network's pace: what is sent stays buffered until the test
 * has the client read it all, which is when waiting for room (`drained`) ends.
 */
class ReadingTransport extends FakeTransport {
  #waiting: Array<() => void> = [];

  override send(text: string): void {
    super.send(text);
    this.bufferedAmount += Buffer.byteLength(text);
  }
  override drained(bytes: number): Promise<void> {
    if (this.hasRoom(bytes)) return Promise.resolve();
    return new Promise<void>((resolve) => this.#waiting.push(resolve)).then(() => this.drained(bytes));
  }
  /** The client reads everything sent so far. */
  read(): void {
    this.bufferedAmount = 0;
    for (const resolve of this.#waiting.splice(0)) resolve();
  }
}

describe('StompConnection', () => {
  let transport: FakeTransport;
  let inbox: InboxWatcher[];
  let unwatched: number;
  let submitted: ChatCommandRequest[];
  /** Commands wait for it: the test decides when the store answers. */
  let gate: Promise<void>;
  let openGate: () => void;

  /** A connection after its CONNECT frame; `versionHeader`: that frame's `accept-version` line, if any. */
  function open({
    heartbeatMs = 0,
    heartBeat = '0,0',
    validUntil = Date.now() + 3_600_000,
    versionHeader = 'accept-version:1.2\n',
    keysUnavailable = false,
    socket = new FakeTransport(),
    reader = { read: async () => [] } as SessionReader,
  } = {}): StompConnection {
    transport = socket;
    inbox = [];
    unwatched = 0;
    submitted = [];
    gate = new Promise((resolve) => (openGate = resolve));
    const agent: Principal = { id: 'agent-1', role: 'agent' };
    const feed = {
      watchInbox: (watcher: InboxWatcher) => {
        inbox.push(watcher);
        return () => void unwatched++;
      },
      watchSession: () => () => void unwatched++,
    } as unknown as LiveFeed;
    const services: ConnectionServices = {
      tokens: {
        verify: async () => {
          if (keysUnavailable) throw new TokenKeysUnavailable('the signing keys could not be fetched from JWT_JWKS_URL');
          return { principal: agent, validUntil };
        },
      },
      commands: {
        submit: async (request) => {
          submitted.push(request);
          await gate;
          return { sessionId: 'x', revision: 0n, appended: 1 };
        },
      },
      access: { mayWatch: async () => 0n, mayType: async () => 'agent' },
      feed,
      reader,
      settings: { maxFrameBytes: 64 * 1024, heartbeatMs, maxBufferedBytes: MAX_BUFFERED, sendLimit: { perSecond: 1_000, burst: 1_000 } },
      connectTimeoutMs: 60_000,
      clock: { now: () => 0 },
    };
    const connection = new StompConnection(transport, services);
    connection.receive(`CONNECT\n${versionHeader}heart-beat:${heartBeat}\npasscode:token\n\n\0`);
    return connection;
  }

  const event: SessionEvent = { sessionId: 's', type: 'ChatMessageSent', revision: 1n, position: 7n, occurredAt: '2026-11-24T09:00:00Z', data: {} };

  it('sends a heart-beat only when nothing else went out for the agreed period', async () => {
    jest.useFakeTimers();
    try {
      const connection = open({ heartbeatMs: 1_000, heartBeat: '0,1000' });
      await jest.advanceTimersByTimeAsync(0);
      expect(transport.frames('CONNECTED')).toHaveLength(1);
      connection.receive('SUBSCRIBE\nid:inbox\ndestination:/topic/inbox\n\n\0');
      await jest.advanceTimersByTimeAsync(0);
      const heartBeats = () => transport.sent.filter((text) => text === '\n').length;

      // A MESSAGE every 400 ms: no heart-beat is needed.
      for (let i = 0; i < 10; i++) {
        await jest.advanceTimersByTimeAsync(400);
        inbox[0]!.projected(event);
      }
      expect(transport.frames('MESSAGE')).toHaveLength(10);
      expect(heartBeats()).toBe(0);

      // Silence: a heart-beat a period after the last MESSAGE, then one a period.
      await jest.advanceTimersByTimeAsync(999);
      expect(heartBeats()).toBe(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(heartBeats()).toBe(1);
      await jest.advanceTimersByTimeAsync(3_000);
      expect(heartBeats()).toBe(4);
    } finally {
      jest.useRealTimers();
    }
  });

  it('drops a client silent for twice the heart-beat it promised, not later, however its frames were spaced', async () => {
    jest.useFakeTimers();
    try {
      const connection = open({ heartbeatMs: 1_000, heartBeat: '1000,0' });
      await jest.advanceTimersByTimeAsync(1_500);
      connection.receive('\n');
      await jest.advanceTimersByTimeAsync(1_999);
      expect(connection.isOpen).toBe(true);

      await jest.advanceTimersByTimeAsync(1);
      expect(transport.frames('ERROR')).toEqual([expect.stringContaining('message:heart-beat timeout\n')]);
      expect(connection.isOpen).toBe(false);
    } finally {
      jest.useRealTimers();
    }
  });

  it('keeps a quiet STOMP 1.0 client: 1.0 has no heart-beats, whatever header its CONNECT carries', async () => {
    jest.useFakeTimers();
    try {
      // The CONNECT of webstomp-client offering v10.stomp, and of @stomp/stompjs (rx-stomp) told to
      // speak 1.0: both send their heart-beat header whatever the version, and beat only in 1.1+.
      const connection = open({ heartbeatMs: 10_000, heartBeat: '10000,10000', versionHeader: 'accept-version:1.0\n' });
      await jest.advanceTimersByTimeAsync(0);
      expect(transport.frames('CONNECTED')).toEqual([expect.stringContaining('version:1.0\n')]);
      expect(transport.frames('CONNECTED')[0]).not.toContain('heart-beat:'); // none offered either

      await jest.advanceTimersByTimeAsync(60_000);
      expect(transport.frames('ERROR')).toEqual([]);
      expect(connection.isOpen).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  it('closes the connection when its token expires, with an ERROR saying so, however far away that is', async () => {
    jest.useFakeTimers();
    try {
      const day = 86_400_000;
      const connection = open({ validUntil: Date.now() + 30 * day }); // beyond a timer's longest delay (24.8 days)
      await jest.advanceTimersByTimeAsync(0);
      connection.receive('SUBSCRIBE\nid:inbox\ndestination:/topic/inbox\n\n\0');
      await jest.advanceTimersByTimeAsync(30 * day - 1);
      expect(connection.isOpen).toBe(true);
      expect(transport.frames('ERROR')).toEqual([]);

      await jest.advanceTimersByTimeAsync(1);
      expect(transport.frames('ERROR')).toEqual([expect.stringMatching(/^ERROR\nmessage:unauthorized\n[^]*\n\nthe token has expired\0$/)]);
      expect(transport.closedWith).toEqual({ code: 1008, reason: 'unauthorized' });
      expect(unwatched).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });

  it.each([
    ['1.2', 'accept-version:1.1,1.2\n', 'a\\rb\\cc', 'a\\rb\\cc'],
    ['1.1', 'accept-version:1.0,1.1\n', 'a\\nb\\cc', 'a\\nb\\cc'],
    ['1.0', '', 'C:\\temp\\t', 'C:\\temp\\t'],
  ])('escapes headers both ways as the agreed STOMP %s does', async (version, versionHeader, sent, echoed) => {
    const connection = open({ versionHeader });
    await waitFor('CONNECTED', () => transport.frames('CONNECTED').length === 1);
    expect(transport.frames('CONNECTED')[0]).toContain(`version:${version}\n`);

    // A receipt id read as the version decodes it, and written back as it encodes it.
    connection.receive(`SUBSCRIBE\nid:inbox\ndestination:/topic/inbox\nreceipt:${sent}\n\n\0`);
    await waitFor('the RECEIPT', () => transport.frames('RECEIPT').length === 1);
    expect(transport.frames('RECEIPT')).toEqual([`RECEIPT\nreceipt-id:${echoed}\n\n\0`]);
  });

  it('lets a STOMP 1.0 client subscribe without an id, and unsubscribe by destination, as 1.0 allows', async () => {
    const connection = open({ versionHeader: '' });
    connection.receive('SUBSCRIBE\ndestination:/topic/inbox\nreceipt:subscribed\n\n\0');
    await waitFor('the RECEIPT', () => transport.frames('RECEIPT').length === 1);
    inbox[0]!.projected(event);
    expect(transport.frames('MESSAGE')).toEqual([expect.stringContaining('\nsubscription:/topic/inbox\n')]);

    connection.receive('UNSUBSCRIBE\ndestination:/topic/inbox\nreceipt:unsubscribed\n\n\0');
    await waitFor('the second RECEIPT', () => transport.frames('RECEIPT').length === 2);
    expect(unwatched).toBe(1);
    expect(connection.isOpen).toBe(true);
  });

  it('requires the id of a SUBSCRIBE from a STOMP 1.2 client', async () => {
    const connection = open();
    connection.receive('SUBSCRIBE\ndestination:/topic/inbox\n\n\0');
    await waitFor('the ERROR', () => transport.frames('ERROR').length === 1);
    expect(transport.frames('ERROR')[0]).toContain('SUBSCRIBE needs the id header');
    expect(connection.isOpen).toBe(false);
  });

  it('refuses subscriptions to sessions past 500 at once, however many were let go: each reads the store', async () => {
    const connection = open(); // its clock stands still: no token comes back
    connection.receive('SUBSCRIBE\nid:errors\ndestination:/user/queue/errors\n\n\0');
    const subscribeAndLetGo = (receipt: string) =>
      connection.receive(`SUBSCRIBE\nid:s\ndestination:/topic/chat/${randomUUID()}\nreceipt:${receipt}\n\n\0UNSUBSCRIBE\nid:s\n\n\0`);
    for (let i = 0; i < 500; i++) subscribeAndLetGo(`r${i}`);
    await waitFor('500 RECEIPTs', () => transport.frames('RECEIPT').length === 500);

    subscribeAndLetGo('one-too-many');
    await waitFor('the refusal', () => transport.frames('MESSAGE').length === 1);
    expect(transport.frames('MESSAGE')[0]).toMatch(/\ncode:RATE_LIMITED\nreceipt-id:one-too-many\n/);
    expect(transport.frames('RECEIPT')).toHaveLength(500);
  });

  it('answers a CONNECT whose token cannot be checked, the key set out of reach, with ERROR unavailable: not its fault', async () => {
    open({ keysUnavailable: true });
    await waitFor('the ERROR', () => transport.frames('ERROR').length === 1);
    expect(transport.frames('ERROR')[0]).toMatch(/^ERROR\nmessage:unavailable\n[^]*\n\nthe signing keys could not be fetched from JWT_JWKS_URL; connect again shortly, with the same token\0$/);
    expect(transport.closedWith).toEqual({ code: 1013, reason: 'unavailable' });
  });

  it('refuses a CONNECT that accepts no version it speaks with an ERROR listing those it does', async () => {
    open({ versionHeader: 'accept-version:2.0,2.1\n' });
    await waitFor('the ERROR', () => transport.frames('ERROR').length === 1);
    expect(transport.frames('ERROR')[0]).toMatch(/^ERROR\nmessage:unsupported version\nversion:1\.2,1\.1,1\.0\n[^]*\n\nSupported protocol versions are 1\.2 1\.1 1\.0\0$/);
    expect(transport.closedWith?.code).toBe(1002);
  });

  it('closes a slow consumer with an ERROR instead of queueing more for it, and lets go of its subscriptions', async () => {
    const connection = open();
    connection.receive('SUBSCRIBE\nid:inbox\ndestination:/topic/inbox\nreceipt:r\n\n\0');
    await waitFor('the RECEIPT', () => transport.frames('RECEIPT').length === 1);
    inbox[0]!.projected(event);
    expect(transport.frames('MESSAGE')).toHaveLength(1);

    transport.bufferedAmount = MAX_BUFFERED + 1;
    inbox[0]!.projected(event);

    expect(transport.frames('MESSAGE')).toHaveLength(1);
    expect(transport.frames('ERROR')).toEqual([expect.stringContaining('message:slow consumer')]);
    expect(transport.closedWith).toEqual({ code: 1008, reason: 'slow consumer' });
    expect(unwatched).toBe(1);
    expect(connection.isOpen).toBe(false);
  });

  it('keeps a client that reads all it is sent while 40 of its subscriptions catch up at once: catch-up waits for room, it never overruns the bound', async () => {
    // 40 sessions of 20 messages of 2,000 characters: some 2.4 KB a MESSAGE, 1.9 MB in all.
    const sessions = Array.from({ length: 40 }, () => randomUUID());
    const body = 'x'.repeat(2_000);
    const reader: SessionReader = {
      read: async (sessionId, from, max) =>
        Array.from({ length: 20 }, (_, revision) => ({ ...event, sessionId, revision: BigInt(revision), data: { body } }))
          .filter((stored) => stored.revision >= from)
          .slice(0, max),
    };
    const client = new ReadingTransport();
    const connection = open({ socket: client, reader });
    connection.receive(sessions.map((id, i) => `SUBSCRIBE\nid:${i}\ndestination:/topic/chat/${id}\nsince-revision:-1\n\n\0`).join(''));

    // The client reads everything it was sent, again each time the server has sent more.
    while (connection.isOpen && client.frames('MESSAGE').length < 40 * 20) {
      const sent = client.sent.length;
      client.read();
      await waitFor('more frames, or the close', () => client.sent.length > sent || !connection.isOpen);
    }

    expect(client.frames('ERROR')).toEqual([]);
    expect(client.frames('MESSAGE')).toHaveLength(40 * 20);
    expect(connection.isOpen).toBe(true);
  });

  it('stops reading a client that floods it with frames until it has worked through them, then RECEIPTs them in order', async () => {
    const connection = open();
    connection.receive(Array.from({ length: 100 }, (_, i) => `SEND\ndestination:/app/chat/open\nreceipt:r${i}\n\n{}\0`).join(''));
    expect(transport.pauses).toBe(1);
    expect(transport.resumes).toBe(0);

    openGate();
    await waitFor('100 receipts', () => transport.frames('RECEIPT').length === 100);
    expect(transport.frames('RECEIPT').map((text) => /receipt-id:(\S+)/.exec(text)![1])).toEqual(Array.from({ length: 100 }, (_, i) => `r${i}`));
    expect(transport.resumes).toBe(1);
    expect(submitted).toHaveLength(100);
  });

  it('answers a malformed frame with an ERROR after the frames sent before it are done, RECEIPTs first', async () => {
    const connection = open();
    connection.receive('SEND\ndestination:/app/chat/open\nreceipt:r1\n\n{}\0SEND\ndestination:/app/chat/open\nreceipt:r2\n\n{}\0FOO\n\n\0');
    await waitFor('the first SEND', () => submitted.length === 1);
    expect(transport.frames('ERROR')).toEqual([]);

    openGate();
    await waitFor('the ERROR', () => transport.frames('ERROR').length === 1);
    expect(transport.sent.slice(1).map((text) => text.split('\n', 2).join(' '))).toEqual([
      'RECEIPT receipt-id:r1',
      'RECEIPT receipt-id:r2',
      'ERROR message:unknown command FOO',
    ]);
    expect(connection.isOpen).toBe(false);
  });

  it('ends a connection whose one WebSocket message holds more than 1,000 frames, after the first 1,000', async () => {
    const connection = open();
    connection.receive('ACK\nid:a\nreceipt:ack\n\n\0'.repeat(1_001));

    await waitFor('the ERROR', () => transport.frames('ERROR').length === 1);
    expect(transport.frames('RECEIPT')).toHaveLength(1_000);
    expect(transport.frames('ERROR')[0]).toContain('message:more than 1000 frames in one message\n');
    expect(connection.isOpen).toBe(false);
  });

  it('at shutdown, lets the SEND under way finish with its RECEIPT, answers later SENDs UNAVAILABLE, then says ERROR and closes', async () => {
    const connection = open();
    connection.receive('SUBSCRIBE\nid:errors\ndestination:/user/queue/errors\nreceipt:sub\n\n\0');
    connection.receive('SEND\ndestination:/app/chat/open\nreceipt:under-way\n\n{}\0');
    await waitFor('the SEND under way', () => submitted.length === 1);

    let finished = false;
    const shuttingDown = connection.beginShutdown().then(() => (finished = true));
    connection.receive('SEND\ndestination:/app/chat/open\nreceipt:too-late\n\n{}\0');
    await new Promise((resolve) => setImmediate(resolve));
    expect(finished).toBe(false);

    openGate();
    await shuttingDown;
    const receipts = transport.frames('RECEIPT').map((text) => /receipt-id:(\S+)/.exec(text)![1]);
    expect(receipts).toEqual(['sub', 'under-way']);
    const [rejection] = transport.frames('MESSAGE');
    expect(rejection).toContain('code:UNAVAILABLE');
    expect(rejection).toContain('receipt-id:too-late');
    expect(submitted).toHaveLength(1);

    connection.shutdown();
    expect(transport.frames('ERROR')).toEqual([expect.stringContaining('message:server shutting down')]);
    expect(transport.closedWith).toEqual({ code: 1001, reason: 'server shutting down' });
  });
});
