import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ChatWriter, customer } from '../../read-models/testing/fixtures.js';
import { createTestDatabase } from '../../test/database.js';
import { waitFor } from '../../test/processes.js';
import { startStompTestApp, testToken } from '../../test/stomp-app.js';
import { StompTestClient } from '../../test/stomp-client.js';
import { createDatabasePool } from '../database/pool.js';
import { CHAT_SESSION_CATEGORY } from '../chat-session/chat-session.events.js';
import { compareLogPositions, type LogPosition, type RecordedEvent, START } from '../event-store/event-store.js';
import { APPENDS_CHANNEL, PostgresEventStore } from '../event-store/postgres-event-store.js';
import { EVENTS_CHANNEL } from '../../read-models/notify.js';
import { LiveFeed } from './live-feed.js';
import type { SessionEvent } from './session-events.js';

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
      feed.watchInbox({ projected: (event) => told.push(event) });

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
      feed.watchInbox({ projected: (e) => told.push(e) });

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
