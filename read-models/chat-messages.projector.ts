import type { CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import type { ChatEvent } from './chat-events.js';
import type { ChatTables } from './chat.projection.js';
import { EventNotApplicable } from './projection.js';
import { sql } from './sql.js';

/** A row of `chat_messages` as an event produces it; the envelope adds session, time and place. */
interface MessageLine {
  readonly messageId: string;
  readonly senderType: 'user' | 'agent' | 'system';
  readonly senderId: string;
  readonly content: string;
  readonly messageType: 'text' | 'join' | 'leave' | 'close';
  readonly attachmentUrl?: string;
}

const JOINED = ' joined';

/**
 * Adds the transcript line of a chat event to `tables.messages`: a participant's message, or a
 * system line when an agent joins or leaves or the session closes ("Ada joined"). A system
 * line's id is its event's id, so a replay finds it again; a replayed line changes nothing.
 * @throws {EventNotApplicable} when the message id is taken in the session by another line.
 */
export async function projectMessageRow(connection: CommonQueryMethods, event: ChatEvent, tables: ChatTables): Promise<void> {
  const line = await lineOf(connection, event, tables);
  if (line !== undefined) await insertLine(connection, tables.messages, event, line);
}

async function lineOf(connection: CommonQueryMethods, event: ChatEvent, tables: ChatTables): Promise<MessageLine | undefined> {
  switch (event.type) {
    case 'ChatMessageSent': {
      const { messageId, senderType, senderId, body, attachmentUrl } = event.data;
      return { messageId, senderType, senderId, content: body, messageType: 'text', attachmentUrl };
    }
    case 'AgentJoined':
      return systemLine(event, 'join', event.data.agentId, `${event.data.agentName}${JOINED}`);
    case 'AgentLeft': {
      const name = await agentNameOf(connection, tables, event, event.data.agentId);
      return systemLine(event, 'leave', event.data.agentId, `${name} left`);
    }
    case 'ChatSessionClosed': {
      const { closedBy, reason } = event.data;
      const closer = (await isCustomerOf(connection, tables, event, closedBy)) ? 'The customer' : await agentNameOf(connection, tables, event, closedBy);
      return systemLine(event, 'close', closedBy, `${closer} closed the chat${reason ? `: ${reason}` : ''}`);
    }
    case 'ChatSessionOpened':
    case 'MessagesRead':
    case 'ChatSessionRated':
      return undefined;
  }
}

function systemLine(event: ChatEvent, messageType: 'join' | 'leave' | 'close', senderId: string, content: string): MessageLine {
  return { messageId: event.eventId, senderType: 'system', senderId, content, messageType };
}

async function insertLine(connection: CommonQueryMethods, table: string, event: ChatEvent, line: MessageLine): Promise<void> {
  const messages = sql.identifier([table]);
  const { rowCount } = await connection.query(sql.typeAlias('void')`
    INSERT INTO ${messages} (
      message_id, session_id, sender_type, sender_id, message_content, message_type, attachment_url, "timestamp", revision, position)
    VALUES (
      ${line.messageId}, ${event.sessionId}, ${line.senderType}, ${line.senderId}, ${line.content}, ${line.messageType},
      ${line.attachmentUrl ?? null}, ${event.occurredAt}::timestamptz, ${event.revision}, ${event.position})
    ON CONFLICT DO NOTHING`);
  if (rowCount === 1) return;
  const replayed = await connection.exists(sql.type(z.object({ replayed: z.boolean() }))`
    SELECT true AS replayed FROM ${messages}
    WHERE session_id = ${event.sessionId} AND revision = ${event.revision} AND message_id = ${line.messageId}`);
  if (!replayed) throw new EventNotApplicable(event.recorded, `message id ${line.messageId} is taken in session ${event.sessionId}`);
}

/**
 * The name an agent last joined the session with, before this event: it is in the agent's join
 * line, the only place the read model keeps it. The agent's id when there is none.
 */
async function agentNameOf(connection: CommonQueryMethods, tables: ChatTables, event: ChatEvent, agentId: string): Promise<string> {
  const joinLine = await connection.maybeOneFirst(sql.type(z.object({ message_content: z.string() }))`
    SELECT message_content FROM ${sql.identifier([tables.messages])}
    WHERE session_id = ${event.sessionId} AND sender_id = ${agentId} AND message_type = 'join' AND revision < ${event.revision}
    ORDER BY revision DESC LIMIT 1`);
  return joinLine?.endsWith(JOINED) ? joinLine.slice(0, -JOINED.length) : agentId;
}

async function isCustomerOf(connection: CommonQueryMethods, tables: ChatTables, event: ChatEvent, participantId: string): Promise<boolean> {
  return connection.exists(sql.type(z.object({ customer: z.boolean() }))`
    SELECT true AS customer FROM ${sql.identifier([tables.sessions])}
    WHERE session_id = ${event.sessionId} AND user_id = ${participantId}`);
}
