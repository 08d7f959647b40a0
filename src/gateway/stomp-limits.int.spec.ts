import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { streamNameOf } from '../chat-session/chat-session.events.js';
import { waitFor } from '../../test/processes.js';
import { startStompTestApp, type StompTestApp, testToken } from '../../test/stomp-app.js';
import { type Outcome, StompTestClient } from '../../test/stomp-client.js';
import { MonotonicClock } from './rate-limit.js';

/**
 * The rate limits through real `@stomp/stompjs` clients: every connection's SEND bucket (2 a
 * second, 8 at once here), the typing indicators' own (5 a second, 5 at once), and the open
 * sessions of a customer (2 here). The rate limits' clock is the test's: time stands still
 * unless a test moves it, so what a flood gets does not depend on how fast the machine is.
 */
describe('STOMP gateway rate limits', () => {
  let server: StompTestApp;
  let now = 0;
  const clients: StompTestClient[] = [];

  beforeAll(async () => {
    server = await startStompTestApp({ STOMP_SEND_RATE: '2', STOMP_SEND_BURST: '8', MAX_OPEN_SESSIONS_PER_CUSTOMER: '2' });
    server.app.get(MonotonicClock).now = () => now;
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.disconnect()));
    await server.close();
  });

  async function connect(sub: string, role: string): Promise<StompTestClient> {
    const client = await StompTestClient.connect(server.stompUrl, await testToken(sub, role));
    clients.push(client);
    expect(await client.subscribe('/user/queue/errors')).toEqual({ ok: true });
    return client;
  }

  const open = (client: StompTestClient, sessionId: string = randomUUID()) => client.send('/app/chat/open', { sessionId, subject: 'Rate limits' });
  const say = (client: StompTestClient, sessionId: string, messageId: string = randomUUID()) =>
    client.send(`/app/chat/${sessionId}/messages`, { messageId, body: 'hello' });
  const codes = (outcomes: Outcome[]) => outcomes.map((outcome) => (outcome.ok ? 'RECEIPT' : outcome.code));
  const storedMessageIds = async (sessionId: string) => (await server.store.readStream(streamNameOf(sessionId)))
    .filter((event) => event.type === 'ChatMessageSent')
    .map((event) => (event.data as { messageId: string }).messageId);

  describe('SENDs per connection', () => {
    const customerId = `customer-${randomUUID()}`;
    let flooder: StompTestClient;
    let sessionId: string;

    beforeAll(async () => {
      flooder = await connect(customerId, 'customer');
      sessionId = randomUUID();
      expect(await open(flooder, sessionId)).toEqual({ ok: true });
    });

    it('a flood: the SENDs over the burst are RATE_LIMITED and stored nowhere; another connection of the same customer goes on', async () => {
      const calm = await connect(customerId, 'customer');
      const flood = Array.from({ length: 10 }, () => randomUUID());
      const receipts = flood.map((messageId) => flooder.sendNoWait(`/app/chat/${sessionId}/messages`, { messageId, body: 'spam' }));
      const calmMessage = randomUUID();
      expect(await say(calm, sessionId, calmMessage)).toEqual({ ok: true });

      const outcomes = await Promise.all(receipts.map((receipt) => flooder.outcome(receipt)));
      // 8 at once: the open took one, seven messages went through.
      expect(codes(outcomes)).toEqual([...Array(7).fill('RECEIPT'), ...Array(3).fill('RATE_LIMITED')]);
      expect(outcomes.at(-1)).toEqual({
        ok: false,
        code: 'RATE_LIMITED',
        body: { code: 'RATE_LIMITED', message: 'too many SENDs on this connection (at most 2 a second, 8 at once); nothing was done, send it again later' },
      });
      expect(receipts.slice(7).some((receipt) => flooder.received.receipts.has(receipt))).toBe(false);
      expect(await storedMessageIds(sessionId)).toEqual(expect.arrayContaining([...flood.slice(0, 7), calmMessage]));
      expect(await storedMessageIds(sessionId)).toHaveLength(8);
    });

    it('recovers as the bucket refills: one SEND per half second, then a whole burst after a pause', async () => {
      expect(await say(flooder, sessionId)).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
      now += 500;
      expect(await say(flooder, sessionId)).toEqual({ ok: true });
      expect(await say(flooder, sessionId)).toMatchObject({ ok: false, code: 'RATE_LIMITED' });

      now += 60_000;
      const outcomes: Outcome[] = [];
      for (let i = 0; i < 9; i++) outcomes.push(await say(flooder, sessionId));
      expect(codes(outcomes)).toEqual([...Array(8).fill('RECEIPT'), 'RATE_LIMITED']);
    });

    it('counts typing indicators, which have a bucket of their own besides: 5 at once, 5 a second', async () => {
      const typist = await connect(customerId, 'customer');
      const typing = () => typist.send(`/app/chat/${sessionId}/typing`, { typing: true });
      const outcomes: Outcome[] = [];
      for (let i = 0; i < 6; i++) outcomes.push(await typing());
      expect(codes(outcomes)).toEqual([...Array(5).fill('RECEIPT'), 'RATE_LIMITED']);
      expect((outcomes[5] as { body: { message: string } }).body.message).toMatch(/typing indicators/);
      // Each took a token of the SEND bucket too: two of its eight are left.
      expect(codes([await say(typist, sessionId), await say(typist, sessionId), await say(typist, sessionId)]))
        .toEqual(['RECEIPT', 'RECEIPT', 'RATE_LIMITED']);

      now += 1_000;
      expect(await typing()).toEqual({ ok: true });
    });
  });

  describe('open sessions per customer', () => {
    const customerId = `customer-${randomUUID()}`;
    const [first, second, third] = [randomUUID(), randomUUID(), randomUUID()];
    let customer: StompTestClient;

    beforeAll(async () => {
      customer = await connect(customerId, 'customer');
    });

    /** Waits until the read model shows `count` sessions of the customer not closed. */
    const projectedOpen = (count: number) => waitFor(`${count} open sessions in chat_sessions`, async () => {
      const { rows } = await server.pool.query(sql.unsafe`
        SELECT count(*)::int AS count FROM chat_sessions WHERE user_id = ${customerId} AND session_status <> 'closed'`);
      return rows[0]!.count === count;
    });

    it('refuses a session over the limit with RATE_LIMITED, from any connection of the customer, and stores nothing of it', async () => {
      expect(await open(customer, first)).toEqual({ ok: true });
      expect(await open(customer, second)).toEqual({ ok: true });
      await projectedOpen(2);

      const refused = await open(customer, third);
      expect(refused).toEqual({
        ok: false,
        code: 'RATE_LIMITED',
        body: { code: 'RATE_LIMITED', message: 'you already have 2 open chat sessions, the most allowed; close one before opening another' },
      });
      const elsewhere = await connect(customerId, 'customer');
      expect(await open(elsewhere, third)).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
      expect(await server.store.readStream(streamNameOf(third))).toEqual([]);
    });

    it('still answers a repeated open of a session already opened as a success', async () => {
      expect(await open(customer, first)).toEqual({ ok: true });
      expect((await server.store.readStream(streamNameOf(first))).map((event) => event.type)).toEqual(['ChatSessionOpened']);
    });

    it('lets other customers open sessions meanwhile', async () => {
      expect(await open(await connect(`customer-${randomUUID()}`, 'customer'))).toEqual({ ok: true });
    });

    it('allows the session once one of the open ones is closed', async () => {
      expect(await customer.send(`/app/chat/${first}/close`, {})).toEqual({ ok: true });
      await projectedOpen(1);
      expect(await open(customer, third)).toEqual({ ok: true });
      expect((await server.store.readStream(streamNameOf(third))).map((event) => event.type)).toEqual(['ChatSessionOpened']);
    });
  });
});
