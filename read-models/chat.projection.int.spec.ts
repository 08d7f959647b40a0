import { randomUUID } from 'node:crypto';
import { sql } from 'slonik';
import { z } from 'zod';
import { createTestDatabase } from '../test/database.js';
import { startWriteSide } from '../test/write-side.js';
import { systemLineId } from '../src/chat-session/chat-session.events.js';
import type { ChatCommandRequest, ChatSessionService } from '../src/chat-session/chat-session.service.js';
import { type LogPosition, START } from '../src/event-store/event-store.js';
import { CHAT_TABLES, chatProjection } from './chat.projection.js';
import { readCheckpoint, writeCheckpoint } from './checkpoints.js';
import { takeTransactionLock } from './locks.js';
import { applyEvents, CheckpointMoved, projectBatch } from './projection-batch.js';
import { EventNotApplicable } from './projection.js';
import { agent, conversation, customer, eventually, listenForNotices, openTestLog, tableContents, type TestLog } from './testing/fixtures.js';

/** An event as some other writer may have stored it: in which stream, with what. */
type RawEvent = { stream: string; type: string; data: unknown; metadata?: Record<string, unknown> };

/** Known events the projection must refuse: what, the event in a session `opened` (another: `other`), the reason given. */
const refusals: Array<[string, (opened: string, other: string) => RawEvent, string]> = [
  ['an event of a session never opened', (_opened, other) => ({ stream: other, type: 'AgentJoined', data: { sessionId: other, agentId: 'a', agentName: 'A' } }), 'was never opened'],
  ['a second opening', (opened) => ({ stream: opened, type: 'ChatSessionOpened', data: { sessionId: opened, customerId: 'c', subject: 'again' } }), 'was opened already'],
  ['a read receipt of a message not in the session', (opened) => ({ stream: opened, type: 'MessagesRead', data: { sessionId: opened, readerId: 'a', readerType: 'agent', upToMessageId: randomUUID() } }), 'is not in session'],
  ['data of another session than its stream', (opened, other) => ({ stream: opened, type: 'AgentLeft', data: { sessionId: other, agentId: 'a' } }), 'is not the session of stream'],
  ['a rating out of range', (opened) => ({ stream: opened, type: 'ChatSessionRated', data: { sessionId: opened, rating: 6 } }), 'rating: a rating is an integer from 1 to 5'],
  ['a time the database cannot store', (opened) => ({ stream: opened, type: 'AgentLeft', data: { sessionId: opened, agentId: 'a' }, metadata: { occurredAt: '0000-01-01T00:00:00Z' } }), 'out of range'],
];

