import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ChatWriter, customer } from '../../read-models/testing/fixtures.js';
import { createTestDatabase } from '../../test/database.js';
import { waitFor } from '../../test/processes.js';
import { startStompTestApp, testToken } from '../../test/stomp-app.js';
import { StompTestClient } from '../../test/stomp-client.js';
import { createDatabasePool } from '../database/pool.js';
import { START } from '../event-store/event-store.js';
import { APPENDS_CHANNEL, PostgresEventStore } from '../event-store/postgres-event-store.js';
import { LiveFeed } from './live-feed.js';

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
