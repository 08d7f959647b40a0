import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { ChatWriter } from '../../read-models/testing/fixtures.js';
import { waitFor } from '../../test/processes.js';
import { startStompTestApp, type StompTestApp, testToken } from '../../test/stomp-app.js';
import { StompTestClient } from '../../test/stomp-client.js';
import { PostgresEventStore } from '../event-store/postgres-event-store.js';

/** `/health/ready` of the whole app, its LISTEN connection going through a proxy the test can cut. */
describe('readiness', () => {
  let server: StompTestApp;
  let url: string;

  beforeAll(async () => {
    server = await startStompTestApp();
    url = `${server.stompUrl.replace(/^ws/, 'http').replace(/\/stomp$/, '')}/health/ready`;
  });
  afterAll(() => server.close());

  const readiness = async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: await response.json() };
  };

  it('is 503, naming the live feed, while the node hears no projected events; 200 once it listens again', async () => {
    await waitFor('readiness', async () => (await readiness()).status === 200);
    expect((await readiness()).body.checks).toEqual({ database: 'up', eventStore: 'up', liveFeed: 'up' });

    await server.listenProxy.cut();
    const down = await waitFor('the lost LISTEN connection reported', async () => {
      const answer = await readiness();
      return answer.status === 503 ? answer : undefined;
    });
    expect(down.body).toMatchObject({ status: 'unavailable', checks: { database: 'up', eventStore: 'up', liveFeed: 'down' } });

    await server.listenProxy.restore();
    const up = await waitFor('readiness again', async () => {
      const answer = await readiness();
      return answer.status === 200 ? answer : undefined;
    });
    expect(up.body).toMatchObject({ status: 'ready', checks: { liveFeed: 'up' } });
  });

  it('says when events wait, not counted in the lag, behind a transaction still in flight', async () => {
    await waitFor('readiness', async () => (await readiness()).status === 200);
    expect((await readiness()).body.projections.chat).toMatchObject({ lag: 0, heldBack: false });
    let finish!: () => void;
    const inFlight = server.pool.transaction(async (transaction) => {
      await transaction.query(sql.type(z.object({ xid: z.string() }))`SELECT pg_current_xact_id()::text AS xid`); // takes a transaction id
      await new Promise<void>((resolve) => (finish = resolve));
    });
    try {
      await waitFor('the transaction in flight', () => finish !== undefined);
      const sessionId = randomUUID();
      await new ChatWriter(new PostgresEventStore(server.pool)).append(sessionId, [
        { type: 'ChatSessionOpened', data: { sessionId, customerId: 'customer-1', subject: 'Held back' } },
      ]);
      const held = await readiness();
      expect(held.body.projections.chat).toMatchObject({ lag: 0, heldBack: true });
    } finally {
      finish();
      await inFlight;
    }
    await waitFor('the event projected', async () => (await readiness()).body.projections.chat.heldBack === false);
  });

  it('stays ready, and shows the chats opened after it, when a customer whose token has a 3,000-character subject tries to open one', async () => {
    await waitFor('readiness', async () => (await readiness()).status === 200);
    // Random, so that PostgreSQL cannot compress it below the largest row a B-tree index takes.
    const longSubject = randomBytes(2_250).toString('base64url');
    // Refused at CONNECT or taken: either way, the chats of everyone else must go on being shown.
    const intruder = await StompTestClient.connect(server.stompUrl, await testToken(longSubject, 'customer')).catch(() => undefined);
    if (intruder) {
      await intruder.send('/app/chat/open', { sessionId: randomUUID(), subject: 'Long subject' });
      await intruder.disconnect();
    }
    const customer = await StompTestClient.connect(server.stompUrl, await testToken('customer-after', 'customer'));
    const sessionId = randomUUID();
    expect(await customer.send('/app/chat/open', { sessionId, subject: 'Flat tyre' })).toEqual({ ok: true });
    await customer.disconnect();

    const agent = await testToken('agent-1', 'agent');
    const outcome = await waitFor('the chat listed, or the projection stopped', async () => {
      const response = await fetch(url.replace(/\/health\/ready$/, '/api/sessions'), { headers: { authorization: `Bearer ${agent}` } });
      const { items } = (await response.json()) as { items: Array<{ sessionId: string }> };
      if (items.some((item) => item.sessionId === sessionId)) return 'listed';
      return (await readiness()).body.projections.chat.state === 'failed' ? 'projection stopped' : undefined;
    });
    expect(outcome).toBe('listed');
    expect((await readiness()).status).toBe(200);
  });
});
