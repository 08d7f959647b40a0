import type { SessionEventMessage } from './protocol.js';

export type Side = 'user' | 'agent';

/** A message of the conversation. */
export interface MessageLine {
  readonly kind: 'message';
  readonly messageId: string;
  readonly senderType: Side;
  readonly senderId: string;
  readonly body: string;
  readonly attachmentUrl?: string;
  readonly at: string;
  readonly revision: number;
}

/** A line that says what happened to the session (opened, an agent joined or left, closed, rated). */
export interface SystemLine {
  readonly kind: 'system';
  readonly event: 'opened' | 'joined' | 'left' | 'closed' | 'rated';
  /** Who did it (an agent's or the customer's id). */
  readonly actorId: string;
  /** The agent's name, when an agent did it and it is known. */
  readonly actorName?: string;
  readonly detail?: string;
  readonly at: string;
  readonly revision: number;
}

export type Line = MessageLine | SystemLine;

/** A session as its events tell it: the fold the widget, the console and the replay share. */
export interface Conversation {
  readonly sessionId: string;
  /** The last revision applied; -1 before any. */
  readonly revision: number;
  readonly status: 'none' | 'waiting' | 'active' | 'closed';
  readonly subject?: string;
  readonly customerId?: string;
  readonly reservationId?: string;
  /** The assigned agent (while active, and after closing). */
  readonly agent?: { readonly id: string; readonly name: string };
  /** Names of every agent seen, by id (a line of an agent who left still has a name). */
  readonly agentNames: Readonly<Record<string, string>>;
  readonly lines: readonly Line[];
  /** The revision of each message, by id. */
  readonly messageRevisions: Readonly<Record<string, number>>;
  /** Per side, the revision of the last message it has read (-1: none). */
  readonly readUpTo: Readonly<Record<Side, number>>;
  readonly closedBy?: string;
  readonly rating?: { readonly rating: number; readonly comment?: string };
}

export function emptyConversation(sessionId: string): Conversation {
  return { sessionId, revision: -1, status: 'none', agentNames: {}, lines: [], messageRevisions: {}, readUpTo: { user: -1, agent: -1 } };
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/**
 * The conversation after one more event (pure). Events are expected in revision order, each
 * once (see `SessionLog`); an event type it does not know only moves the revision on.
 */
export function applyEvent(conversation: Conversation, event: SessionEventMessage): Conversation {
  const next: Conversation = { ...conversation, revision: event.revision };
  const { data, occurredAt: at, revision } = event;
  switch (event.type) {
    case 'ChatSessionOpened':
      return {
        ...next,
        status: 'waiting',
        subject: text(data.subject),
        customerId: text(data.customerId),
        ...(typeof data.reservationId === 'string' ? { reservationId: data.reservationId } : {}),
        lines: [...next.lines, { kind: 'system', event: 'opened', actorId: text(data.customerId), detail: text(data.subject), at, revision }],
      };
    case 'AgentJoined': {
      const agent = { id: text(data.agentId), name: text(data.agentName) || text(data.agentId) };
      return {
        ...next,
        status: 'active',
        agent,
        agentNames: { ...next.agentNames, [agent.id]: agent.name },
        lines: [...next.lines, { kind: 'system', event: 'joined', actorId: agent.id, actorName: agent.name, at, revision }],
      };
    }
    case 'AgentLeft': {
      const agentId = text(data.agentId);
      const { agent: _gone, ...rest } = next;
      const line: SystemLine = { kind: 'system', event: 'left', actorId: agentId, at, revision, ...nameOf(next, agentId) };
      return { ...rest, status: 'waiting', lines: [...next.lines, line] };
    }
    case 'ChatMessageSent': {
      const messageId = text(data.messageId);
      const line: MessageLine = {
        kind: 'message',
        messageId,
        senderType: data.senderType === 'agent' ? 'agent' : 'user',
        senderId: text(data.senderId),
        body: text(data.body),
        ...(typeof data.attachmentUrl === 'string' ? { attachmentUrl: data.attachmentUrl } : {}),
        at,
        revision,
      };
      return { ...next, lines: [...next.lines, line], messageRevisions: { ...next.messageRevisions, [messageId]: revision } };
    }
    case 'MessagesRead': {
      const side: Side = data.readerType === 'agent' ? 'agent' : 'user';
      const upTo = next.messageRevisions[text(data.upToMessageId)] ?? -1;
      return upTo > next.readUpTo[side] ? { ...next, readUpTo: { ...next.readUpTo, [side]: upTo } } : next;
    }
    case 'ChatSessionClosed': {
      const closedBy = text(data.closedBy);
      const line: SystemLine = {
        kind: 'system', event: 'closed', actorId: closedBy, at, revision, ...nameOf(next, closedBy),
        ...(typeof data.reason === 'string' ? { detail: data.reason } : {}),
      };
      return { ...next, status: 'closed', closedBy, lines: [...next.lines, line] };
    }
    case 'ChatSessionRated': {
      const rating = { rating: Number(data.rating), ...(typeof data.comment === 'string' ? { comment: data.comment } : {}) };
      const line: SystemLine = { kind: 'system', event: 'rated', actorId: next.customerId ?? '', detail: String(rating.rating), at, revision };
      return { ...next, rating, lines: [...next.lines, line] };
    }
    default:
      return next;
  }
}

function nameOf(conversation: Conversation, id: string): { actorName?: string } {
  const name = conversation.agentNames[id];
  return name === undefined ? {} : { actorName: name };
}

/** The conversation of a list of events, in revision order. */
export function foldEvents(sessionId: string, events: readonly SessionEventMessage[]): Conversation {
  return events.reduce(applyEvent, emptyConversation(sessionId));
}

/** Whether the other side has read a stored message (a read receipt at or after it). */
export function isReadByOtherSide(conversation: Conversation, message: MessageLine): boolean {
  const reader: Side = message.senderType === 'user' ? 'agent' : 'user';
  return conversation.readUpTo[reader] >= message.revision;
}

/** Messages of the other side that `side` has not read yet. */
export function unreadFor(conversation: Conversation, side: Side): MessageLine[] {
  return conversation.lines.filter(
    (line): line is MessageLine => line.kind === 'message' && line.senderType !== side && line.revision > conversation.readUpTo[side],
  );
}

/** Whether a message id is in the conversation already. */
export function hasMessage(conversation: Conversation, messageId: string): boolean {
  return conversation.messageRevisions[messageId] !== undefined;
}
