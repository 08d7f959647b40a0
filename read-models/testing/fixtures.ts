/**
 * Fixtures of the read-model specs: a database with an event store, a writer of chat events as
 * the write side stamps them, a NOTIFY listener, table dumps and polling with a deadline.
 * Nothing here is used by the app.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { type DatabasePool, sql } from 'slonik';
import { z } from 'zod';
import { type Actor, type ChatSessionEvent, streamNameOf } from '../../src/chat-session/chat-session.events.js';
import { GENESIS_HASH, stampEvents } from '../../src/chat-session/hash-chain.js';
import { createDatabasePool } from '../../src/database/pool.js';
import { type EventStore, type RecordedEvent, compareLogPositions } from '../../src/event-store/event-store.js';
import { PostgresEventStore } from '../../src/event-store/postgres-event-store.js';
import { CHAT_TABLES, chatProjection } from '../chat.projection.js';
import { EVENTS_CHANNEL, type ProjectedEventNotice } from '../notify.js';
import { applyEvents } from '../projection-batch.js';
import type { ProjectionRunner, ProjectionStatus } from '../projection-runner.js';
import type { Tables } from '../projection.js';

/** A test database with its pool and a PostgreSQL event store on it. */
export interface TestLog {
  readonly url: string;
  readonly pool: DatabasePool;
  readonly store: PostgresEventStore;
  readonly chat: ChatWriter;
  close(): Promise<void>;
}

/** Opens a pool and an event store on a fresh database (`createTestDatabase()`'s). */
export async function openTestLog(database: { url: string; drop: () => Promise<void> }): Promise<TestLog> {
  const pool = await createDatabasePool(database.url, { maximumPoolSize: 8 });
  const store = new PostgresEventStore(pool, { pollIntervalMs: 10 });
  return {
    url: database.url,
    pool,
    store,
    chat: new ChatWriter(store),
    close: async () => {
      await pool.end();
      await database.drop();
    },
  };
}

/** A customer, an agent and the ids they act under, as the write side records them. */
export const customer: Actor = { id: 'customer-1', role: 'customer' };
export const agent: Actor & { name: string } = { id: 'agent-1', role: 'agent', name: 'Ada' };

/** Appends chat events as the write side does: stamped, hash-chained, at the expected revision. */
export class ChatWriter {
  private readonly heads = new Map<string, { revision: bigint; hash: string }>();

  constructor(private readonly store: EventStore) {}

  /** Appends `events` to the session's stream in one append; returns their event ids. */
  async append(sessionId: string, events: readonly ChatSessionEvent[], options: { actor?: Actor; at?: Date } = {}): Promise<string[]> {
    const head = this.heads.get(sessionId);
    const stamped = stampEvents(events, {
      prevHash: head?.hash ?? GENESIS_HASH,
      occurredAt: (options.at ?? new Date()).toISOString(),
      actor: options.actor ?? customer,
      correlationId: randomUUID(),
      causationId: randomUUID(),
      eventIds: events.map(() => randomUUID()),
    });
    const { nextExpectedRevision } = await this.store.appendToStream(streamNameOf(sessionId), stamped, {
      expectedRevision: head?.revision ?? 'no_stream',
    });
    this.heads.set(sessionId, { revision: nextExpectedRevision, hash: stamped.at(-1)!.metadata.hash });
    return stamped.map((event) => event.eventId);
  }

  /** Appends an event as stored by some other writer: any type, any data, by default only `occurredAt` as metadata. */
  async appendRaw(sessionId: string, type: string, data: unknown, metadata: Record<string, unknown> = { occurredAt: new Date().toISOString() }): Promise<string> {
    const eventId = randomUUID();
    const { nextExpectedRevision } = await this.store.appendToStream(
      streamNameOf(sessionId),
      [{ eventId, type, data, metadata }],
      { expectedRevision: 'any' },
    );
    // The hash chain is broken from here on; the projection does not check it.
    this.heads.set(sessionId, { revision: nextExpectedRevision, hash: this.heads.get(sessionId)?.hash ?? GENESIS_HASH });
    return eventId;
  }
}

/** The events of a whole conversation: opened, joined, messages both ways with read receipts, closed, rated. */
export function conversation(sessionId: string, messages: number): ChatSessionEvent[] {
  const events: ChatSessionEvent[] = [
    { type: 'ChatSessionOpened', data: { sessionId, customerId: customer.id, subject: `Trouble #${sessionId.slice(0, 4)}` } },
    { type: 'AgentJoined', data: { sessionId, agentId: agent.id, agentName: agent.name } },
  ];
  for (let i = 0; i < messages; i++) {
    const fromUser = i % 3 !== 2;
    const messageId = randomUUID();
    events.push({
      type: 'ChatMessageSent',
      data: { sessionId, messageId, senderId: fromUser ? customer.id : agent.id, senderType: fromUser ? 'user' : 'agent', body: `message ${i} of ${sessionId}` },
    });
    if (i % 4 === 3) events.push({ type: 'MessagesRead', data: { sessionId, readerId: agent.id, readerType: 'agent', upToMessageId: messageId } });
  }
  events.push(
    { type: 'ChatSessionClosed', data: { sessionId, closedBy: customer.id, reason: 'solved' } },
    { type: 'ChatSessionRated', data: { sessionId, rating: 4 } },
  );
  return events;
}

