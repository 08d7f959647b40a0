import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { ChatWriter } from '../../read-models/testing/fixtures.js';
import { waitFor } from '../../test/processes.js';
import { startStompTestApp, type StompTestApp } from '../../test/stomp-app.js';
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
});