describe('the chat projection', () => {
  let log: TestLog;
  let service: ChatSessionService;

  beforeEach(async () => {
    log = await openTestLog(await createTestDatabase());
    // Its customer opens more sessions than the limit, which has its own spec (stomp-limits).
    service = (await startWriteSide(log.store, log.pool, { MAX_OPEN_SESSIONS_PER_CUSTOMER: '100' })).service;
  });
  afterEach(() => log.close());

  const chatEvents = (after: LogPosition = START) => log.store.readAll({ after, category: chatProjection.category });
  /** Projects, as one batch of the live runner, every event after the stored checkpoint. */
  const projectNew = async () => {
    const checkpoint = await readCheckpoint(log.pool, chatProjection.name);
    const events = await chatEvents(checkpoint);
    return events.length === 0 ? undefined : projectBatch(log.pool, chatProjection, events, checkpoint);
  };
  const session = (sessionId: string) => log.pool.one(sql.unsafe`SELECT * FROM chat_sessions WHERE session_id = ${sessionId}`);
  const messages = (sessionId: string) => log.pool.any(sql.unsafe`SELECT * FROM chat_messages WHERE session_id = ${sessionId} ORDER BY revision`);
  const submit = (kind: ChatCommandRequest['kind'], sessionId: string, payload: object, actor: ChatCommandRequest['actor']) =>
    service.submit({ kind, sessionId, payload, actor });
  const send = async (sessionId: string, actor: ChatCommandRequest['actor'], body: string, extra: object = {}) => {
    const messageId = randomUUID();
    await submit('messages', sessionId, { messageId, body, ...extra }, actor);
    return messageId;
  };

  it('writes every column of a whole conversation: open, join, messages both ways, reads, leave, close, rate', async () => {
    const sessionId = randomUUID();
    await service.submit({ kind: 'open', payload: { sessionId, subject: 'Flat tyre on the A7' }, actor: customer });
    await submit('join', sessionId, {}, agent);
    const hello = await send(sessionId, customer, 'Hello, my car has a flat tyre');
    const where = await send(sessionId, customer, 'I am at exit 12', { attachmentUrl: 'https://example.com/tyre.jpg' });
    const longAnswer = `Help is on its way.\n\nA van will reach you within 40 minutes; ${'please stay in a safe place '.repeat(5)}`.trim();
    const answer = await send(sessionId, agent, longAnswer);
    await submit('read', sessionId, { upToMessageId: answer }, customer);
    await submit('read', sessionId, { upToMessageId: hello }, agent);
    await submit('leave', sessionId, {}, agent);
    await submit('close', sessionId, { reason: 'solved' }, customer);
    await submit('rating', sessionId, { rating: 5, comment: 'Quick help' }, customer);

    await projectNew();

    const events = await chatEvents();
    const at = (revision: number) => new Date((events[revision]!.metadata as { occurredAt: string }).occurredAt);
    expect(events.map((e) => e.type)).toEqual([
      'ChatSessionOpened', 'AgentJoined', 'ChatMessageSent', 'ChatMessageSent', 'ChatMessageSent',
      'MessagesRead', 'MessagesRead', 'AgentLeft', 'ChatSessionClosed', 'ChatSessionRated',
    ]);
    expect(await session(sessionId)).toEqual({
      session_id: sessionId,
      user_id: customer.id,
      agent_id: null, // the agent left
      agent_name: null,
      subject: 'Flat tyre on the A7',
      start_time: at(0),
      end_time: at(8),
      session_status: 'closed',
      rating: 5,
      rating_comment: 'Quick help',
      message_count: 3,
      last_message_at: at(4),
      last_message_preview: [...longAnswer.replace(/\s+/g, ' ')].slice(0, 120).join(''),
      unread_for_user: 0, // read up to the agent's only message
      unread_for_agent: 1, // read up to "Hello": "I am at exit 12" is unread
      revision: 9n,
    });
    const line = (revision: number, fields: object) => ({
      session_id: sessionId, attachment_url: null, timestamp: at(revision), revision: BigInt(revision), position: events[revision]!.position, ...fields,
    });
    const text = { message_type: 'text' };
    expect(await messages(sessionId)).toEqual([
      line(1, { message_id: systemLineId(events[1]!.eventId), sender_type: 'system', sender_id: agent.id, message_content: 'Ada joined', message_type: 'join' }),
      line(2, { message_id: hello, sender_type: 'user', sender_id: customer.id, message_content: 'Hello, my car has a flat tyre', ...text }),
      line(3, { message_id: where, sender_type: 'user', sender_id: customer.id, message_content: 'I am at exit 12', ...text, attachment_url: 'https://example.com/tyre.jpg' }),
      line(4, { message_id: answer, sender_type: 'agent', sender_id: agent.id, message_content: longAnswer, ...text }),
      line(7, { message_id: systemLineId(events[7]!.eventId), sender_type: 'system', sender_id: agent.id, message_content: 'Ada left', message_type: 'leave' }),
      line(8, { message_id: systemLineId(events[8]!.eventId), sender_type: 'system', sender_id: customer.id, message_content: 'The customer closed the chat: solved', message_type: 'close' }),
    ]);
  });

  it("gives system lines ids no message may have: a customer who sends one with the join line's id is refused, and the projection goes on", async () => {
    const sessionId = randomUUID();
    await service.submit({ kind: 'open', payload: { sessionId, subject: 'Keys' }, actor: customer });
    await submit('join', sessionId, {}, agent);
    await projectNew();
    const [joinLine] = await messages(sessionId);
    expect(joinLine).toMatchObject({ message_type: 'join', message_id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-8/) });

    await expect(submit('messages', sessionId, { messageId: joinLine!.message_id, body: 'Mine now' }, customer)).rejects.toMatchObject({
      code: 'INVALID_COMMAND',
      message: expect.stringContaining("must not be a UUID of version 8, which marks the server's own lines"),
    });
    await send(sessionId, customer, 'Hello');
    await projectNew();
    expect((await messages(sessionId)).map((line) => line.message_content)).toEqual(['Ada joined', 'Hello']);
  });

  it('keeps the unread counters exact through messages and read receipts on both sides', async () => {
    const sessionId = randomUUID();
    const counters = async () => {
      await projectNew();
      const row = await session(sessionId);
      return { user: row.unread_for_user, agent: row.unread_for_agent, count: row.message_count, preview: row.last_message_preview };
    };
    await service.submit({ kind: 'open', payload: { sessionId, subject: 'Invoice' }, actor: customer });
    await submit('join', sessionId, {}, agent);
    const u1 = await send(sessionId, customer, 'one');
    await send(sessionId, customer, 'two');
    expect(await counters()).toEqual({ user: 0, agent: 2, count: 2, preview: 'two' });
    const a1 = await send(sessionId, agent, 'three   \n\t spaced');
    expect(await counters()).toEqual({ user: 1, agent: 2, count: 3, preview: 'three spaced' });
    await submit('read', sessionId, { upToMessageId: u1 }, agent);
    expect(await counters()).toMatchObject({ user: 1, agent: 1 });
    const u3 = await send(sessionId, customer, 'four');
    await send(sessionId, agent, 'five');
    expect(await counters()).toMatchObject({ user: 2, agent: 2 });
    await submit('read', sessionId, { upToMessageId: u3 }, customer);
    expect(await counters()).toMatchObject({ user: 1, agent: 2 });
    // Reading up to one's own message reads every message of the other side before it.
    await submit('read', sessionId, { upToMessageId: a1 }, agent);
    expect(await counters()).toMatchObject({ user: 1, agent: 1 });
    await submit('read', sessionId, { upToMessageId: u3 }, agent);
    expect(await counters()).toEqual({ user: 1, agent: 0, count: 5, preview: 'five' });
  });

  it('names the agent in the line of a close by the agent', async () => {
    const sessionId = randomUUID();
    await service.submit({ kind: 'open', payload: { sessionId, subject: 'Keys' }, actor: customer });
    await submit('join', sessionId, {}, agent);
    await submit('close', sessionId, {}, agent);
    await projectNew();
    expect((await messages(sessionId)).map((m) => m.message_content)).toEqual(['Ada joined', 'Ada closed the chat']);
    expect(await session(sessionId)).toMatchObject({ session_status: 'closed', agent_id: agent.id, end_time: expect.any(Date) });
  });

  it('keeps the name of the agent a session is with, as the join gave it, live and when projected again from the log', async () => {
    const bea = { id: 'agent-2', role: 'agent', name: 'Bea' } as const;
    const sessionId = randomUUID();
    const agentOf = async () => {
      const row = await session(sessionId);
      return { id: row.agent_id, name: row.agent_name };
    };
    await service.submit({ kind: 'open', payload: { sessionId, subject: 'Keys' }, actor: customer });
    await projectNew();
    expect(await agentOf()).toEqual({ id: null, name: null });
    await submit('join', sessionId, {}, agent);
    await projectNew();
    expect(await agentOf()).toEqual({ id: agent.id, name: 'Ada' });
    await submit('leave', sessionId, {}, agent);
    await projectNew();
    expect(await agentOf()).toEqual({ id: null, name: null });
    await submit('join', sessionId, {}, bea);
    await submit('close', sessionId, {}, bea);
    await projectNew();
    expect(await agentOf()).toEqual({ id: bea.id, name: 'Bea' });

    // A rebuild's way: every event in one batch, into empty tables.
    const events = await chatEvents();
    await log.pool.query(sql.unsafe`TRUNCATE chat_sessions, chat_messages`);
    await log.pool.transaction((transaction) => applyEvents(transaction, chatProjection, CHAT_TABLES, events));
    expect(await agentOf()).toEqual({ id: bea.id, name: 'Bea' });
  });

  it('changes nothing when the same events are applied again', async () => {
    const sessions = [randomUUID(), randomUUID()];
    for (const sessionId of sessions) await log.chat.append(sessionId, conversation(sessionId, 3));
    await projectNew();
    const before = await tableContents(log.pool, CHAT_TABLES);
    const events = await chatEvents();

    for (const replay of [events, events.slice(3, 9), [...events].reverse()]) {
      const again = await log.pool.transaction((transaction) => applyEvents(transaction, chatProjection, CHAT_TABLES, replay));
      expect(again).toEqual({ projected: replay, unknown: 0 });
      expect(await tableContents(log.pool, CHAT_TABLES)).toEqual(before);
    }
    expect(before.sessions).toHaveLength(2);
    expect(before.messages).toHaveLength(2 * 5);
  });

  it('builds the same rows whatever the batches the log is cut into', async () => {
    const sessionId = randomUUID();
    await service.submit({ kind: 'open', payload: { sessionId, subject: 'Deposit' }, actor: customer });
    await submit('join', sessionId, {}, agent);
    const u1 = await send(sessionId, customer, 'one');
    const a1 = await send(sessionId, agent, 'two');
    await send(sessionId, customer, 'three');
    await submit('read', sessionId, { upToMessageId: u1 }, agent);
    await submit('read', sessionId, { upToMessageId: a1 }, customer);
    await send(sessionId, agent, 'four');
    await submit('leave', sessionId, {}, agent);
    await submit('close', sessionId, {}, customer);
    const events = await chatEvents();
    const projectedIn = async (size: number) => {
      await log.pool.query(sql.unsafe`TRUNCATE chat_sessions, chat_messages`);
      for (let start = 0; start < events.length; start += size) {
        await log.pool.transaction((transaction) => applyEvents(transaction, chatProjection, CHAT_TABLES, events.slice(start, start + size)));
      }
      return tableContents(log.pool, CHAT_TABLES);
    };

    const whole = await projectedIn(events.length);
    expect(whole.sessions).toEqual([expect.objectContaining({ unread_for_user: 1, unread_for_agent: 1, message_count: 4, session_status: 'closed' })]);
    for (const size of [1, 2, 3, 5]) expect(await projectedIn(size)).toEqual(whole);
  });

  it('reads a session row once in a live run: later batches take it from memory, until a batch fails', async () => {
    const memory = chatProjection.remember!();
    const statements: string[] = [];
    const noted = noting(log.pool, statements);
    const projectRemembering = async (upTo?: number) => {
      const checkpoint = await readCheckpoint(log.pool, chatProjection.name);
      return projectBatch(noted, chatProjection, (await chatEvents(checkpoint)).slice(0, upTo), checkpoint, memory);
    };
    const sessionReads = () => statements.filter((text) => text.includes('FROM "chat_sessions"')).length;
    const sessionId = randomUUID();
    await service.submit({ kind: 'open', payload: { sessionId, subject: 'Child seat' }, actor: customer });
    await projectRemembering();
    expect(sessionReads()).toBe(1);

    await send(sessionId, customer, 'one');
    await projectRemembering();
    await send(sessionId, customer, 'two');
    await projectRemembering();
    expect(sessionReads()).toBe(1);
    expect(await session(sessionId)).toMatchObject({ message_count: 2, unread_for_agent: 2, revision: 2n });

    await send(sessionId, customer, 'three');
    await log.chat.appendRaw(sessionId, 'ChatMessageSent', { sessionId, messageId: randomUUID(), senderId: 'x', senderType: 'user', body: 42 });
    await expect(projectRemembering()).rejects.toBeInstanceOf(EventNotApplicable);
    const readsSoFar = sessionReads();
    await projectRemembering(1);
    expect(sessionReads()).toBe(readsSoFar + 1);
    expect(await session(sessionId)).toMatchObject({ message_count: 3, unread_for_agent: 3, revision: 3n });
  });

  it('writes rows, checkpoint and notices of a batch together, or none of them when an event fails', async () => {
    const listener = await listenForNotices(log.url);
    const sessionId = randomUUID();
    await log.chat.append(sessionId, conversation(sessionId, 3).slice(0, 3));
    const bad = await log.chat.appendRaw(sessionId, 'ChatMessageSent', { sessionId, messageId: randomUUID(), senderId: 'x', senderType: 'user', body: 42 });
    await log.chat.append(sessionId, conversation(sessionId, 3).slice(3, 4));
    const events = await chatEvents();

    const failure = await projectBatch(log.pool, chatProjection, events, START).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EventNotApplicable);
    expect((failure as EventNotApplicable).event).toMatchObject({ eventId: bad, position: events[3]!.position, revision: 3n });
    expect(await tableContents(log.pool, CHAT_TABLES)).toEqual({ sessions: [], messages: [] });
    expect(await readCheckpoint(log.pool, chatProjection.name)).toEqual(START);

    // Notices arrive in commit order: the first ones to arrive are the next batch's.
    await projectBatch(log.pool, chatProjection, events.slice(0, 3), START);
    await eventually(() => listener.notices.length, (count) => count >= 3);
    expect(listener.notices.map((n) => n.eventId)).toEqual(events.slice(0, 3).map((e) => e.eventId));
    expect(await readCheckpoint(log.pool, chatProjection.name)).toEqual(events[2]!.logPosition);
    expect((await tableContents(log.pool, CHAT_TABLES)).messages).toHaveLength(2);
    await listener.close();
  });

  it('skips and counts an event of an unknown type, and announces only what it projects', async () => {
    const listener = await listenForNotices(log.url);
    const sessionId = randomUUID();
    await log.chat.append(sessionId, conversation(sessionId, 3).slice(0, 2));
    await log.chat.appendRaw(sessionId, 'ChatSessionTransferred', { sessionId, toAgentId: 'agent-2' });
    await log.chat.append(sessionId, conversation(sessionId, 3).slice(2, 3));
    const events = await chatEvents();

    const batch = await projectBatch(log.pool, chatProjection, events, START);

    expect(batch.unknown).toBe(1);
    expect(batch.projected.map((e) => e.type)).toEqual(['ChatSessionOpened', 'AgentJoined', 'ChatMessageSent']);
    expect(batch.checkpoint).toEqual(events[3]!.logPosition);
    expect(await session(sessionId)).toMatchObject({ revision: 3n, message_count: 1 });
    await eventually(() => listener.notices.length, (count) => count >= 3);
    expect(listener.notices.map((n) => n.type)).toEqual(['ChatSessionOpened', 'AgentJoined', 'ChatMessageSent']);
    await listener.close();
  });

  it('announces each projected event with its place, in full when it fits in a NOTIFY and marked truncated when not', async () => {
    const listener = await listenForNotices(log.url);
    const sessionId = randomUUID();
    await log.chat.append(sessionId, conversation(sessionId, 3).slice(0, 2));
    const big = randomUUID();
    await log.chat.append(sessionId, [{ type: 'ChatMessageSent', data: { sessionId, messageId: big, senderId: customer.id, senderType: 'user', body: '€'.repeat(4000) } }]);
    await projectNew();
    const events = await chatEvents();

    await eventually(() => listener.notices.length, (count) => count >= 3);
    const place = (event: (typeof events)[number]) => ({
      eventId: event.eventId,
      position: String(event.position),
      logPosition: { commit: String(event.logPosition.commit), prepare: String(event.logPosition.prepare) },
    });
    expect(listener.notices).toEqual([
      { sessionId, revision: '0', type: 'ChatSessionOpened', ...place(events[0]!), data: events[0]!.data, metadata: events[0]!.metadata },
      { sessionId, revision: '1', type: 'AgentJoined', ...place(events[1]!), data: events[1]!.data, metadata: events[1]!.metadata },
      { sessionId, revision: '2', type: 'ChatMessageSent', ...place(events[2]!), truncated: true },
    ]);
    expect((await messages(sessionId)).at(-1)).toMatchObject({ message_id: big, message_content: '€'.repeat(4000) });
    await listener.close();
  });

  it('keeps a message id reused in another session as a message of each', async () => {
    const [first, second] = [randomUUID(), randomUUID()];
    const messageId = randomUUID();
    for (const sessionId of [first, second]) {
      await log.chat.append(sessionId, [
        ...conversation(sessionId, 3).slice(0, 2),
        { type: 'ChatMessageSent', data: { sessionId, messageId, senderId: customer.id, senderType: 'user', body: `in ${sessionId}` } },
      ]);
    }
    await projectNew();
    expect((await messages(first)).at(-1)).toMatchObject({ message_id: messageId, message_content: `in ${first}` });
    expect((await messages(second)).at(-1)).toMatchObject({ message_id: messageId, message_content: `in ${second}` });
  });

  it('refuses a message whose id its session has already, in the same batch or an earlier one, and stores nothing of the batch', async () => {
    const listener = await listenForNotices(log.url);
    const memory = chatProjection.remember!();
    const sessionId = randomUUID();
    await log.chat.append(sessionId, conversation(sessionId, 1).slice(0, 3));
    const messageId = ((await chatEvents()).at(-1)!.data as { messageId: string }).messageId;
    const project = async () => {
      const checkpoint = await readCheckpoint(log.pool, chatProjection.name);
      return projectBatch(log.pool, chatProjection, await chatEvents(checkpoint), checkpoint, memory).catch((error: unknown) => error);
    };

    const repeated = await log.chat.appendRaw(sessionId, 'ChatMessageSent', { sessionId, messageId, senderId: agent.id, senderType: 'agent', body: 'again' });
    const refusal = { event: { eventId: repeated }, reason: `message id ${messageId} is taken in session ${sessionId}` };
    expect(await project()).toMatchObject(refusal);
    expect(await tableContents(log.pool, CHAT_TABLES)).toEqual({ sessions: [], messages: [] });
    expect(await readCheckpoint(log.pool, chatProjection.name)).toEqual(START);

    const stored = await chatEvents();
    await projectBatch(log.pool, chatProjection, stored.slice(0, 3), START, memory); // the message, and its session remembered
    await log.chat.append(sessionId, conversation(sessionId, 0).slice(-2)); // events after the repeat, in its batch
    const before = await tableContents(log.pool, CHAT_TABLES);
    expect(await project()).toMatchObject(refusal);
    expect(await tableContents(log.pool, CHAT_TABLES)).toEqual(before);
    expect(await readCheckpoint(log.pool, chatProjection.name)).toEqual(stored[2]!.logPosition);
    await eventually(() => listener.notices.length, (count) => count >= 3);
    expect(listener.notices.map((notice) => notice.eventId)).toEqual(stored.slice(0, 3).map((event) => event.eventId));
    await listener.close();
  });

  it('waits for a rebuild\'s swap holding the write lock, then finds the checkpoint it stored and writes nothing', async () => {
    const sessionId = randomUUID();
    await log.chat.append(sessionId, conversation(sessionId, 2).slice(0, 3));
    const events = await chatEvents();
    await projectBatch(log.pool, chatProjection, events.slice(0, 2), START);
    const before = await tableContents(log.pool, CHAT_TABLES);

    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let swapped!: () => void;
    const locked = new Promise<void>((resolve) => (swapped = resolve));
    const swap = log.pool.transaction(async (transaction) => {
      await takeTransactionLock(transaction, 'write', chatProjection.name);
      await writeCheckpoint(transaction, chatProjection.name, events[2]!.logPosition); // as a swap stores the rebuild's
      swapped();
      await released;
    });
    await locked;
    let settled = false;
    const batch = projectBatch(log.pool, chatProjection, events.slice(2), events[1]!.logPosition).then(
      (committed) => committed, (error: unknown) => error).finally(() => (settled = true));
    await eventually(() => waitingForTheWriteLock(log), (waiting) => waiting);
    expect(settled).toBe(false);
    release();
    await swap;

    expect(await batch).toBeInstanceOf(CheckpointMoved);
    expect(await tableContents(log.pool, CHAT_TABLES)).toEqual(before);
  });

  it.each(refusals)('refuses %s, naming the event', async (_, eventOf, reason) => {
    const opened = randomUUID();
    await log.chat.append(opened, conversation(opened, 0).slice(0, 1));
    const { stream, type, data, metadata } = eventOf(opened, randomUUID());
    const eventId = await log.chat.appendRaw(stream, type, data, metadata);
    const failure = await projectNew().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EventNotApplicable);
    expect(failure).toMatchObject({ event: { eventId, type }, reason: expect.stringContaining(reason) });
  });
});

/** Whether a session waits for an advisory lock (the projection's write lock, in these specs). */
async function waitingForTheWriteLock(log: TestLog): Promise<boolean> {
  return log.pool.oneFirst(sql.type(z.object({ waiting: z.boolean() }))`
    SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND NOT granted) AS waiting`);
}

/** `connection`, noting the text of each statement run through it, or through its transactions. */
function noting<T extends object>(connection: T, statements: string[]): T {
  return new Proxy(connection, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (property === 'transaction') {
        return (handler: (transaction: object) => unknown, ...rest: unknown[]) =>
          value.call(target, (transaction: object) => handler(noting(transaction, statements)), ...rest);
      }
      return (...args: unknown[]) => {
        const query = args[0] as { sql?: unknown } | undefined;
        if (typeof query?.sql === 'string') statements.push(query.sql);
        return value.apply(target, args);
      };
    },
  });
}
