import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import type { DatabasePool } from 'slonik';
import { createTestDatabase } from '../../test/database.js';
import { startTcpProxy } from '../../test/tcp-proxy.js';
import { startWriteSide } from '../../test/write-side.js';
import { createDatabasePool } from '../database/pool.js';
import type { EventStore } from '../event-store/event-store.js';
import { PostgresEventStore } from '../event-store/postgres-event-store.js';
import { streamNameOf } from './chat-session.events.js';
import { type ChatCommandRequest, type ChatSessionService, CommandRejected } from './chat-session.service.js';
import { verifyChain } from './hash-chain.js';

const customer = { id: 'customer-1', role: 'customer' } as const;
const otherCustomer = { id: 'customer-2', role: 'customer' } as const;
const agent = { id: 'agent-1', role: 'agent', name: 'Ada' } as const;
const auditor = { id: 'auditor-1', role: 'auditor' } as const;

/**
 * One app node's write side over the given store: its own command bus and session cache. No
 * projection runs here: the read model in `pool` that the open-session limit counts in is empty.
 */
async function node(store: EventStore, pool: DatabasePool): Promise<ChatSessionService> {
  return (await startWriteSide(store, pool)).service;
}

describe('chat session commands, end to end on PostgreSQL', () => {
  let drop: () => Promise<void>;
  let databaseUrl: string;
  let pool: DatabasePool;
  let store: EventStore;
  let service: ChatSessionService;

  beforeAll(async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    databaseUrl = database.url;
    pool = await createDatabasePool(database.url);
    store = new PostgresEventStore(pool);
    service = await node(store, pool);
  });
  afterAll(async () => {
    await pool.end();
    await drop();
  });

  const stored = (sessionId: string) => store.readStream(streamNameOf(sessionId));
  const open = async (sessionId = randomUUID()) => {
    await service.submit({ kind: 'open', payload: { sessionId, subject: 'Flat tyre' }, actor: customer });
    return sessionId;
  };
  const send = (sessionId: string, actor: ChatCommandRequest['actor'], body = 'Hello', messageId = randomUUID()) =>
    service.submit({ kind: 'messages', sessionId, payload: { messageId, body }, actor });
  const rejectionOf = (attempt: Promise<unknown>) =>
    attempt.then(() => 'accepted', (error: unknown) => (error instanceof CommandRejected ? error.code : error));

  it('stores a conversation with full metadata and an intact hash chain', async () => {
    const sessionId = await open();
    await service.submit({ kind: 'join', sessionId, payload: {}, actor: agent });
    await send(sessionId, customer, 'My car has a flat tyre');
    await send(sessionId, agent, 'Help is on its way');
    await service.submit({ kind: 'close', sessionId, payload: { reason: 'solved' }, actor: agent });
    await service.submit({ kind: 'rating', sessionId, payload: { rating: 5 }, actor: customer });

    const events = await stored(sessionId);
    expect(events.map((e) => e.type)).toEqual([
      'ChatSessionOpened', 'AgentJoined', 'ChatMessageSent', 'ChatMessageSent', 'ChatSessionClosed', 'ChatSessionRated',
    ]);
    expect(events[1]?.data).toEqual({ sessionId, agentId: 'agent-1', agentName: 'Ada' });
    for (const event of events) {
      expect(event.metadata).toEqual(expect.objectContaining({
        eventId: event.eventId, actor: expect.objectContaining({ id: expect.any(String) }),
        correlationId: expect.any(String), causationId: expect.any(String), occurredAt: expect.any(String),
      }));
    }
    expect(verifyChain(events.map((e) => ({ type: e.type, data: e.data, metadata: e.metadata as never })))).toEqual({ ok: true });
    // Event ids are UUIDv7, in the order the events were appended: the index on them grows at its end.
    const eventIds = events.map((e) => e.eventId);
    for (const id of eventIds) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...eventIds].sort()).toEqual(eventIds);
  });

  it('answers a retried open or send as a success without a second event', async () => {
    const sessionId = await open();
    await open(sessionId);
    const messageId = randomUUID();
    const first = await send(sessionId, customer, 'Once', messageId);
    const again = await send(sessionId, customer, 'Once', messageId);
    expect(first.appended).toBe(1);
    expect(again).toEqual({ sessionId, revision: first.revision, appended: 0 });
    expect((await stored(sessionId)).map((e) => e.type)).toEqual(['ChatSessionOpened', 'ChatMessageSent']);
  });

  it('refuses another message under a stored message’s id, through a node whose cache has not seen it as well', async () => {
    const sessionId = await open();
    const [nodeA, nodeB] = [service, await node(new PostgresEventStore(pool), pool)];
    await nodeA.submit({ kind: 'join', sessionId, payload: {}, actor: agent }); // node A caches the session
    const messageId = randomUUID();
    await nodeB.submit({ kind: 'messages', sessionId, payload: { messageId, body: 'My car broke down' }, actor: customer });

    expect(await rejectionOf(nodeA.submit({ kind: 'messages', sessionId, payload: { messageId, body: 'On my way' }, actor: agent }))).toBe('INVALID_MESSAGE');
    expect(await rejectionOf(nodeA.submit({ kind: 'messages', sessionId, payload: { messageId, body: 'It is a Fiat' }, actor: customer }))).toBe('INVALID_MESSAGE');
    expect(await nodeA.submit({ kind: 'messages', sessionId, payload: { messageId, body: 'My car broke down' }, actor: customer })).toMatchObject({ appended: 0 });
    const messages = (await stored(sessionId)).filter((e) => e.type === 'ChatMessageSent');
    expect(messages.map((e) => e.data)).toEqual([expect.objectContaining({ messageId, senderType: 'user', body: 'My car broke down' })]);
  });

  it('keeps every message when two nodes with their own caches write one session at once', async () => {
    const sessionId = await open();
    // Another node: its own cache, and its own event store (appends grouped apart from this one's).
    const [nodeA, nodeB] = [service, await node(new PostgresEventStore(pool), pool)];
    await nodeB.submit({ kind: 'join', sessionId, payload: {}, actor: agent });
    await Promise.all(Array.from({ length: 10 }, (_, i) => Promise.all([
      nodeA.submit({ kind: 'messages', sessionId, payload: { messageId: randomUUID(), body: `a${i}` }, actor: customer }),
      nodeB.submit({ kind: 'messages', sessionId, payload: { messageId: randomUUID(), body: `b${i}` }, actor: agent }),
    ])));
    const events = await stored(sessionId);
    expect(events.filter((e) => e.type === 'ChatMessageSent')).toHaveLength(20);
    expect(events.map((e) => e.revision)).toEqual(events.map((_, i) => BigInt(i)));
    expect(verifyChain(events.map((e) => ({ type: e.type, data: e.data, metadata: e.metadata as never })))).toEqual({ ok: true });
  });

  it('never stamps an event before the revision ahead of it, though its node’s clock is behind the node that appended that one', async () => {
    const sessionId = await open();
    const [nodeA, nodeB] = [service, await node(new PostgresEventStore(pool), pool)];
    await nodeA.submit({ kind: 'join', sessionId, payload: {}, actor: agent }); // node A caches the session
    const ahead = new Date(Date.now() + 60 * 60_000);
    // Node B's clock is an hour ahead of node A's: only Date is faked, the timers run as ever.
    jest.useFakeTimers({ now: ahead, doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask', 'hrtime', 'performance'] });
    try {
      await nodeB.submit({ kind: 'messages', sessionId, payload: { messageId: randomUUID(), body: 'Sent through node B' }, actor: customer });
    } finally {
      jest.useRealTimers();
    }
    await nodeA.submit({ kind: 'messages', sessionId, payload: { messageId: randomUUID(), body: 'Sent through node A' }, actor: agent });

    const times = (await stored(sessionId)).map((e) => (e.metadata as { occurredAt: string }).occurredAt);
    expect(times.slice(-2)).toEqual([ahead.toISOString(), ahead.toISOString()]);
  });

  it("decides on what another node appended, though its own cache has not seen it: a read receipt, a join, a join again", async () => {
    const sessionId = await open();
    const [nodeA, nodeB] = [service, await node(new PostgresEventStore(pool), pool)];
    const otherAgent = { id: 'agent-2', role: 'agent', name: 'Bo' } as const;
    await nodeA.submit({ kind: 'join', sessionId, payload: {}, actor: agent }); // node A caches the session
    const reply = randomUUID();
    await nodeB.submit({ kind: 'messages', sessionId, payload: { messageId: reply, body: 'Hello' }, actor: agent });

    // The customer, on node A, reads the reply sent through node B.
    expect(await nodeA.submit({ kind: 'read', sessionId, payload: { upToMessageId: reply }, actor: customer })).toMatchObject({ appended: 1 });
    // The agent leaves through node B: another agent may join through node A, and then, once
    // that one has left through B as well, the first may join again through A.
    await nodeB.submit({ kind: 'leave', sessionId, payload: {}, actor: agent });
    expect(await nodeA.submit({ kind: 'join', sessionId, payload: {}, actor: otherAgent })).toMatchObject({ appended: 1 });
    await nodeB.submit({ kind: 'leave', sessionId, payload: {}, actor: otherAgent });
    expect(await nodeA.submit({ kind: 'join', sessionId, payload: {}, actor: agent })).toMatchObject({ appended: 1 });

    expect((await stored(sessionId)).map((e) => e.type)).toEqual([
      'ChatSessionOpened', 'AgentJoined', 'ChatMessageSent', 'MessagesRead', 'AgentLeft', 'AgentJoined', 'AgentLeft', 'AgentJoined',
    ]);
  });

  describe('bad input is refused with its code and appends nothing', () => {
    it.each([
      ['an unknown field', { kind: 'open', payload: { sessionId: randomUUID(), subject: 'x', admin: true } }, 'INVALID_COMMAND'],
      ['a non-UUID session id', { kind: 'open', payload: { sessionId: 'not-a-uuid', subject: 'x' } }, 'INVALID_COMMAND'],
      ['a payload that is not an object', { kind: 'open', payload: 'hello' }, 'INVALID_COMMAND'],
    ] as const)('%s', async (_, request, code) => {
      expect(await rejectionOf(service.submit({ ...request, actor: customer }))).toBe(code);
    });

    it('a non-UUID session id in the destination', async () => {
      expect(await rejectionOf(send('../etc', customer))).toBe('INVALID_COMMAND');
    });

    it('a body over 4,000 characters, and a blank one', async () => {
      const sessionId = await open();
      expect(await rejectionOf(send(sessionId, customer, 'x'.repeat(4001)))).toBe('INVALID_MESSAGE');
      expect(await rejectionOf(send(sessionId, customer, '   '))).toBe('INVALID_MESSAGE');
      await expect(send(sessionId, customer, 'x'.repeat(4000))).resolves.toMatchObject({ appended: 1 });
      expect(await stored(sessionId)).toHaveLength(2);
    });

    it('a closed session', async () => {
      const sessionId = await open();
      await service.submit({ kind: 'close', sessionId, payload: {}, actor: customer });
      expect(await rejectionOf(send(sessionId, customer))).toBe('SESSION_CLOSED');
      expect(await stored(sessionId)).toHaveLength(2);
    });

    it('a non-participant, and a session that does not exist', async () => {
      const sessionId = await open();
      expect(await rejectionOf(send(sessionId, otherCustomer))).toBe('NOT_A_PARTICIPANT');
      expect(await rejectionOf(send(sessionId, agent))).toBe('NOT_A_PARTICIPANT'); // not joined
      expect(await rejectionOf(send(randomUUID(), customer))).toBe('NOT_A_PARTICIPANT');
      expect(await stored(sessionId)).toHaveLength(1);
    });

    it('a role that may not send the command', async () => {
      const sessionId = await open();
      expect(await rejectionOf(service.submit({ kind: 'join', sessionId, payload: {}, actor: customer }))).toBe('FORBIDDEN');
      expect(await rejectionOf(send(sessionId, auditor))).toBe('FORBIDDEN');
      expect(await stored(sessionId)).toHaveLength(1);
    });

    it('a role that may not send the command, told in words what it may not do', async () => {
      const sessionId = await open();
      const refusal = (kind: ChatCommandRequest['kind'], actor: ChatCommandRequest['actor']) =>
        service.submit({ kind, sessionId, payload: {}, actor }).then(() => 'accepted', (error: Error) => error.message);
      expect(await Promise.all([refusal('messages', auditor), refusal('read', auditor), refusal('rating', agent), refusal('join', customer)])).toEqual([
        'an auditor may not send messages', 'an auditor may not mark messages read', 'an agent may not rate a chat', 'a customer may not join a chat',
      ]);
    });

    it('a rating before the session is closed', async () => {
      const sessionId = await open();
      expect(await rejectionOf(service.submit({ kind: 'rating', sessionId, payload: { rating: 4 }, actor: customer }))).toBe('RATING_NOT_ALLOWED');
    });
  });

  it('answers UNAVAILABLE, storing nothing, while the database cannot be reached', async () => {
    const proxy = await startTcpProxy(Number(new URL(databaseUrl).port));
    const viaProxy = new URL(databaseUrl);
    viaProxy.port = String(proxy.port);
    const flakyPool = await createDatabasePool(viaProxy.toString());
    const flaky = await node(new PostgresEventStore(flakyPool), pool);
    const sessionId = await open();
    await flaky.submit({ kind: 'messages', sessionId, payload: { messageId: randomUUID(), body: 'before' }, actor: customer });

    await proxy.cut();
    const lost = { kind: 'messages', sessionId, payload: { messageId: randomUUID(), body: 'during' }, actor: customer } as const;
    expect(await rejectionOf(flaky.submit(lost))).toBe('UNAVAILABLE');
    await proxy.restore();
    await flaky.submit({ kind: 'messages', sessionId, payload: { messageId: randomUUID(), body: 'after' }, actor: customer });

    expect((await stored(sessionId)).map((e) => (e.data as { body?: string }).body)).toEqual([undefined, 'before', 'after']);
    await flakyPool.end();
    await proxy.close();
  });
});
