import type { ChatEvent } from './chat-events.js';

/** How much of a message body `last_message_preview` keeps, in characters (code points). */
const PREVIEW_CHARACTERS = 120;

/**
 * A row of `chat_sessions`. Times are text, as PostgreSQL reads a `timestamptz` in and writes
 * it out: a stored time is written back exactly (a `Date` would cut its microseconds).
 */
export interface SessionRow {
  readonly sessionId: string;
  readonly userId: string;
  readonly agentId: string | null;
  /** The name the agent joined with (`AgentJoined`'s `agentName`); null with no agent. */
  readonly agentName: string | null;
  readonly subject: string;
  readonly startTime: string;
  readonly endTime: string | null;
  readonly status: 'waiting' | 'active' | 'closed';
  readonly rating: number | null;
  readonly ratingComment: string | null;
  readonly messageCount: number;
  readonly lastMessageAt: string | null;
  readonly lastMessagePreview: string | null;
  readonly unreadForUser: number;
  readonly unreadForAgent: number;
  /** The stream revision of the last event applied to the row: the idempotency guard. */
  readonly revision: bigint;
}

/** A chat event that changes a session opened before it. */
export type LaterChatEvent = Exclude<ChatEvent, { type: 'ChatSessionOpened' }>;

/** A read receipt's event. */
export type ReadReceipt = Extract<ChatEvent, { type: 'MessagesRead' }>;

/** The row a session's opening creates: waiting for an agent, nothing said yet. */
export function openedSession(event: Extract<ChatEvent, { type: 'ChatSessionOpened' }>): SessionRow {
  return {
    sessionId: event.sessionId, userId: event.data.customerId, agentId: null, agentName: null, subject: event.data.subject,
    startTime: event.occurredAt, endTime: null, status: 'waiting', rating: null, ratingComment: null,
    messageCount: 0, lastMessageAt: null, lastMessagePreview: null, unreadForUser: 0, unreadForAgent: 0,
    revision: event.revision,
  };
}

/**
 * The session's row after an event newer than it; the row's `revision` becomes the event's.
 * @param unreadAfter for a read receipt: how many of the other side's messages follow the
 * message read up to (and precede the receipt); it becomes the reader's unread counter.
 */
export function evolveSession(row: SessionRow, event: LaterChatEvent, unreadAfter: (receipt: ReadReceipt) => number): SessionRow {
  const { revision } = event;
  switch (event.type) {
    case 'AgentJoined':
      return { ...row, revision, agentId: event.data.agentId, agentName: event.data.agentName, status: 'active' };
    case 'AgentLeft':
      return { ...row, revision, agentId: null, agentName: null, status: 'waiting' };
    case 'ChatMessageSent':
      return messageCounted(row, event);
    case 'MessagesRead':
      return event.data.readerType === 'user'
        ? { ...row, revision, unreadForUser: unreadAfter(event) }
        : { ...row, revision, unreadForAgent: unreadAfter(event) };
    case 'ChatSessionClosed':
      return { ...row, revision, status: 'closed', endTime: event.occurredAt };
    case 'ChatSessionRated':
      return { ...row, revision, rating: event.data.rating, ratingComment: event.data.comment ?? null };
  }
}

/** A message counts, is previewed, and is unread by the other side until it reads it. */
function messageCounted(row: SessionRow, event: Extract<ChatEvent, { type: 'ChatMessageSent' }>): SessionRow {
  const fromUser = event.data.senderType === 'user';
  return {
    ...row,
    revision: event.revision,
    messageCount: row.messageCount + 1,
    lastMessageAt: event.occurredAt,
    lastMessagePreview: previewOf(event.data.body),
    unreadForAgent: fromUser ? row.unreadForAgent + 1 : row.unreadForAgent,
    unreadForUser: fromUser ? row.unreadForUser : row.unreadForUser + 1,
  };
}

/** The start of a body as one line: white space runs become one space, cut at {@link PREVIEW_CHARACTERS}. */
function previewOf(body: string): string {
  const oneLine = body.replace(/\s+/g, ' ');
  // No more UTF-16 units than that: no more code points either, nothing to cut.
  return oneLine.length <= PREVIEW_CHARACTERS ? oneLine : [...oneLine].slice(0, PREVIEW_CHARACTERS).join('');
}
