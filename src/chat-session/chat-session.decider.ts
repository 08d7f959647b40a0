/**
 * The chat session's decider (Emmett's `{ decide, evolve, initialState }`): pure functions, no
 * clock, no ids, no I/O. Time, ids and the actor's identity arrive in the command; metadata and
 * the hash chain are added after deciding (`hash-chain.ts`).
 */
import type {
  CloseChatSession,
  ChatSessionCommand,
  JoinChatSession,
  LeaveChatSession,
  MarkMessagesRead,
  OpenChatSession,
  RateChatSession,
  SendChatMessage,
} from './chat-session.commands.js';
import { ChatSessionRejected } from './chat-session.errors.js';
import type { ChatMessageSent, ChatSessionEvent, ChatSessionOpened, MessagesRead, ParticipantType, Rating } from './chat-session.events.js';
import { MessageIds, tagOf } from './message-ids.js';
import { characterCount, hasVisibleText, isWellFormedText } from './text.js';

/** What every opened session keeps, whatever its status. */
type SessionFacts = {
  readonly sessionId: string;
  readonly customerId: string;
  /** A tag of what it was opened with (`openingTag`): to tell a repeated opening from another chat under its id. */
  readonly openedWith: number;
  /**
   * Every message id in order, tagged with its message (`contentTag`): to answer a repeated send,
   * and to order read receipts.
   */
  readonly messageIds: MessageIds;
  /** Per reader type, the index in `messageIds` of the last message read; -1 when none. */
  readonly lastReadIndex: Readonly<Record<ParticipantType, number>>;
};

/** The customer's rating of a closed session. */
export type SessionRating = { readonly rating: Rating; readonly comment?: string };

/**
 * A session as far as deciding needs it. `waiting`: no agent (`leftBy`: the agent who left last,
 * whose leave again is a no-op); `active`: one assigned agent; `closed`: final, keeps the agent
 * assigned at closing (who may still send read receipts).
 */
export type ChatSessionState =
  | { readonly status: 'none' }
  | (SessionFacts & { readonly status: 'waiting'; readonly leftBy?: string })
  | (SessionFacts & { readonly status: 'active'; readonly agentId: string })
  | (SessionFacts & { readonly status: 'closed'; readonly agentId?: string; readonly rating?: SessionRating });

type Session = Exclude<ChatSessionState, { status: 'none' }>;

/** The longest message body, in characters (Unicode code points) after trimming. */
export const MAX_BODY_CHARACTERS = 4000;

/** The state of a stream with no events. */
export function initialState(): ChatSessionState {
  return { status: 'none' };
}

/**
 * The events a command produces on a session; `[]` for a repeated command that has been applied
 * already (an idempotent success: nothing to append).
 * @throws {ChatSessionRejected} when a business rule refuses the command.
 */
export function decide(command: ChatSessionCommand, state: ChatSessionState): ChatSessionEvent[] {
  switch (command.type) {
    case 'OpenChatSession':
      return open(command.data, state);
    case 'JoinChatSession':
      return join(command.data, state);
    case 'LeaveChatSession':
      return leave(command.data, state);
    case 'SendChatMessage':
      return send(command.data, state);
    case 'MarkMessagesRead':
      return markRead(command.data, state);
    case 'CloseChatSession':
      return close(command.data, state);
    case 'RateChatSession':
      return rate(command.data, state);
  }
  const _never: never = command;
  throw new Error(`unknown command ${JSON.stringify(_never)}`);
}

/**
 * The state after an event. Stored events were all produced by `decide`, so each applies; an
 * event other than the opening on no session (which `decide` never produces) changes nothing,
 * and so does one of a type this release does not know (a newer release's, during a rolling
 * upgrade), as the projection skips it.
 */
