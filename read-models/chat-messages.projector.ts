import { systemLineId } from '../src/chat-session/chat-session.events.js';
import type { ChatEvent } from './chat-events.js';

/** A row of `chat_messages`; `timestamp` is text, as a session row's times are. */
export interface MessageRow {
  readonly messageId: string;
  readonly sessionId: string;
  readonly senderType: 'user' | 'agent' | 'system';
  readonly senderId: string;
  readonly content: string;
  readonly messageType: 'text' | 'join' | 'leave' | 'close';
  readonly attachmentUrl: string | null;
  readonly timestamp: string;
  readonly revision: bigint;
  readonly position: bigint;
}

/** What a system line says of the session's participants, as the session stands before the event. */
export interface Participants {
  isCustomer(participantId: string): boolean;
  /** The name the agent last joined the session with: see {@link agentNameIn}. */
  agentName(agentId: string): string;
}

const JOINED = ' joined';

/**
 * The transcript line of a chat event: a participant's message, or a system line when an agent
 * joins or leaves or the session closes ("Ada joined"). A system line's id is its event's id.
 * `undefined` for the events that add no line.
 */
export function lineOf(event: ChatEvent, participants: Participants): MessageRow | undefined {
  switch (event.type) {
    case 'ChatMessageSent': {
      const { messageId, senderType, senderId, body, attachmentUrl } = event.data;
      return rowOf(event, messageId, senderType, senderId, body, 'text', attachmentUrl ?? null);
    }
    case 'AgentJoined':
      return systemLine(event, 'join', event.data.agentId, `${event.data.agentName}${JOINED}`);
    case 'AgentLeft':
      return systemLine(event, 'leave', event.data.agentId, `${participants.agentName(event.data.agentId)} left`);
    case 'ChatSessionClosed': {
      const { closedBy, reason } = event.data;
      const closer = participants.isCustomer(closedBy) ? 'The customer' : participants.agentName(closedBy);
      return systemLine(event, 'close', closedBy, `${closer} closed the chat${reason ? `: ${reason}` : ''}`);
    }
    case 'ChatSessionOpened':
    case 'MessagesRead':
    case 'ChatSessionRated':
      return undefined;
  }
}

/**
 * An agent's name as its join line says it ("Ada joined": the only place the read model keeps
 * it), or the agent's id when there is no such line.
 */
export function agentNameIn(joinLine: string | undefined, agentId: string): string {
  return joinLine?.endsWith(JOINED) ? joinLine.slice(0, -JOINED.length) : agentId;
}

function systemLine(event: ChatEvent, messageType: 'join' | 'leave' | 'close', senderId: string, content: string): MessageRow {
  return rowOf(event, systemLineId(event.eventId), 'system', senderId, content, messageType, null);
}

/** The row, placed in the session at its event's time, revision and log position. */
function rowOf(
  event: ChatEvent, messageId: string, senderType: MessageRow['senderType'], senderId: string, content: string,
  messageType: MessageRow['messageType'], attachmentUrl: string | null,
): MessageRow {
  const { sessionId, occurredAt: timestamp, revision, position } = event;
  return { messageId, sessionId, senderType, senderId, content, messageType, attachmentUrl, timestamp, revision, position };
}
