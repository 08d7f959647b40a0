import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { WebSocket } from 'ws';
import { sql } from 'slonik';
import { ChatWriter, customer } from '../../read-models/testing/fixtures.js';
import { createTestDatabase } from '../../test/database.js';
import { waitFor } from '../../test/processes.js';
import { startStompTestApp, type StompTestApp, testToken } from '../../test/stomp-app.js';
import { StompTestClient } from '../../test/stomp-client.js';
import { createDatabasePool } from '../database/pool.js';
import { CHAT_SESSION_CATEGORY } from '../chat-session/chat-session.events.js';
import { compareLogPositions, type LogPosition, type RecordedEvent, START } from '../event-store/event-store.js';
import { APPENDS_CHANNEL, PostgresEventStore } from '../event-store/postgres-event-store.js';
import { EVENTS_CHANNEL } from '../../read-models/notify.js';
import { LiveFeed } from './live-feed.js';
import type { SessionEvent } from './session-events.js';

/** An inbox watcher's socket that always has room. */
const alwaysRoom = { hasRoom: () => true, drained: async () => {} };

describe("the live feed's announcements of appends", () => {
  it('passes on those of other nodes, and once more whenever it listens again after a lost connection', async () => {
    const database = await createTestDatabase();
    const pool = await createDatabasePool(database.url);
    const other = new pg.Client({ connectionString: database.url });
    let announced = 0;
    const feed = new LiveFeed({
      databaseUrl: database.url,
      pool,
      reader: { read: async () => [] },
      log: { readAll: async () => [] },
      announcedUpTo: async () => START,
      appendsAnnounced: () => announced++,
    });
    try {
      await other.connect();
      await feed.start();
      // Whatever was announced before it listened: once, as it starts.
      expect(announced).toBe(1);
      await other.query(`NOTIFY ${APPENDS_CHANNEL}`);
      await waitFor('the announcement of another node', () => announced === 2, 10_000);

      await other.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'parley-gateway-listener'`);
      await waitFor('the connection opened again', () => announced === 3, 10_000);
      expect(feed.listening).toBe(true);
      await other.query(`NOTIFY ${APPENDS_CHANNEL}`);
      await waitFor('the announcement after the outage', () => announced === 4, 10_000);
    } finally {
      await feed.stop();
      await other.end();
      await pool.end();
      await database.drop();
    }
  });
});

describe("the live feed's inbox", () => {
  it('is told of an event whose truncated notice could not be read, from the log, once the feed listens again', async () => {
    const database = await createTestDatabase();
    const pool = await createDatabasePool(database.url);
    const other = new pg.Client({ connectionString: database.url });
    const sessionId = randomUUID();
    const logPosition: LogPosition = { commit: 100n, prepare: 42n };
    const recorded: RecordedEvent = {
      streamName: `${CHAT_SESSION_CATEGORY}-${sessionId}`,
      eventId: randomUUID(),
      type: 'ChatMessageSent',
      revision: 3n,
      position: 42n,
      logPosition,
      data: { body: 'x'.repeat(9_000) },
      metadata: { occurredAt: '2026-12-07T16:00:00.000Z' },
      createdAt: new Date(),
    };
    let announcedUpTo = START;
    let storeReads = 0;
    const told: SessionEvent[] = [];
    const feed = new LiveFeed({
      databaseUrl: database.url,
      pool,
      reader: {
        read: async () => {
          storeReads++;
          throw new Error('the store is down');
        },
      },
      log: { readAll: async ({ after = START } = {}) => (compareLogPositions(after, logPosition) < 0 ? [recorded] : []) },
      announcedUpTo: async () => announcedUpTo,
    });
    try {
      await other.connect();
      await feed.start();
      feed.watchInbox({ projected: (event) => told.push(event), ...alwaysRoom });

      // Projected and announced, but too large for its notice; reading it fails.
      announcedUpTo = logPosition;
      const notice = { sessionId, revision: '3', type: 'ChatMessageSent', eventId: recorded.eventId, position: '42', logPosition: { commit: '100', prepare: '42' }, truncated: true };
      await other.query('SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, JSON.stringify(notice)]);

      await waitFor('the event told to the inbox', () => told.length === 1, 10_000);
      expect(storeReads).toBe(1);
      expect(told[0]).toMatchObject({ sessionId, revision: 3n, type: 'ChatMessageSent', data: recorded.data });
      expect(feed.listening).toBe(true);
    } finally {
      await feed.stop();
      await other.end();
      await pool.end();
      await database.drop();
    }
  });
});

describe("another node's appends, in the whole app", () => {
  it('reach its subscribers at once: the app hears their announcement and its projection looks', async () => {
    // A poll interval no test waits for: only the announcement can wake the app's projection.
    const server = await startStompTestApp({ MAX_OPEN_SESSIONS_PER_CUSTOMER: '10' }, { pollIntervalMs: 600_000 });
    const agent = await StompTestClient.connect(server.stompUrl, await testToken(`agent-${randomUUID()}`, 'agent'));
    const otherNode = new PostgresEventStore(server.pool);
    try {
      expect(await agent.subscribe('/topic/inbox')).toEqual({ ok: true });
      const opened = (sessionId: string) => () => agent.eventsOn('/topic/inbox').some((event) => event.sessionId === sessionId);
      // Through the app first: once its projection has projected this, it waits for the log to grow.
      const local = await StompTestClient.connect(server.stompUrl, await testToken(customer.id, 'customer'));
      const first = randomUUID();
      expect(await local.send('/app/chat/open', { sessionId: first, subject: 'Through this node' })).toEqual({ ok: true });
      await waitFor('the opening through this node in the inbox', opened(first));
      await local.disconnect();

      const second = randomUUID();
      await new ChatWriter(otherNode).append(second, [{ type: 'ChatSessionOpened', data: { sessionId: second, customerId: customer.id, subject: 'Through the other node' } }]);
      await waitFor('the opening through the other node in the inbox', opened(second));
    } finally {
      await otherNode.close();
      await agent.disconnect();
      await server.close();
    }
  });
});

describe("the live feed's inbox, after a truncated notice it could not read", () => {
  it('is told of that event too, when the same batch announced a later event of the session', async () => {
    const database = await createTestDatabase();
    const pool = await createDatabasePool(database.url);
    const other = new pg.Client({ connectionString: database.url });
    const sessionId = randomUUID();
    const event = (revision: bigint, body: string): RecordedEvent => ({
      streamName: `${CHAT_SESSION_CATEGORY}-${sessionId}`,
      eventId: randomUUID(),
      type: 'ChatMessageSent',
      revision,
      position: 40n + revision,
      logPosition: { commit: 100n, prepare: 40n + revision },
      data: { body },
      metadata: { occurredAt: '2026-12-07T16:00:00.000Z' },
      createdAt: new Date(),
    });
    const long = event(3n, 'x'.repeat(9_000));
    const next = event(4n, 'short');
    let announcedUpTo = START;
    const told: SessionEvent[] = [];
    const feed = new LiveFeed({
      databaseUrl: database.url,
      pool,
      reader: { read: async () => { throw new Error('the store is down'); } },
      log: { readAll: async ({ after = START } = {}) => [long, next].filter((e) => compareLogPositions(e.logPosition, after) > 0) },
      announcedUpTo: async () => announcedUpTo,
    });
    try {
      await other.connect();
      await feed.start();
      feed.watchInbox({ projected: (e) => told.push(e), ...alwaysRoom });

      // One batch announces both: revision 3 too large for its notice (its read fails), then revision 4 in full.
      announcedUpTo = next.logPosition;
      const head = (e: RecordedEvent) => ({
        sessionId, revision: String(e.revision), type: e.type, eventId: e.eventId, position: String(e.position),
        logPosition: { commit: String(e.logPosition.commit), prepare: String(e.logPosition.prepare) },
      });
      await other.query('BEGIN');
      await other.query('SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, JSON.stringify({ ...head(long), truncated: true })]);
      await other.query('SELECT pg_notify($1, $2)', [EVENTS_CHANNEL, JSON.stringify({ ...head(next), data: next.data, metadata: next.metadata })]);
      await other.query('COMMIT');

      // Revision 3 (a new message: the inbox's preview, its unread count) is in the log and was
      // announced: the catch-up after the reconnection tells it, then revision 4, in order.
      await waitFor('revision 3 told to the inbox', () => told.some((e) => e.revision === 3n), 10_000);
      await waitFor('revision 4 told to the inbox', () => told.some((e) => e.revision === 4n), 10_000);
      expect(told.map((e) => e.revision)).toEqual([3n, 4n]);
    } finally {
      await feed.stop();
      await other.end();
      await pool.end();
      await database.drop();
    }
  });
});

describe("the inbox's catch-up after a lost LISTEN connection, in the whole app", () => {
  const INBOX = '/topic/inbox';
  const MESSAGES = 260;
  let server: StompTestApp;
  let writer: ChatWriter;
  const clients: StompTestClient[] = [];

  beforeEach(async () => {
    // The smallest bound a client may have waiting, far below the backlog each test makes.
    server = await startStompTestApp({ STOMP_MAX_BUFFERED_BYTES: String(64 * 1024) });
    writer = new ChatWriter(server.store);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.disconnect()));
    await server.close();
  });

  async function connect(role: string): Promise<StompTestClient> {
    const client = await StompTestClient.connect(server.stompUrl, await testToken(`${role}-${randomUUID()}`, role));
    clients.push(client);
    return client;
  }

  /**
   * Four sessions of 1 + {@link MESSAGES} events appended and projected while the node does not
   * listen, then the node listening again. Some 8 MB: each message 4,000 characters of two bytes
   * in UTF-8, more than the kernel takes of a socket's writes on a loopback connection (some 4 MB
   * on this machine) and the bound together. Until 2026-12-08 the catch-up sent it 1,000 events at a
   * time without waiting for room, and an agent reading all it was sent was dropped as a slow consumer.
   */
  async function backlogDuringOutage(): Promise<string[]> {
    await server.listenProxy.cut();
    const sessions = Array.from({ length: 4 }, () => randomUUID());
    for (const sessionId of sessions) {
      await writer.append(sessionId, [
        { type: 'ChatSessionOpened', data: { sessionId, customerId: customer.id, subject: 'Announced while the node did not listen' } },
        ...messages(sessionId, MESSAGES, (i) => `${i} ${'é'.repeat(4_000 - String(i).length - 1)}`),
      ]);
    }
    await waitFor('the projection of the backlog', async () => {
      const { rows } = await server.pool.query(sql.unsafe`SELECT count(*)::int AS count FROM chat_sessions WHERE revision = ${MESSAGES}`);
      return rows[0]!.count === sessions.length;
    });
    await server.listenProxy.restore();
    return sessions;
  }

  const messages = (sessionId: string, count: number, body: (i: number) => string) =>
    Array.from({ length: count }, (_, i) => ({
      type: 'ChatMessageSent' as const,
      data: { sessionId, messageId: randomUUID(), senderId: customer.id, senderType: 'user' as const, body: body(i) },
    }));

  /** The revisions of each session received on `destination`, in the order received. */
  const revisionsBySession = (client: StompTestClient, destination: string, sessions: string[]) =>
    sessions.map((sessionId) => client.eventsOn(destination).filter((event) => event.sessionId === sessionId).map((event) => event.revision));
  const upTo = (last: number) => Array.from({ length: last + 1 }, (_, i) => i);

  it('tells an agent who reads all it is sent every event announced meanwhile, once and in order: it is not dropped as a slow consumer', async () => {
    const agent = await connect('agent');
    expect(await agent.subscribe(INBOX)).toEqual({ ok: true });
    const sessions = await backlogDuringOutage();
    expect(agent.eventsOn(INBOX)).toEqual([]); // announced while nobody on this node listened

    const total = sessions.length * (1 + MESSAGES);
    await waitFor('the backlog in the inbox, or the agent dropped', () => agent.eventsOn(INBOX).length >= total || agent.received.closeCode !== undefined);
    expect(agent.received.stompErrors.map((frame) => frame.headers.message)).toEqual([]);
    expect(agent.received.closeCode).toBeUndefined();
    // Then a live event, after the whole backlog: once it is in, anything told twice would be too.
    await writer.append(sessions[0]!, [{ type: 'ChatSessionClosed', data: { sessionId: sessions[0]!, closedBy: customer.id } }]);
    await waitFor('the live event in the inbox', () => agent.eventsOn(INBOX).length > total);

    expect(agent.eventsOn(INBOX).at(-1)).toMatchObject({ sessionId: sessions[0], revision: MESSAGES + 1, type: 'ChatSessionClosed' });
    expect(revisionsBySession(agent, INBOX, sessions)).toEqual(sessions.map((_, i) => upTo(i === 0 ? MESSAGES + 1 : MESSAGES)));
  });

  it('holds no one up for an agent who does not read, who is dropped as a slow consumer once live events pile up behind its catch-up', async () => {
    const reading = await connect('agent');
    expect(await reading.subscribe(INBOX)).toEqual({ ok: true });
    const live = randomUUID();
    await writer.append(live, [{ type: 'ChatSessionOpened', data: { sessionId: live, customerId: customer.id, subject: 'Live' } }]);
    const watching = await connect('agent');
    expect(await watching.subscribe(`/topic/chat/${live}`)).toEqual({ ok: true });
    await waitFor('the live session in the inbox', () => reading.eventsOn(INBOX).length === 1);
    const stalled = new WebSocket(server.stompUrl, ['v12.stomp']);
    const stalledFrames: string[] = [];
    stalled.on('message', (data) => stalledFrames.push(data.toString()));
    stalled.on('error', () => {});
    await new Promise((resolve, reject) => stalled.once('open', resolve).once('error', reject));
    try {
      const token = await testToken(`agent-${randomUUID()}`, 'agent');
      stalled.send(`CONNECT\naccept-version:1.2\npasscode:${token}\n\n\0SUBSCRIBE\nid:inbox\ndestination:${INBOX}\nreceipt:subscribed\n\n\0`);
      await waitFor('the RECEIPT of the stalled agent', () => stalledFrames.some((text) => text.startsWith('RECEIPT\n')));
      stalled.pause(); // reads nothing more: what the server sends piles up in the kernel's buffers, then in its own
      const droppedBefore = await slowConsumersDropped();

      const sessions = await backlogDuringOutage();
      const total = 1 + sessions.length * (1 + MESSAGES);
      await waitFor('the backlog at the agent who reads', () => reading.eventsOn(INBOX).length >= total);
      // More live events than wait behind a catch-up: the stalled agent's pile up.
      await writer.append(live, messages(live, 300, (i) => `live ${i}`));
      await waitFor('the live events at the agent who reads', () => reading.eventsOn(INBOX).length >= total + 300);
      await watching.eventsUpTo(`/topic/chat/${live}`, 300);

      expect(revisionsBySession(reading, INBOX, [live, ...sessions])).toEqual([upTo(300), ...sessions.map(() => upTo(MESSAGES))]);
      expect(revisionsBySession(watching, `/topic/chat/${live}`, [live])).toEqual([upTo(300).slice(1)]);
      expect(reading.received.closeCode).toBeUndefined();
      await waitFor('the stalled agent dropped as a slow consumer', async () => (await slowConsumersDropped()) === droppedBefore + 1);
    } finally {
      stalled.terminate();
    }
  });

  /** The server's count of STOMP clients dropped as slow consumers (`/metrics`). */
  async function slowConsumersDropped(): Promise<number> {
    const text = await (await fetch(server.stompUrl.replace(/^ws(.*)\/stomp$/, 'http$1/metrics'))).text();
    return Number(/^parley_stomp_slow_consumers_dropped_total (\S+)$/m.exec(text)?.[1]);
  }
});