export function evolve(state: ChatSessionState, event: ChatSessionEvent): ChatSessionState {
  if (event.type === 'ChatSessionOpened') {
    const { sessionId, customerId } = event.data;
    const openedWith = openingTag(event.data);
    return { status: 'waiting', sessionId, customerId, openedWith, messageIds: MessageIds.empty(), lastReadIndex: { user: -1, agent: -1 } };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'AgentJoined':
      return { ...factsOf(state), status: 'active', agentId: event.data.agentId };
    case 'AgentLeft':
      return { ...factsOf(state), status: 'waiting', leftBy: event.data.agentId };
    case 'ChatMessageSent':
      return { ...state, messageIds: state.messageIds.append(event.data.messageId, contentTag(event.data)) };
    case 'MessagesRead':
      return { ...state, lastReadIndex: readAfter(state, event.data) };
    case 'ChatSessionClosed':
      return { ...state, status: 'closed' };
    case 'ChatSessionRated': {
      const { rating, comment } = event.data;
      return state.status === 'closed' ? { ...state, rating: { rating, ...optional('comment', comment) } } : state;
    }
    default:
      return state;
  }
}

/** The decider as one value, as Emmett's command handlers take it. */
export const chatSessionDecider = { decide, evolve, initialState };

function open(data: OpenChatSession['data'], state: ChatSessionState): ChatSessionEvent[] {
  if (state.status !== 'none') {
    if (state.customerId !== data.customerId) throw notAParticipant();
    if (state.openedWith === openingTag(data)) return [];
    // Another chat under a stored one's id would be acknowledged and never stored.
    throw new ChatSessionRejected('INVALID_COMMAND', 'this session id belongs to another chat; open it with an id of its own');
  }
  const { sessionId, customerId, subject, reservationId, locale } = data;
  const extra = { ...optional('reservationId', reservationId), ...optional('locale', locale) };
  return [{ type: 'ChatSessionOpened', data: { sessionId, customerId, subject, ...extra } }];
}

function join({ agentId, agentName }: JoinChatSession['data'], state: ChatSessionState): ChatSessionEvent[] {
  if (state.status === 'none') throw notAParticipant();
  if (state.status === 'closed') throw sessionClosed();
  if (state.status === 'active') {
    if (state.agentId === agentId) return [];
    throw new ChatSessionRejected('NOT_A_PARTICIPANT', 'the session is handled by another agent');
  }
  return [{ type: 'AgentJoined', data: { sessionId: state.sessionId, agentId, agentName } }];
}

function leave({ agentId }: LeaveChatSession['data'], state: ChatSessionState): ChatSessionEvent[] {
  // Left already, and no agent since: a retry (after an UNAVAILABLE that may have stored it).
  if (state.status === 'waiting' && state.leftBy === agentId) return [];
  const session = participantSession(state, agentId, 'agent');
  if (session.status === 'closed') throw sessionClosed();
  return [{ type: 'AgentLeft', data: { sessionId: session.sessionId, agentId } }];
}

function send(data: SendChatMessage['data'], state: ChatSessionState): ChatSessionEvent[] {
  const { messageId, senderId, senderType, attachmentUrl } = data;
  const body = data.body.trim();
  if (state.status === 'none') throw notAParticipant();
  const stored = state.messageIds.indexOf(messageId);
  // A retry of a stored message (its sender, text and attachment) succeeds whatever happened
  // since: the session closed, or its agent handed it back (after an UNAVAILABLE that stored it).
  if (stored !== -1 && state.messageIds.tagAt(stored) === contentTag({ senderId, senderType, body, attachmentUrl })) return [];
  const session = participantSession(state, senderId, senderType);
  // Another message under a stored one's id would be acknowledged and never stored.
  if (stored !== -1) throw new ChatSessionRejected('INVALID_MESSAGE', 'this message id belongs to another message; send it with an id of its own');
  if (session.status === 'closed') throw sessionClosed();
  const fault = bodyFault(body);
  if (fault !== undefined) throw new ChatSessionRejected('INVALID_MESSAGE', fault);
  const extra = optional('attachmentUrl', attachmentUrl);
  return [{ type: 'ChatMessageSent', data: { sessionId: session.sessionId, messageId, senderId, senderType, body, ...extra } }];
}

function markRead(data: MarkMessagesRead['data'], state: ChatSessionState): ChatSessionEvent[] {
  const { readerId, readerType, upToMessageId } = data;
  const session = participantSession(state, readerId, readerType);
  const index = session.messageIds.indexOf(upToMessageId);
  if (index === -1) throw new ChatSessionRejected('INVALID_MESSAGE', 'no such message in this session');
  if (index <= session.lastReadIndex[readerType]) return [];
  return [{ type: 'MessagesRead', data: { sessionId: session.sessionId, readerId, readerType, upToMessageId } }];
}

