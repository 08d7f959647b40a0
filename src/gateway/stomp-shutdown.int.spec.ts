import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { WebSocket } from 'ws';
import { streamNameOf } from '../chat-session/chat-session.events.js';
import { waitFor } from '../../test/processes.js';
import { startStompTestApp, type StompTestApp, testToken } from '../../test/stomp-app.js';
import { StompTestClient } from '../../test/stomp-client.js';

/**
 * What a stopping app (`app.close()`, which SIGTERM runs in main.ts) does to its STOMP clients.
 * The test holds a command in flight by holding the advisory lock that `append_to_streams` takes
 * on the session's stream, and lets it go when it has seen what it wants to see meanwhile.
 */
describe('STOMP gateway at shutdown', () => {
  let server: StompTestApp;
  const clients: StompTestClient[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.disconnect()));
    await server.close();
  });

  async function connect(sub: string): Promise<StompTestClient> {
    const client = await StompTestClient.connect(server.stompUrl, await testToken(sub, 'customer'));
    clients.push(client);
    expect(await client.subscribe('/user/queue/errors')).toEqual({ ok: true });
    return client;
  }

  /** Holds the append lock of the session's stream until the returned function is called. */
  async function holdAppendLock(sessionId: string): Promise<() => Promise<void>> {
    const key = sql.fragment`hashtextextended(${streamNameOf(sessionId)}, 0)`;
    let locked!: () => void;
    let release!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    const holder = server.pool.connect(async (connection) => {
      await connection.query(sql.unsafe`SELECT pg_advisory_lock(${key})`);
      locked();
      await released;
      await connection.query(sql.unsafe`SELECT pg_advisory_unlock(${key})`);
    });
    await isLocked;
    return async () => {
      release();
      await holder;
    };
  }

  const appendWaiting = () => waitFor('an append waiting for the stream lock', async () => {
    const { rows } = await server.pool.query(sql.unsafe`SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`);
    return rows[0]!.waiting === 1;
  });

  /** How a new WebSocket to the endpoint fares: `open`, or the error that refused it. */
  const newWebSocket = () => new Promise<string>((resolve) => {
    const socket = new WebSocket(server.stompUrl, ['v12.stomp']);
    socket.once('open', () => {
      socket.terminate();
      resolve('open');
    });
    socket.once('error', (error) => resolve(error.message));
  });

  const say = (client: StompTestClient, sessionId: string, messageId: string) =>
    client.sendNoWait(`/app/chat/${sessionId}/messages`, { messageId, body: `message ${messageId}` });
  const storedMessageIds = async (sessionId: string) => (await server.store.readStream(streamNameOf(sessionId)))
    .filter((event) => event.type === 'ChatMessageSent')
    .map((event) => (event.data as { messageId: string }).messageId);

  it('RECEIPTs the command under way while refusing new WebSockets, HTTP requests and SENDs, then ERRORs and closes every connection', async () => {
    server = await startStompTestApp({ SHUTDOWN_GRACE_MS: '60000' });
    const customerId = `customer-${randomUUID()}`;
    const [customer, otherTab] = [await connect(customerId), await connect(customerId)];
    const sessionId = randomUUID();
    expect(await customer.send('/app/chat/open', { sessionId, subject: 'Shutdown' })).toEqual({ ok: true });
    expect(await newWebSocket()).toBe('open');
    const release = await holdAppendLock(sessionId);
    const [underWay, queued, tooLate] = [randomUUID(), randomUUID(), randomUUID()];
    const underWayReceipt = say(customer, sessionId, underWay);
    await appendWaiting();
    let receiptBeforeError: boolean | undefined;
    const recordError = customer.client.onStompError;
    customer.client.onStompError = (frame) => {
      receiptBeforeError = customer.received.receipts.has(underWayReceipt);
      recordError(frame);
    };

    const closing = server.app.close();
    await waitFor('new WebSockets to be refused', async () => (await newWebSocket()) === 'Unexpected server response: 503');
    expect((await fetch(server.stompUrl.replace(/^ws:(.*)\/stomp$/, 'http:$1/health/live'))).status).toBe(503);
    expect(await otherTab.outcome(say(otherTab, sessionId, tooLate))).toMatchObject({ ok: false, code: 'UNAVAILABLE' });
    const queuedReceipt = say(customer, sessionId, queued);
    expect(customer.received.receipts.has(underWayReceipt)).toBe(false);
    expect(customer.received.stompErrors).toEqual([]);

    await release();
    expect(await customer.outcome(underWayReceipt)).toEqual({ ok: true });
    expect(await customer.outcome(queuedReceipt)).toMatchObject({ ok: false, code: 'UNAVAILABLE' });
    await closing;
    for (const client of [customer, otherTab]) {
      expect(client.received.stompErrors.map((frame) => frame.headers.message)).toEqual(['server shutting down']);
      expect(client.received.closeCode).toBe(1001);
    }
    expect(receiptBeforeError).toBe(true);
    expect(await storedMessageIds(sessionId)).toEqual([underWay]);
  });

  it('closes the connections once SHUTDOWN_GRACE_MS is over, though a command is still under way', async () => {
    server = await startStompTestApp({ SHUTDOWN_GRACE_MS: '300' });
    const customer = await connect(`customer-${randomUUID()}`);
    const sessionId = randomUUID();
    expect(await customer.send('/app/chat/open', { sessionId, subject: 'Shutdown' })).toEqual({ ok: true });
    const release = await holdAppendLock(sessionId);
    const stuck = randomUUID();
    const stuckReceipt = say(customer, sessionId, stuck);
    await appendWaiting();

    await server.app.close();
    expect(customer.received.stompErrors.map((frame) => frame.headers.message)).toEqual(['server shutting down']);
    expect(customer.received.receipts.has(stuckReceipt)).toBe(false);

    // The command completes all the same, unRECEIPTed: the client sends it again elsewhere, and
    // the repeat of its messageId is answered as a success with nothing more stored.
    await release();
    await waitFor('the stuck message to be stored', async () => (await storedMessageIds(sessionId)).includes(stuck));
  });

  it('answers the HTTP requests of the widget on other sites with a 503 their page can read while it stops', async () => {
    server = await startStompTestApp({ SHUTDOWN_GRACE_MS: '60000' });
    const customer = await connect(`customer-${randomUUID()}`);
    const sessionId = randomUUID();
    expect(await customer.send('/app/chat/open', { sessionId, subject: 'Shutdown' })).toEqual({ ok: true });
    const release = await holdAppendLock(sessionId);
    const underWay = say(customer, sessionId, randomUUID());
    await appendWaiting();

    const closing = server.app.close();
    const api = server.stompUrl.replace(/^ws:(.*)\/stomp$/, 'http:$1/api/sessions');
    const headers = { origin: 'https://www.rental-site.example', authorization: `Bearer ${await testToken('agent-1', 'agent')}` };
    const refused = await waitFor('HTTP requests refused', async () => {
      const response = await fetch(api, { headers });
      return response.status === 503 ? response : undefined;
    });
    await release();
    expect(await customer.outcome(underWay)).toEqual({ ok: true });
    await closing;
    // Without it, the browser hides the 503 from the page: to the widget, the server is unreachable.
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    expect(await refused.json()).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'the server is stopping; retry shortly' });
  });
});