/** Every row of each table, all columns, in primary-key order: to compare read models whole. */
export async function tableContents(pool: DatabasePool, tables: Tables<'sessions' | 'messages'>): Promise<{ sessions: unknown[]; messages: unknown[] }> {
  const rows = z.record(z.unknown());
  const [sessions, messages] = await Promise.all([
    pool.any(sql.type(rows)`SELECT * FROM ${sql.identifier([tables.sessions])} ORDER BY session_id`),
    pool.any(sql.type(rows)`SELECT * FROM ${sql.identifier([tables.messages])} ORDER BY session_id, message_id`),
  ]);
  return { sessions: [...sessions], messages: [...messages] };
}

/** Every chat event of the log, in log order. */
export async function allChatEvents(store: EventStore): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (let page = await store.readAll({ category: chatProjection.category }); page.length > 0; ) {
    events.push(...page);
    page = await store.readAll({ after: page.at(-1)!.logPosition, category: chatProjection.category });
  }
  return events;
}

/**
 * The chat read model as the projector makes it of the whole log in one go, in tables of its
 * own beside the live ones: what the live tables must equal once caught up.
 */
export async function chatProjectedFromScratch(log: TestLog): Promise<{ sessions: unknown[]; messages: unknown[] }> {
  const tables = { sessions: 'expected_chat_sessions', messages: 'expected_chat_messages' };
  for (const role of ['sessions', 'messages'] as const) {
    await log.pool.query(sql.unsafe`DROP TABLE IF EXISTS ${sql.identifier([tables[role]])}`);
    await log.pool.query(sql.unsafe`CREATE TABLE ${sql.identifier([tables[role]])} (LIKE ${sql.identifier([CHAT_TABLES[role]])} INCLUDING ALL)`);
  }
  const events = await allChatEvents(log.store);
  await log.pool.transaction((transaction) => applyEvents(transaction, chatProjection, tables, events));
  return tableContents(log.pool, tables);
}

/**
 * Waits until the chat projection has caught up with the log: its stored checkpoint is at the
 * log's last chat event, and each of `runners` that leads has counted its last batch too (a
 * runner counts a batch a moment after committing it, so its status lags the table for that
 * moment).
 */
export async function waitCaughtUp(log: TestLog, runners: readonly ProjectionRunner[], { timeoutMs }: { timeoutMs?: number } = {}): Promise<void> {
  const end = async () => (await allChatEvents(log.store)).at(-1)?.logPosition;
  const storedAtEnd = async () => {
    const last = await end();
    const stored = await log.pool.maybeOne(sql.unsafe`
      SELECT commit_position, prepare_position FROM projection_checkpoints WHERE projection_name = ${chatProjection.name}`);
    return last === undefined || (stored?.commit_position === last.commit && stored?.prepare_position === last.prepare);
  };
  await eventually(storedAtEnd, Boolean, { what: 'projection caught up', timeoutMs });
  const last = await end();
  const countedToEnd = ({ checkpoint }: ProjectionStatus) => last === undefined || (checkpoint !== undefined && compareLogPositions(checkpoint, last) === 0);
  await eventually(() => runners.map((runner) => runner.status()[0]!).filter((status) => status.holdsLock), (leaders) => leaders.every(countedToEnd), {
    what: 'the leader counting its last batch',
    timeoutMs,
  });
}

/** A LISTEN connection collecting every notice of the projected events. */
export interface NoticeListener {
  readonly notices: ProjectedEventNotice[];
  close(): Promise<void>;
}

export async function listenForNotices(url: string): Promise<NoticeListener> {
  const client = new pg.Client({ connectionString: url });
  const notices: ProjectedEventNotice[] = [];
  client.on('notification', (message) => {
    if (message.channel === EVENTS_CHANNEL && message.payload !== undefined) notices.push(JSON.parse(message.payload) as ProjectedEventNotice);
  });
  await client.connect();
  await client.query(`LISTEN ${EVENTS_CHANNEL}`);
  return { notices, close: () => client.end() };
}

/** Thrown by {@link eventually} when the condition did not hold in time. */
export class ConditionTimedOut extends Error {
  override readonly name = 'ConditionTimedOut';
}

/**
 * Polls `probe` until its value satisfies `condition`, and returns that value.
 * @throws {ConditionTimedOut} with the last value seen, when the deadline passes first.
 */
export async function eventually<T>(
  probe: () => T | Promise<T>,
  condition: (value: T) => boolean,
  { timeoutMs = 10_000, intervalMs = 20, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (condition(value)) return value;
    if (Date.now() > deadline) throw new ConditionTimedOut(`${what} not met within ${timeoutMs} ms; last: ${stringify(value)}`);
    await sleep(intervalMs);
  }
}

function stringify(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))?.slice(0, 2000) ?? String(value);
}
