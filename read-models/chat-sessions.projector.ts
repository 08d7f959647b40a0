import type { CommonQueryMethods, FragmentSqlToken, IdentifierSqlToken } from 'slonik';
import type { ChatEvent } from './chat-events.js';
import type { ChatTables } from './chat.projection.js';
import { EventNotApplicable } from './projection.js';
import { revisionRow, sql } from './sql.js';

/** How much of a message body `last_message_preview` keeps, in characters (code points). */
const PREVIEW_CHARACTERS = 120;

/**
 * Applies a chat event to its session's row of `tables.sessions`. Every event of the stream
 * moves the row's `revision` to its own, and only an event newer than the row's revision
 * changes it: replaying an event changes nothing.
 * @throws {EventNotApplicable} when the session was never opened, or a read receipt names a
 * message that is not in it.
 */
export async function projectSessionRow(connection: CommonQueryMethods, event: ChatEvent, tables: ChatTables): Promise<void> {
  const sessions = sql.identifier([tables.sessions]);
  switch (event.type) {
    case 'ChatSessionOpened':
      return openSession(connection, sessions, event);
    case 'AgentJoined':
      return updateSession(connection, sessions, event, sql.fragment`agent_id = ${event.data.agentId}, session_status = 'active'`);
    case 'AgentLeft':
      return updateSession(connection, sessions, event, sql.fragment`agent_id = NULL, session_status = 'waiting'`);
    case 'ChatMessageSent':
      return updateSession(connection, sessions, event, messageCounters(event));
    case 'MessagesRead':
      return updateSession(connection, sessions, event, await unreadRecount(connection, tables, event));
    case 'ChatSessionClosed':
      return updateSession(connection, sessions, event, sql.fragment`session_status = 'closed', end_time = ${event.occurredAt}::timestamptz`);
    case 'ChatSessionRated':
      return updateSession(connection, sessions, event, sql.fragment`rating = ${event.data.rating}, rating_comment = ${event.data.comment ?? null}`);
  }
}

async function openSession(connection: CommonQueryMethods, sessions: IdentifierSqlToken, event: ChatEvent & { type: 'ChatSessionOpened' }): Promise<void> {
  const { customerId, subject } = event.data;
  const { rowCount } = await connection.query(sql.typeAlias('void')`
    INSERT INTO ${sessions} (session_id, user_id, subject, start_time, session_status, revision)
    VALUES (${event.sessionId}, ${customerId}, ${subject}, ${event.occurredAt}::timestamptz, 'waiting', ${event.revision})
    ON CONFLICT (session_id) DO NOTHING`);
  if (rowCount === 0) await expectReplay(connection, sessions, event);
}

/** Sets `changes` on the session's row if the event is newer than the row. */
async function updateSession(connection: CommonQueryMethods, sessions: IdentifierSqlToken, event: ChatEvent, changes: FragmentSqlToken): Promise<void> {
  const { rowCount } = await connection.query(sql.typeAlias('void')`
    UPDATE ${sessions} SET ${changes}, revision = ${event.revision}
    WHERE session_id = ${event.sessionId} AND revision < ${event.revision}`);
  if (rowCount === 0) await expectReplay(connection, sessions, event);
}

/**
 * A write that changed no row is fine when the row has seen the event already (a replay).
 * @throws {EventNotApplicable} otherwise: there is no row, or it refused a newer event.
 */
async function expectReplay(connection: CommonQueryMethods, sessions: IdentifierSqlToken, event: ChatEvent): Promise<void> {
  const revision = await connection.maybeOneFirst(sql.type(revisionRow)`
    SELECT revision FROM ${sessions} WHERE session_id = ${event.sessionId}`);
  if (revision === null) throw new EventNotApplicable(event.recorded, `session ${event.sessionId} was never opened`);
  if (revision < event.revision) {
    throw new EventNotApplicable(event.recorded, `session ${event.sessionId} was opened already, at an earlier revision`);
  }
}

/** A message counts, is previewed, and is unread by the other side until it reads it. */
function messageCounters(event: ChatEvent & { type: 'ChatMessageSent' }): FragmentSqlToken {
  const unread = event.data.senderType === 'user' ? sql.identifier(['unread_for_agent']) : sql.identifier(['unread_for_user']);
  return sql.fragment`
    message_count = message_count + 1,
    last_message_at = ${event.occurredAt}::timestamptz,
    last_message_preview = ${previewOf(event.data.body)},
    ${unread} = ${unread} + 1`;
}

/**
 * A read receipt sets the reader's unread counter to the number of the other side's messages
 * after the message read up to, and before the receipt itself (exact on a replay as well).
 * @throws {EventNotApplicable} when that message is not in the session.
 */
async function unreadRecount(connection: CommonQueryMethods, tables: ChatTables, event: ChatEvent & { type: 'MessagesRead' }): Promise<FragmentSqlToken> {
  const { readerType, upToMessageId } = event.data;
  const messages = sql.identifier([tables.messages]);
  const readUpTo = await connection.maybeOneFirst(sql.type(revisionRow)`
    SELECT revision FROM ${messages}
    WHERE session_id = ${event.sessionId} AND message_id = ${upToMessageId} AND message_type = 'text'`);
  if (readUpTo === null) throw new EventNotApplicable(event.recorded, `message ${upToMessageId} is not in session ${event.sessionId}`);
  const [counter, otherSide] = readerType === 'user' ? ['unread_for_user', 'agent'] : ['unread_for_agent', 'user'];
  return sql.fragment`${sql.identifier([counter])} = (
    SELECT count(*) FROM ${messages}
    WHERE session_id = ${event.sessionId} AND sender_type = ${otherSide}
      AND revision > ${readUpTo} AND revision < ${event.revision})`;
}

/** The start of a body as one line: white space runs become one space, cut at {@link PREVIEW_CHARACTERS}. */
function previewOf(body: string): string {
  return [...body.replace(/\s+/g, ' ')].slice(0, PREVIEW_CHARACTERS).join('');
}
