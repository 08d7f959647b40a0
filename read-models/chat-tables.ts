import type { CommonQueryMethods, FragmentSqlToken } from 'slonik';
import { z } from 'zod';
import type { ChatEvent } from './chat-events.js';
import { type ChatRows, type ReadMessage, type StoredChat, keyOf } from './chat-fold.js';
import type { MessageRow } from './chat-messages.projector.js';
import type { SessionRow } from './chat-sessions.projector.js';
import type { ChatTables } from './chat.projection.js';
import { sql } from './sql.js';

/*
 * The chat tables, read and written set-based: a few statements per batch, whatever its size.
 * Times travel as text both ways, so that a stored time is written back to the microsecond.
 */

const sessionRow = z.object({
  session_id: z.string(), user_id: z.string(), agent_id: z.string().nullable(), agent_name: z.string().nullable(), subject: z.string(),
  start_time: z.string(), end_time: z.string().nullable(), session_status: z.enum(['waiting', 'active', 'closed']),
  rating: z.number().nullable(), rating_comment: z.string().nullable(), message_count: z.number(),
  last_message_at: z.string().nullable(), last_message_preview: z.string().nullable(),
  unread_for_user: z.number(), unread_for_agent: z.number(), revision: z.bigint(),
}).transform((row): SessionRow => ({
  sessionId: row.session_id, userId: row.user_id, agentId: row.agent_id, agentName: row.agent_name, subject: row.subject,
  startTime: row.start_time, endTime: row.end_time, status: row.session_status,
  rating: row.rating, ratingComment: row.rating_comment, messageCount: row.message_count,
  lastMessageAt: row.last_message_at, lastMessagePreview: row.last_message_preview,
  unreadForUser: row.unread_for_user, unreadForAgent: row.unread_for_agent, revision: row.revision,
}));

const readMessageRow = z.object({
  session_id: z.string(), message_id: z.string(), revision: z.bigint(), later_from_user: z.bigint(), later_from_agent: z.bigint(),
});

const joinLineRow = z.object({ session_id: z.string(), agent_id: z.string(), message_content: z.string() });

const insertedRow = z.object({ inserted: z.bigint() });

const positionRow = z.object({ position: z.bigint() });

/**
 * What the fold (`foldChatEvents`) needs of the tables for a batch: the rows of its sessions
 * (those `remembered` gives are not read), and, in the sessions stored already (the others have
 * no lines yet), the messages its read receipts name and the join lines of the agents who leave
 * or close.
 */
export async function loadStoredChat(
  connection: CommonQueryMethods,
  tables: ChatTables,
  events: readonly ChatEvent[],
  remembered: (sessionId: string) => SessionRow | undefined = () => undefined,
): Promise<StoredChat> {
  const sessions = new Map<string, SessionRow>();
  const unknown: string[] = [];
  for (const sessionId of new Set(events.map((event) => event.sessionId))) {
    const row = remembered(sessionId);
    if (row === undefined) unknown.push(sessionId);
    else sessions.set(sessionId, row);
  }
  if (unknown.length > 0) for (const row of await loadSessions(connection, tables, unknown)) sessions.set(row.sessionId, row);
  const ofStoredSessions = events.filter((event) => sessions.has(event.sessionId));
  const receipts = ofStoredSessions.flatMap((event) => (event.type === 'MessagesRead' ? [[event.sessionId, event.data.upToMessageId]] : []));
  const agents = ofStoredSessions.flatMap((event) =>
    event.type === 'AgentLeft' ? [[event.sessionId, event.data.agentId]] : event.type === 'ChatSessionClosed' ? [[event.sessionId, event.data.closedBy]] : []);
  return {
    sessions,
    readMessages: receipts.length === 0 ? new Map() : await loadReadMessages(connection, tables, receipts),
    joinLines: agents.length === 0 ? new Map() : await loadJoinLines(connection, tables, agents),
  };
}

async function loadSessions(connection: CommonQueryMethods, tables: ChatTables, sessionIds: readonly string[]): Promise<readonly SessionRow[]> {
  return connection.any(sql.type(sessionRow)`
    SELECT session_id, user_id, agent_id, agent_name, subject, start_time::text, end_time::text, session_status, rating, rating_comment,
      message_count, last_message_at::text, last_message_preview, unread_for_user, unread_for_agent, revision
    FROM ${sql.identifier([tables.sessions])} WHERE session_id = ANY(${sql.array(sessionIds, 'uuid')})`);
}

