/**
 * The events of a chat session (DESIGN.md, "Stream and event catalog"): past-tense facts, each
 * `type` equal to its TypeScript name. Optional fields are absent from `data`, never `undefined`,
 * so that the canonical JSON the hash chain covers is the JSON that is stored.
 */

/** Who wrote a message or read receipt: the customer (`user`) or the assigned agent. */
export type ParticipantType = 'user' | 'agent';

/** A customer opened a chat; the session waits for an agent. */
export type ChatSessionOpened = {
  readonly type: 'ChatSessionOpened';
  readonly data: {
    readonly sessionId: string;
    readonly customerId: string;
    readonly subject: string;
    readonly reservationId?: string;
    readonly locale?: string;
  };
};

/** An agent took the session (waiting → active). */
export type AgentJoined = {
  readonly type: 'AgentJoined';
  readonly data: { readonly sessionId: string; readonly agentId: string; readonly agentName: string };
};

/** The assigned agent handed the session back (active → waiting). */
export type AgentLeft = {
  readonly type: 'AgentLeft';
  readonly data: { readonly sessionId: string; readonly agentId: string };
};

/** A participant wrote a message; `body` is stored trimmed. */
export type ChatMessageSent = {
  readonly type: 'ChatMessageSent';
  readonly data: {
    readonly sessionId: string;
    readonly messageId: string;
    readonly senderId: string;
    readonly senderType: ParticipantType;
    readonly body: string;
    readonly attachmentUrl?: string;
  };
};

/** A read receipt: the reader's side has read every message up to and including this one. */
export type MessagesRead = {
  readonly type: 'MessagesRead';
  readonly data: {
    readonly sessionId: string;
    readonly readerId: string;
    readonly readerType: ParticipantType;
    readonly upToMessageId: string;
  };
};

/** Either side closed the session. */
export type ChatSessionClosed = {
  readonly type: 'ChatSessionClosed';
  readonly data: { readonly sessionId: string; readonly closedBy: string; readonly reason?: string };
};

/** The customer rated the closed session (once). */
export type ChatSessionRated = {
  readonly type: 'ChatSessionRated';
  readonly data: { readonly sessionId: string; readonly rating: Rating; readonly comment?: string };
};

/** A rating from 1 (worst) to 5 (best). */
export type Rating = 1 | 2 | 3 | 4 | 5;

/** Every event of a `chat_session-<sessionId>` stream. */
export type ChatSessionEvent =
  | ChatSessionOpened
  | AgentJoined
  | AgentLeft
  | ChatMessageSent
  | MessagesRead
  | ChatSessionClosed
  | ChatSessionRated;

/** Who caused an event, as authenticated at the edge (a JWT's `sub` and `role`). */
export type Actor = {
  readonly id: string;
  readonly role: 'customer' | 'agent' | 'auditor' | 'system';
};

/**
 * The metadata stored with every event. A type alias (not an interface) so that it is
 * assignable to the event store's `Readonly<Record<string, unknown>>`.
 */
export type EventMetadata = {
  /** UUID; the same as the stored event's id. */
  readonly eventId: string;
  /** ISO-8601 instant; part of the hash. */
  readonly occurredAt: string;
  readonly actor: Actor;
  readonly correlationId: string;
  readonly causationId: string;
  /** The previous event's `hash`, or `GENESIS_HASH` for the stream's first event. */
  readonly prevHash: string;
  /** See `hashEvent` in `hash-chain.ts`. */
  readonly hash: string;
};

/** The category of chat-session streams (the part of the stream name before the first dash). */
export const CHAT_SESSION_CATEGORY = 'chat_session';

/**
 * The version of the UUIDs that the read model gives its system lines (join, leave, close):
 * their event's id with this version, which no message may have. Were a line's id a message's,
 * the projection could store that message nowhere (`chat_messages` is keyed by session and id).
 */
export const SYSTEM_LINE_UUID_VERSION = '8';

/** The id of the system line of the event `eventId`: see {@link SYSTEM_LINE_UUID_VERSION}. */
export function systemLineId(eventId: string): string {
  return `${eventId.slice(0, 14)}${SYSTEM_LINE_UUID_VERSION}${eventId.slice(15)}`;
}

/** The name of a session's stream; the only place stream names are built. */
export function streamNameOf(sessionId: string): string {
  return `${CHAT_SESSION_CATEGORY}-${sessionId}`;
}
