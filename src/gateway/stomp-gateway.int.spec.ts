import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { announcement } from '../../read-models/notify.js';
import { streamNameOf } from '../chat-session/chat-session.events.js';
import { waitFor } from '../../test/processes.js';
import { startStompTestApp, type StompTestApp, testToken } from '../../test/stomp-app.js';
import { StompTestClient } from '../../test/stomp-client.js';

/**
 * The STOMP contract through real `@stomp/stompjs` clients against the whole app (projections
 * running, so events reach subscribers through the projector's NOTIFY).
 */
describe('STOMP gateway', () => {
  let server: StompTestApp;
  const clients: StompTestClient[] = [];

  beforeAll(async () => {
    // Its customers open many sessions and leave them open; the limit has its own spec (stomp-limits).
    server = await startStompTestApp({ MAX_OPEN_SESSIONS_PER_CUSTOMER: '100' });
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.disconnect()));
    await server.close();
  });

  /** A connected client of `sub` in `role`, subscribed to its errors queue. */
  async function connect(sub: string, role: string, name?: string): Promise<StompTestClient> {
    const client = await StompTestClient.connect(server.stompUrl, await testToken(sub, role, { name }));
    clients.push(client);
    expect(await client.subscribe('/user/queue/errors')).toEqual({ ok: true });
    return client;
  }

  /** A new session of `customer`, opened through STOMP. */
  async function openSession(customer: StompTestClient): Promise<string> {
    const sessionId = randomUUID();
    expect(await customer.send('/app/chat/open', { sessionId, subject: 'Flat tyre on the A7' })).toEqual({ ok: true });
    return sessionId;
  }

  const topic = (sessionId: string) => `/topic/chat/${sessionId}`;
  const stored = async (sessionId: string) => (await server.store.readStream(streamNameOf(sessionId))).map((event) => event.type);

  describe('a whole chat, each side seeing the other', () => {
    let customer: StompTestClient;
    let agent: StompTestClient;
    let sessionId: string;

    beforeAll(async () => {
      customer = await connect(`customer-${randomUUID()}`, 'customer');
      agent = await connect(`agent-${randomUUID()}`, 'agent', 'Alice');
      expect(await agent.subscribe('/topic/inbox')).toEqual({ ok: true });
    });

    it('open: RECEIPTed once stored; the agents\' inbox hears of it', async () => {
      sessionId = await openSession(customer);
      expect(await stored(sessionId)).toEqual(['ChatSessionOpened']);
      await waitFor('the opening in the inbox', () => agent.eventsOn('/topic/inbox').some((event) => event.sessionId === sessionId));
      const [opened] = agent.messagesOn('/topic/inbox').filter((message) => JSON.parse(message.body).sessionId === sessionId);
      expect(opened!.headers).toMatchObject({ 'event-type': 'ChatSessionOpened', revision: '0', 'content-type': 'application/json' });
    });

    it('join, then messages both ways, read, close and rate: every event reaches both sides in order', async () => {
      expect(await customer.subscribe(topic(sessionId))).toEqual({ ok: true });
      expect(await agent.send(`/app/chat/${sessionId}/join`, {})).toEqual({ ok: true });
      expect(await agent.subscribe(topic(sessionId))).toEqual({ ok: true });
      const question = randomUUID();
      expect(await customer.send(`/app/chat/${sessionId}/messages`, { messageId: question, body: 'My tyre is flat' })).toEqual({ ok: true });
      const answer = randomUUID();
      expect(await agent.send(`/app/chat/${sessionId}/messages`, { messageId: answer, body: 'Help is on its way' })).toEqual({ ok: true });
      expect(await customer.send(`/app/chat/${sessionId}/read`, { upToMessageId: answer })).toEqual({ ok: true });
      expect(await customer.send(`/app/chat/${sessionId}/close`, { reason: 'solved' })).toEqual({ ok: true });
      expect(await customer.send(`/app/chat/${sessionId}/rating`, { rating: 5, comment: 'quick' })).toEqual({ ok: true });

      const types = ['AgentJoined', 'ChatMessageSent', 'ChatMessageSent', 'MessagesRead', 'ChatSessionClosed', 'ChatSessionRated'];
      const seenByCustomer = await customer.eventsUpTo(topic(sessionId), 6);
      expect(seenByCustomer.map((event) => [event.revision, event.type])).toEqual(types.map((type, i) => [i + 1, type]));
      const seenByAgent = await agent.eventsUpTo(topic(sessionId), 6);
      expect(seenByAgent.map((event) => event.revision)).toEqual([2, 3, 4, 5, 6]); // subscribed after joining
      expect(seenByAgent[0]).toEqual({
        type: 'ChatMessageSent',
        sessionId,
        revision: 2,
        position: expect.any(Number),
        occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        data: { sessionId, messageId: question, senderId: expect.stringMatching(/^customer-/), senderType: 'user', body: 'My tyre is flat' },
      });
      expect(seenByCustomer[2]!.data).toMatchObject({ body: 'Help is on its way', senderType: 'agent' });
      expect(await stored(sessionId)).toEqual(['ChatSessionOpened', ...types]);
    });

    it('puts the contract\'s headers on every MESSAGE', async () => {
      const message = agent.messagesOn(topic(sessionId)).at(-1)!;
      const subscriptionId = message.headers.subscription;
      expect(message.headers).toEqual(expect.objectContaining({
        subscription: expect.any(String),
        'message-id': expect.any(String),
        destination: topic(sessionId),
        'event-type': 'ChatSessionRated',
        revision: '6',
        position: String(JSON.parse(message.body).position),
        'content-type': 'application/json',
      }));
      const ids = agent.received.messages.map((received) => received.headers['message-id']);
      expect(new Set(ids).size).toBe(ids.length);
      expect(agent.messagesOn(topic(sessionId)).every((received) => received.headers.subscription === subscriptionId)).toBe(true);
    });

    it('tells the inbox of joins, messages, closing and rating, but not of read receipts', async () => {
      await waitFor('the rating in the inbox', () => agent.eventsOn('/topic/inbox').some((event) => event.sessionId === sessionId && event.type === 'ChatSessionRated'));
      const inbox = agent.eventsOn('/topic/inbox').filter((event) => event.sessionId === sessionId);
      expect(inbox.map((event) => event.type)).toEqual([
        'ChatSessionOpened', 'AgentJoined', 'ChatMessageSent', 'ChatMessageSent', 'ChatSessionClosed', 'ChatSessionRated',
      ]);
    });
  });

  describe('rejections: a MESSAGE on /user/queue/errors naming the receipt, never a RECEIPT', () => {
    let customer: StompTestClient;
    let otherCustomer: StompTestClient;
    let agent: StompTestClient;
    let sessionId: string;

    beforeAll(async () => {
      customer = await connect(`customer-${randomUUID()}`, 'customer');
      otherCustomer = await connect(`customer-${randomUUID()}`, 'customer');
      agent = await connect(`agent-${randomUUID()}`, 'agent');
      sessionId = await openSession(customer);
    });

    /** The rejection of a SEND, checked to come with no RECEIPT, ever: a later frame's RECEIPT arrives first. */
    async function rejectionOf(client: StompTestClient, destination: string, body: unknown) {
      const receipt = client.sendNoWait(destination, body);
      const outcome = await client.outcome(receipt);
      expect(await client.send('/app/chat/open', { sessionId: randomUUID(), subject: 'later' }).catch(() => undefined)).toBeDefined();
      expect(client.received.receipts.has(receipt)).toBe(false);
      const message = client.errors().find((error) => error.headers['receipt-id'] === receipt)!;
      expect(message.headers).toMatchObject({ code: (outcome as { code: string }).code, 'content-type': 'application/json' });
      return outcome;
    }

    it.each([
      ['an agent opening a session', 'agent', '/app/chat/open', () => ({ sessionId: randomUUID(), subject: 'x' }), 'FORBIDDEN'],
      ['a body that is not JSON', 'customer', '/app/chat/open', () => '{"sessionId": oops', 'INVALID_COMMAND'],
      ['a body not of the destination\'s shape', 'customer', '/app/chat/open', () => ({ sessionId: 'not-a-uuid', subject: 'x' }), 'INVALID_COMMAND'],
      ['an unknown destination', 'customer', '/app/chat/open/now', () => ({}), 'UNKNOWN_DESTINATION'],
      ['an unknown action on a session', 'customer', '/app/chat/{id}/delete', () => ({}), 'UNKNOWN_DESTINATION'],
      ['a message to another customer\'s session', 'otherCustomer', '/app/chat/{id}/messages', () => ({ messageId: randomUUID(), body: 'hi' }), 'NOT_A_PARTICIPANT'],
      ['a blank message', 'customer', '/app/chat/{id}/messages', () => ({ messageId: randomUUID(), body: '   ' }), 'INVALID_MESSAGE'],
      ['a rating before the session is closed', 'customer', '/app/chat/{id}/rating', () => ({ rating: 4 }), 'RATING_NOT_ALLOWED'],
    ])('%s: %s → %s', async (_, who, destination, body, code) => {
      const client = { customer, otherCustomer, agent }[who as 'customer']!;
      const outcome = await rejectionOf(client, destination.replace('{id}', sessionId), body());
      expect(outcome).toEqual({ ok: false, code, body: { code, message: expect.any(String) } });
    });

    it('SESSION_CLOSED for a message to a closed session', async () => {
      const closed = await openSession(customer);
      expect(await customer.send(`/app/chat/${closed}/close`, {})).toEqual({ ok: true });
      expect(await rejectionOf(customer, `/app/chat/${closed}/messages`, { messageId: randomUUID(), body: 'still there?' }))
        .toMatchObject({ ok: false, code: 'SESSION_CLOSED' });
    });

    it('stores nothing for a rejected command', async () => {
      expect(await stored(sessionId)).toEqual(['ChatSessionOpened']);
    });

    it('FORBIDDEN, and nothing delivered, for a customer subscribing to another\'s session', async () => {
      expect(await otherCustomer.subscribe(topic(sessionId))).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      expect(await customer.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body: 'private' })).toEqual({ ok: true });
      // A subscription of the outsider to a session of its own sees its events: the earlier one saw nothing.
      const own = await openSession(otherCustomer);
      expect(await otherCustomer.subscribe(topic(own), { 'since-revision': '-1' })).toEqual({ ok: true });
      await otherCustomer.eventsUpTo(topic(own), 0);
      expect(otherCustomer.messagesOn(topic(sessionId))).toEqual([]);
    });

    it('FORBIDDEN, the same, for a session that does not exist or an id that is no UUID', async () => {
      const unknown = await agent.subscribe(topic(randomUUID()));
      expect(unknown).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      expect(await otherCustomer.subscribe(topic(sessionId))).toEqual(unknown);
      expect(await agent.subscribe(topic('not-a-uuid'))).toEqual(unknown);
    });

    it('the inbox is for agents only; unknown topics are UNKNOWN_DESTINATION', async () => {
      expect(await customer.subscribe('/topic/inbox')).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      expect(await connect(`auditor-${randomUUID()}`, 'auditor').then((auditor) => auditor.subscribe('/topic/inbox'))).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      expect(await agent.subscribe('/topic/everything')).toMatchObject({ ok: false, code: 'UNKNOWN_DESTINATION' });
      expect(await agent.subscribe('/queue/other-users-errors')).toMatchObject({ ok: false, code: 'UNKNOWN_DESTINATION' });
    });

    it('a since-revision that is no integer from -1 up is INVALID_COMMAND', async () => {
      expect(await customer.subscribe(topic(sessionId), { 'since-revision': '-2' })).toMatchObject({ ok: false, code: 'INVALID_COMMAND' });
      expect(await customer.subscribe(topic(sessionId), { 'since-revision': 'latest' })).toMatchObject({ ok: false, code: 'INVALID_COMMAND' });
    });

    it('without an errors subscription, a rejected SEND gets nothing, and still no RECEIPT', async () => {
      const silent = await StompTestClient.connect(server.stompUrl, await testToken(`agent-${randomUUID()}`, 'agent'));
      clients.push(silent);
      const rejected = silent.sendNoWait('/app/chat/open', { sessionId: randomUUID(), subject: 'agents may not' });
      expect(await silent.subscribe('/user/queue/errors')).toEqual({ ok: true });
      expect(silent.received.receipts.has(rejected)).toBe(false);
      expect(silent.received.messages).toEqual([]);
    });
  });

  describe('authentication', () => {
    const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

    /** The ERROR frame (and the close after it) a CONNECT with `headers` gets. */
    async function refusal(headers: Record<string, string>) {
      const error = await StompTestClient.connect(server.stompUrl, undefined, { connectHeaders: headers }).then(
        () => { throw new Error('connected'); },
        (refused: Error & { frame?: { headers: Record<string, string>; body: string }; client?: StompTestClient }) => refused,
      );
      expect(error.frame).toBeDefined();
      await waitFor('the socket to close', () => error.client!.received.closeCode !== undefined);
      expect(error.client!.received.closeCode).toBe(1008);
      return { message: error.frame!.headers.message, body: error.frame!.body };
    }

    it.each([
      ['no token at all', {}, /Authorization: Bearer/],
      ['alg none', { Authorization: `Bearer ${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'mallory', role: 'agent', exp: 2e9 })}.` }, /algorithm|malformed/],
      ['a token signed with another key', { Authorization: 'Bearer {other-key}' }, /signature does not verify/],
      ['an expired token', { Authorization: 'Bearer {expired}' }, /the token has expired/],
      ['a role that does not exist', { Authorization: 'Bearer {admin}' }, /role must be one of/],
      ['a customer token whose role was edited to agent', { Authorization: 'Bearer {escalated}' }, /signature does not verify/],
      ['garbage as passcode', { passcode: 'not.a.jwt' }, /malformed/],
    ])('%s: ERROR unauthorized saying why, then the socket is closed', async (_, headers, reason) => {
      const forged: Record<string, string> = {
        '{other-key}': await testToken('mallory', 'agent', { secret: 'another-secret-that-is-32-bytes-long!!' }),
        '{expired}': await testToken('customer-1', 'customer', { expiresAt: Math.floor(Date.now() / 1000) - 60 }),
        '{admin}': await testToken('mallory', 'admin'),
        '{escalated}': await (async () => {
          const [header, , signature] = (await testToken('mallory', 'customer')).split('.');
          return `${header}.${base64url({ sub: 'mallory', role: 'agent', exp: 2e9 })}.${signature}`;
        })(),
      };
      const filled = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, value.replace(/\{[a-z-]+\}/, (key) => forged[key]!)]));
      const { message, body } = await refusal(filled);
      expect(message).toBe('unauthorized');
      expect(body).toMatch(reason);
    });

    it('a connection whose token expires meanwhile gets ERROR unauthorized saying so, then is closed', async () => {
      // Expired two seconds ago: still accepted for the five seconds of clock tolerance, so three more.
      const token = await testToken(`customer-${randomUUID()}`, 'customer', { expiresAt: Math.floor(Date.now() / 1000) - 2 });
      const client = await StompTestClient.connect(server.stompUrl, token);
      clients.push(client);
      expect(await client.subscribe('/user/queue/errors')).toEqual({ ok: true });
      await waitFor('the socket to close', () => client.received.closeCode !== undefined);
      expect(client.received.closeCode).toBe(1008);
      expect(client.received.stompErrors.map((frame) => [frame.headers.message, frame.body])).toEqual([['unauthorized', 'the token has expired']]);
    });

    it('takes a token of 12 KB (an identity provider’s, with many groups), as the HTTP API does', async () => {
      const groups = Array.from({ length: 400 }, (_, i) => `rental-support-group-${i}`);
      const token = await testToken(`customer-${randomUUID()}`, 'customer', { claims: { groups } });
      expect(token.length).toBeGreaterThan(12_000);
      const sessions = await fetch(new URL('/api/sessions', server.stompUrl.replace(/^ws/, 'http')), { headers: { authorization: `Bearer ${token}` } });
      expect(sessions.status).toBe(200);
      const client = await StompTestClient.connect(server.stompUrl, token);
      clients.push(client);
      expect(await client.subscribe('/user/queue/errors')).toEqual({ ok: true });
    });

    it('takes the JWT as passcode too', async () => {
      const client = await StompTestClient.connect(server.stompUrl, undefined, { connectHeaders: { passcode: await testToken(`customer-${randomUUID()}`, 'customer') } });
      clients.push(client);
      expect(await client.subscribe('/user/queue/errors')).toEqual({ ok: true });
    });
  });

  describe('typing indicators', () => {
    const customerId = `customer-${randomUUID()}`;
    let customer: StompTestClient;
    let agent: StompTestClient;
    let auditor: StompTestClient;
    let sessionId: string;

    beforeAll(async () => {
      customer = await connect(customerId, 'customer');
      agent = await connect(`agent-${randomUUID()}`, 'agent');
      auditor = await connect(`auditor-${randomUUID()}`, 'auditor');
      sessionId = await openSession(customer);
      expect(await agent.send(`/app/chat/${sessionId}/join`, {})).toEqual({ ok: true });
      for (const client of [customer, agent, auditor]) expect(await client.subscribe(topic(sessionId))).toEqual({ ok: true });
    });

    const typingOn = (client: StompTestClient) => client.messagesOn(topic(sessionId)).filter((message) => message.headers['event-type'] === 'Typing');

    it('reach the other subscribers, never the typist, and are never stored', async () => {
      const revisionBefore = (await server.store.readStream(streamNameOf(sessionId))).length - 1;
      expect(await customer.send(`/app/chat/${sessionId}/typing`, { typing: true })).toEqual({ ok: true });
      await waitFor('the indicator at the agent and the auditor', () => typingOn(agent).length === 1 && typingOn(auditor).length === 1);
      const [indicator] = typingOn(agent);
      expect(indicator!.headers).not.toHaveProperty('revision');
      expect(JSON.parse(indicator!.body)).toEqual({
        type: 'Typing', sessionId, occurredAt: expect.any(String), data: { senderId: expect.stringMatching(/^customer-/), senderType: 'user', typing: true },
      });
      // An event announced after the indicator reaches the typist; the indicator never did.
      expect(await agent.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body: 'I see you typing' })).toEqual({ ok: true });
      await customer.eventsUpTo(topic(sessionId), revisionBefore + 1);
      expect(typingOn(customer)).toEqual([]);
      expect(await stored(sessionId)).not.toContain('Typing');
      expect((await server.store.readStream(streamNameOf(sessionId))).length - 1).toBe(revisionBefore + 1);
    });

    it('from the agent reach the customer', async () => {
      expect(await agent.send(`/app/chat/${sessionId}/typing`, { typing: false })).toEqual({ ok: true });
      await waitFor('the agent\'s indicator at the customer', () => typingOn(customer).length === 1);
      expect(JSON.parse(typingOn(customer)[0]!.body).data).toMatchObject({ senderType: 'agent', typing: false });
    });

    it('only the session\'s participants may type: FORBIDDEN for others; a bad body is INVALID_COMMAND', async () => {
      const otherAgent = await connect(`agent-${randomUUID()}`, 'agent');
      expect(await auditor.send(`/app/chat/${sessionId}/typing`, { typing: true })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      expect(await otherAgent.send(`/app/chat/${sessionId}/typing`, { typing: true })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      expect(await agent.send(`/app/chat/${randomUUID()}/typing`, { typing: true })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      expect(await customer.send(`/app/chat/${sessionId}/typing`, { typing: 'yes' })).toMatchObject({ ok: false, code: 'INVALID_COMMAND' });
    });

    it('SESSION_CLOSED once the session is closed', async () => {
      expect(await customer.send(`/app/chat/${sessionId}/close`, {})).toEqual({ ok: true });
      const later = await connect(customerId, 'customer');
      expect(await later.send(`/app/chat/${sessionId}/typing`, { typing: true })).toMatchObject({ ok: false, code: 'SESSION_CLOSED' });
    });
  });

  describe('catch-up', () => {
    let customer: StompTestClient;
    let sessionId: string;
    const customerId = `customer-${randomUUID()}`;
    const say = (client: StompTestClient, body: string) => client.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body });

    beforeAll(async () => {
      customer = await connect(customerId, 'customer');
      sessionId = await openSession(customer);
      for (const body of ['one', 'two', 'three']) expect(await say(customer, body)).toEqual({ ok: true });
    });

    it('since-revision -1 replays the whole session, then goes on live, each revision once, in order', async () => {
      const auditor = await connect(`auditor-${randomUUID()}`, 'auditor');
      expect(await auditor.subscribe(topic(sessionId), { 'since-revision': '-1' })).toEqual({ ok: true });
      expect(await say(customer, 'four')).toEqual({ ok: true });
      const events = await auditor.eventsUpTo(topic(sessionId), 4);
      expect(events.map((event) => event.revision)).toEqual([0, 1, 2, 3, 4]);
      expect(events.map((event) => event.type)).toEqual(['ChatSessionOpened', 'ChatMessageSent', 'ChatMessageSent', 'ChatMessageSent', 'ChatMessageSent']);
    });

    it('since-revision N delivers what came after N only; without it, only what comes next', async () => {
      const agent = await connect(`agent-${randomUUID()}`, 'agent');
      expect(await agent.subscribe(topic(sessionId), { 'since-revision': '2' })).toEqual({ ok: true });
      const live = await connect(`agent-${randomUUID()}`, 'agent');
      expect(await live.subscribe(topic(sessionId))).toEqual({ ok: true });
      expect(await say(customer, 'five')).toEqual({ ok: true });
      expect((await agent.eventsUpTo(topic(sessionId), 5)).map((event) => event.revision)).toEqual([3, 4, 5]);
      expect((await live.eventsUpTo(topic(sessionId), 5)).map((event) => event.revision)).toEqual([5]);
    });

    it('a client that comes back with the last revision it saw gets what was sent meanwhile, once, in order, then live ones', async () => {
      const agentId = `agent-${randomUUID()}`;
      const before = await connect(agentId, 'agent');
      expect(await before.send(`/app/chat/${sessionId}/join`, {})).toEqual({ ok: true });
      expect(await before.subscribe(topic(sessionId), { 'since-revision': '5' })).toEqual({ ok: true });
      const lastSeen = (await before.eventsUpTo(topic(sessionId), 6)).at(-1)!.revision;
      await before.disconnect();

      for (const body of ['are you there?', 'hello?', 'anyone?']) expect(await say(customer, body)).toEqual({ ok: true });
      const after = await connect(agentId, 'agent');
      expect(await after.subscribe(topic(sessionId), { 'since-revision': String(lastSeen) })).toEqual({ ok: true });
      expect(await after.send(`/app/chat/${sessionId}/messages`, { messageId: randomUUID(), body: 'back now' })).toEqual({ ok: true });

      const events = await after.eventsUpTo(topic(sessionId), lastSeen + 4);
      expect(events.map((event) => event.revision)).toEqual([lastSeen + 1, lastSeen + 2, lastSeen + 3, lastSeen + 4]);
      expect(events.map((event) => event.data.body)).toEqual(['are you there?', 'hello?', 'anyone?', 'back now']);
    });

    it('UNSUBSCRIBE (RECEIPTed) stops the deliveries of that subscription', async () => {
      const agent = await connect(`agent-${randomUUID()}`, 'agent');
      expect(await agent.subscribe('/topic/inbox')).toEqual({ ok: true });
      expect(await agent.subscribe(topic(sessionId))).toEqual({ ok: true });
      await agent.unsubscribe(topic(sessionId));
      const body = `after unsubscribing ${randomUUID()}`;
      expect(await say(customer, body)).toEqual({ ok: true });
      // The inbox hears of each event right after the session's subscribers do.
      await waitFor('the message in the inbox', () => agent.eventsOn('/topic/inbox').some((event) => event.data.body === body));
      expect(agent.eventsOn(topic(sessionId))).toEqual([]);
    });

    it('a subscription with ack: client-individual gets an ack header on each MESSAGE, so that the ACK of @stomp/stompjs goes out and is RECEIPTed', async () => {
      const auditor = await connect(`auditor-${randomUUID()}`, 'auditor');
      expect(await auditor.subscribe(topic(sessionId), { 'since-revision': '-1', ack: 'client-individual' })).toEqual({ ok: true });
      await auditor.eventsUpTo(topic(sessionId), 0);
      const message = auditor.messagesOn(topic(sessionId))[0]!;
      expect(message.headers.ack).toEqual(expect.any(String));
      // stompjs sends `ACK id:<the ack header>` under STOMP 1.2, and nothing when there is none.
      const receipt = randomUUID();
      message.ack({ receipt });
      await waitFor(`RECEIPT ${receipt}`, () => auditor.received.receipts.has(receipt));
    });

    it('an event announced again (a projection re-applying its last batches after a database crash) reaches each subscriber once, the inbox too', async () => {
      const agent = await connect(`agent-${randomUUID()}`, 'agent');
      expect(await agent.subscribe('/topic/inbox')).toEqual({ ok: true });
      expect(await agent.subscribe(topic(sessionId))).toEqual({ ok: true });
      const [first, second] = [`announced twice ${randomUUID()}`, `announced once ${randomUUID()}`];
      const bodiesOn = (destination: string) =>
        agent.eventsOn(destination).filter((event) => event.sessionId === sessionId).map((event) => event.data.body);

      expect(await say(customer, first)).toEqual({ ok: true });
      await waitFor('the message in the inbox', () => bodiesOn('/topic/inbox').includes(first));
      const [last] = await server.store.readStream(streamNameOf(sessionId), { direction: 'backwards', maxCount: 1 });
      await server.pool.query(sql.unsafe`SELECT ${announcement([last!])}`);
      expect(await say(customer, second)).toEqual({ ok: true });
      await waitFor('the next message in the inbox', () => bodiesOn('/topic/inbox').includes(second));
      await agent.eventsUpTo(topic(sessionId), Number(last!.revision) + 1);

      expect(bodiesOn('/topic/inbox')).toEqual([first, second]);
      expect(bodiesOn(topic(sessionId))).toEqual([first, second]);
    });

    it('after losing its LISTEN connection, the node catches every subscription up with what was announced meanwhile, the inbox too', async () => {
      const agent = await connect(`agent-${randomUUID()}`, 'agent');
      expect(await agent.subscribe(topic(sessionId))).toEqual({ ok: true });
      expect(await agent.subscribe('/topic/inbox')).toEqual({ ok: true });
      const revision = (await server.store.readStream(streamNameOf(sessionId))).length - 1;
      const inbox = () => agent.eventsOn('/topic/inbox').map((event) => [event.sessionId, event.revision, event.data.body]);

      await server.listenProxy.cut();
      for (const body of ['lost 1', 'lost 2', 'lost 3']) expect(await say(customer, body)).toEqual({ ok: true });
      await waitFor('the projection of the three messages', async () => {
        const { rows } = await server.pool.query(sql.unsafe`SELECT revision FROM chat_sessions WHERE session_id = ${sessionId}`);
        return Number(rows[0]?.revision) === revision + 3;
      });
      expect(agent.eventsOn(topic(sessionId))).toEqual([]); // announced while nobody on this node listened
      expect(inbox()).toEqual([]);
      await server.listenProxy.restore();

      const events = await agent.eventsUpTo(topic(sessionId), revision + 3);
      expect(events.map((event) => event.data.body)).toEqual(['lost 1', 'lost 2', 'lost 3']);
      expect(await say(customer, 'live again')).toEqual({ ok: true });
      expect((await agent.eventsUpTo(topic(sessionId), revision + 4)).map((event) => event.revision))
        .toEqual([revision + 1, revision + 2, revision + 3, revision + 4]);
      await waitFor('the live message in the inbox', () => inbox().length === 4);
      expect(inbox()).toEqual(['lost 1', 'lost 2', 'lost 3', 'live again'].map((body, i) => [sessionId, revision + 1 + i, body]));
    });
  });
});