/** The text messages named, each with the count of each side's messages after it in its session. */
async function loadReadMessages(connection: CommonQueryMethods, tables: ChatTables, named: string[][]): Promise<Map<string, ReadMessage>> {
  const messages = sql.identifier([tables.messages]);
  const rows = await connection.any(sql.type(readMessageRow)`
    SELECT m.session_id, m.message_id, m.revision, later.from_user AS later_from_user, later.from_agent AS later_from_agent
    FROM ${sql.unnest(named, ['uuid', 'uuid'])} AS named(session_id, message_id)
    JOIN ${messages} m ON m.session_id = named.session_id AND m.message_id = named.message_id AND m.message_type = 'text'
    CROSS JOIN LATERAL (
      SELECT count(*) FILTER (WHERE o.sender_type = 'user') AS from_user, count(*) FILTER (WHERE o.sender_type = 'agent') AS from_agent
      FROM ${messages} o WHERE o.session_id = m.session_id AND o.revision > m.revision) AS later`);
  return new Map(rows.map((row) => [
    keyOf(row.session_id, row.message_id),
    { revision: row.revision, laterFrom: { user: Number(row.later_from_user), agent: Number(row.later_from_agent) } },
  ]));
}

/** The latest join line of each (session, agent) named. */
async function loadJoinLines(connection: CommonQueryMethods, tables: ChatTables, named: string[][]): Promise<Map<string, string>> {
  const rows = await connection.any(sql.type(joinLineRow)`
    SELECT DISTINCT ON (named.session_id, named.agent_id) named.session_id, named.agent_id, m.message_content
    FROM ${sql.unnest(named, ['uuid', 'text'])} AS named(session_id, agent_id)
    JOIN ${sql.identifier([tables.messages])} m
      ON m.session_id = named.session_id AND m.sender_id = named.agent_id AND m.message_type = 'join'
    ORDER BY named.session_id, named.agent_id, m.revision DESC`);
  return new Map(rows.map((row) => [keyOf(row.session_id, row.agent_id), row.message_content]));
}

/**
 * Writes a batch's rows in one statement: its lines (inserted once: a line stored already is
 * left as it is) and the rows of its sessions (each only over an older row: a replay changes
 * nothing).
 * @returns the first line, in log order, whose place is taken by another line (its message id
 * in its session, or its revision); the caller must then roll back what was written.
 */
export async function writeChatRows(connection: CommonQueryMethods, tables: ChatTables, rows: ChatRows): Promise<MessageRow | undefined> {
  if (rows.lines.length === 0 && rows.sessions.length === 0) return undefined;
  const inserted = await connection.oneFirst(sql.type(insertedRow)`
    WITH ${rows.sessions.length === 0 ? sql.fragment`` : sql.fragment`upserted AS (${upsertSessions(tables, rows.sessions)}),`}
      inserted AS (${rows.lines.length === 0 ? sql.fragment`SELECT WHERE false` : insertLines(tables, rows.lines)})
    SELECT count(*) AS inserted FROM inserted`);
  return inserted < rows.lines.length ? firstLineNotStored(connection, tables, rows.lines) : undefined;
}

/**
 * An SQL expression that writes a batch's rows to the live tables when `guard` holds, and counts
 * them (`write_live_chat_rows`, migration 0005): the rows of its sessions (each only over an
 * older row) and its lines, all new (a live run's fold makes a line only for an event its
 * session has not had): a line whose place is taken fails the whole statement.
 */
export function liveChatWrite(rows: ChatRows, guard: FragmentSqlToken): FragmentSqlToken {
  const sessions = rows.sessions.map((row) => ({
    session_id: row.sessionId, user_id: row.userId, agent_id: row.agentId, agent_name: row.agentName, subject: row.subject,
    start_time: row.startTime, end_time: row.endTime, session_status: row.status, rating: row.rating,
    rating_comment: row.ratingComment, message_count: row.messageCount, last_message_at: row.lastMessageAt,
    last_message_preview: row.lastMessagePreview, unread_for_user: row.unreadForUser, unread_for_agent: row.unreadForAgent,
    revision: String(row.revision),
  }));
  const lines = rows.lines.map((line) => ({
    message_id: line.messageId, session_id: line.sessionId, sender_type: line.senderType, sender_id: line.senderId,
    message_content: line.content, message_type: line.messageType, attachment_url: line.attachmentUrl,
    timestamp: line.timestamp, revision: String(line.revision), position: String(line.position),
  }));
  return sql.fragment`(SELECT write_live_chat_rows(${JSON.stringify(sessions)}::json, ${JSON.stringify(lines)}::json) WHERE ${guard})`;
}