function close({ closedBy, closerType, reason }: CloseChatSession['data'], state: ChatSessionState): ChatSessionEvent[] {
  const session = participantSession(state, closedBy, closerType);
  if (session.status === 'closed') return [];
  return [{ type: 'ChatSessionClosed', data: { sessionId: session.sessionId, closedBy, ...optional('reason', reason) } }];
}

function rate({ customerId, rating, comment }: RateChatSession['data'], state: ChatSessionState): ChatSessionEvent[] {
  if (state.status === 'none') throw notAParticipant();
  if (state.customerId !== customerId) {
    if (assignedAgentOf(state) === customerId) throw ratingNotAllowed('only the customer may rate the session');
    throw notAParticipant();
  }
  if (state.status !== 'closed') throw ratingNotAllowed('a session can be rated once it is closed');
  if (state.rating !== undefined) {
    if (state.rating.rating === rating && state.rating.comment === comment) return [];
    throw ratingNotAllowed('the session has been rated already');
  }
  return [{ type: 'ChatSessionRated', data: { sessionId: state.sessionId, rating, ...optional('comment', comment) } }];
}

/**
 * The session, when `id` takes part in it as `type`.
 * @throws {ChatSessionRejected} NOT_A_PARTICIPANT, for a missing session as well, so that an
 * outsider learns nothing about it.
 */
function participantSession(state: ChatSessionState, id: string, type: ParticipantType): Session {
  if (state.status === 'none') throw notAParticipant();
  const participantId = type === 'user' ? state.customerId : assignedAgentOf(state);
  if (participantId !== id) throw notAParticipant();
  return state;
}

function assignedAgentOf(session: Session): string | undefined {
  return session.status === 'waiting' ? undefined : session.agentId;
}

/** What tells one message from another: its sender, its (trimmed) body and its attachment. */
function contentTag({ senderId, senderType, body, attachmentUrl }: Omit<ChatMessageSent['data'], 'sessionId' | 'messageId'>): number {
  return attachmentUrl === undefined ? tagOf(senderType, senderId, body) : tagOf(senderType, senderId, body, attachmentUrl);
}

/** What is wrong with a (trimmed) body, in the words of the rejection; none when it can be stored. */
function bodyFault(trimmed: string): string | undefined {
  if (!isWellFormedText(trimmed)) return 'a message must be valid Unicode text (no lone surrogate) without NUL characters';
  if (!hasVisibleText(trimmed)) return 'a message must have something to read: this one is only white space or invisible characters';
  const length = characterCount(trimmed);
  if (length > MAX_BODY_CHARACTERS) {
    return `a message is ${MAX_BODY_CHARACTERS} characters at most (Unicode code points, trimmed); this one is ${length}`;
  }
  return undefined;
}

function factsOf({ sessionId, customerId, openedWith, messageIds, lastReadIndex }: Session): SessionFacts {
  return { sessionId, customerId, openedWith, messageIds, lastReadIndex };
}

/** The tag of an opening's subject, reservation and locale (an absent one as empty: neither is ever empty). */
function openingTag({ subject, reservationId, locale }: Pick<ChatSessionOpened['data'], 'subject' | 'reservationId' | 'locale'>): number {
  return tagOf(subject, reservationId ?? '', locale ?? '');
}

function readAfter(session: Session, { readerType, upToMessageId }: MessagesRead['data']): SessionFacts['lastReadIndex'] {
  const index = Math.max(session.lastReadIndex[readerType], session.messageIds.indexOf(upToMessageId));
  return readerType === 'user' ? { ...session.lastReadIndex, user: index } : { ...session.lastReadIndex, agent: index };
}

/** `{ [key]: value }`, or `{}` when the value is undefined: optional fields are omitted, never undefined. */
function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function notAParticipant(): ChatSessionRejected {
  return new ChatSessionRejected('NOT_A_PARTICIPANT', 'you are not a participant of this session');
}

function sessionClosed(): ChatSessionRejected {
  return new ChatSessionRejected('SESSION_CLOSED', 'the session is closed');
}

function ratingNotAllowed(message: string): ChatSessionRejected {
  return new ChatSessionRejected('RATING_NOT_ALLOWED', message);
}