/**
 * Inserts the lines, returning a row for each one inserted; a line whose place is taken is left
 * out (`write_live_chat_rows` inserts the same rows in the live tables).
 */
function insertLines(tables: ChatTables, lines: readonly MessageRow[]) {
  return sql.fragment`
    INSERT INTO ${sql.identifier([tables.messages])} (
      message_id, session_id, sender_type, sender_id, message_content, message_type, attachment_url, "timestamp", revision, position)
    SELECT * FROM ${sql.unnest(
      lines.map((line) => [
        line.messageId, line.sessionId, line.senderType, line.senderId, line.content, line.messageType,
        line.attachmentUrl, line.timestamp, line.revision, line.position,
      ]),
      ['uuid', 'uuid', 'text', 'text', 'text', 'text', 'text', 'timestamptz', 'int8', 'int8'],
    )} AS batch_line
    ON CONFLICT DO NOTHING
    RETURNING 1`;
}

/** The first of the lines that is not stored as itself (each event's line has its own log position). */
async function firstLineNotStored(connection: CommonQueryMethods, tables: ChatTables, lines: readonly MessageRow[]): Promise<MessageRow | undefined> {
  const position = await connection.maybeOneFirst(sql.type(positionRow)`
    SELECT line.position
    FROM ${sql.unnest(lines.map((line) => [line.sessionId, line.messageId, line.position]), ['uuid', 'uuid', 'int8'])}
      WITH ORDINALITY AS line(session_id, message_id, position, place)
    WHERE NOT EXISTS (
      SELECT FROM ${sql.identifier([tables.messages])} m
      WHERE m.session_id = line.session_id AND m.message_id = line.message_id AND m.position = line.position)
    ORDER BY line.place LIMIT 1`);
  return lines.find((line) => line.position === position);
}

/**
 * Inserts new sessions' rows and overwrites stored ones that are older than the batch's (as
 * `write_live_chat_rows` does in the live tables).
 */
function upsertSessions(tables: ChatTables, rows: readonly SessionRow[]) {
  return sql.fragment`
    INSERT INTO ${sql.identifier([tables.sessions])} AS stored (
      session_id, user_id, agent_id, agent_name, subject, start_time, end_time, session_status, rating, rating_comment,
      message_count, last_message_at, last_message_preview, unread_for_user, unread_for_agent, revision)
    SELECT * FROM ${sql.unnest(
      rows.map((row) => [
        row.sessionId, row.userId, row.agentId, row.agentName, row.subject, row.startTime, row.endTime, row.status, row.rating, row.ratingComment,
        row.messageCount, row.lastMessageAt, row.lastMessagePreview, row.unreadForUser, row.unreadForAgent, row.revision,
      ]),
      ['uuid', 'text', 'text', 'text', 'text', 'timestamptz', 'timestamptz', 'text', 'int2', 'text', 'int4', 'timestamptz', 'text', 'int4', 'int4', 'int8'],
    )} AS batch_session
    ON CONFLICT (session_id) DO UPDATE SET
      user_id = EXCLUDED.user_id, agent_id = EXCLUDED.agent_id, agent_name = EXCLUDED.agent_name, subject = EXCLUDED.subject,
      start_time = EXCLUDED.start_time, end_time = EXCLUDED.end_time, session_status = EXCLUDED.session_status,
      rating = EXCLUDED.rating, rating_comment = EXCLUDED.rating_comment, message_count = EXCLUDED.message_count,
      last_message_at = EXCLUDED.last_message_at, last_message_preview = EXCLUDED.last_message_preview,
      unread_for_user = EXCLUDED.unread_for_user, unread_for_agent = EXCLUDED.unread_for_agent, revision = EXCLUDED.revision
    WHERE stored.revision < EXCLUDED.revision`;
}
