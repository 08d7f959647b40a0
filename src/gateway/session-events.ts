/**
 * A session's events and typing indicators as the gateway delivers them, whether they come from
 * a NOTIFY of the projector or from the event store, and the MESSAGE body and headers they make
 * (DESIGN.md, "STOMP contract").
 */
import { CHAT_SESSION_CATEGORY, streamNameOf } from '../chat-session/chat-session.events.js';
import type { EventStore, RecordedEvent } from '../event-store/event-store.js';

/** One event of a session's stream. */
export interface SessionEvent {
  readonly sessionId: string;
  readonly type: string;
  /** 0-based stream revision. */
  readonly revision: bigint;
  /** The event's place in the whole log. */
  readonly position: bigint;
  /** ISO-8601, from the event's metadata. */
  readonly occurredAt: string;
  readonly data: unknown;
}

/** A participant started or stopped typing: ephemeral, never stored. */
export interface TypingIndicator {
  readonly sessionId: string;
  readonly senderId: string;
  readonly senderType: 'user' | 'agent';
  readonly typing: boolean;
  readonly occurredAt: string;
}

/** The headers of a MESSAGE, beyond `subscription`, `message-id` and `destination`. */
export type MessageContent = { readonly headers: Record<string, string>; readonly body: string };

/** Reads a session's events from the event store, the authority every gap is filled from. */
export interface SessionReader {
  /** Up to `maxCount` events of the session from `fromRevision` on, in revision order. */
  read(sessionId: string, fromRevision: bigint, maxCount: number): Promise<SessionEvent[]>;
}

/** A {@link SessionReader} over the event store. */
export function eventStoreReader(store: EventStore): SessionReader {
  return {
    read: async (sessionId, fromRevision, maxCount) =>
      (await store.readStream(streamNameOf(sessionId), { fromRevision, maxCount })).map(sessionEventOf),
  };
}

/** The session event of a stored event of a chat-session stream. */
export function sessionEventOf(event: RecordedEvent): SessionEvent {
  const occurredAt = event.metadata.occurredAt;
  return {
    sessionId: event.streamName.slice(CHAT_SESSION_CATEGORY.length + 1),
    type: event.type,
    revision: event.revision,
    position: event.position,
    occurredAt: typeof occurredAt === 'string' ? occurredAt : event.createdAt.toISOString(),
    data: event.data,
  };
}

/** The event's MESSAGE: `event-type`, `revision`, `position` headers; the JSON body of the contract. */
export function eventMessage(event: SessionEvent): MessageContent {
  const { type, sessionId, revision, position, occurredAt, data } = event;
  return {
    headers: {
      'content-type': 'application/json',
      'event-type': type,
      revision: String(revision),
      position: String(position),
    },
    body: JSON.stringify({ type, sessionId, revision: Number(revision), position: Number(position), occurredAt, data }),
  };
}

/** The indicator's MESSAGE: `event-type: Typing`, no revision. */
export function typingMessage(indicator: TypingIndicator): MessageContent {
  const { sessionId, senderId, senderType, typing, occurredAt } = indicator;
  return {
    headers: { 'content-type': 'application/json', 'event-type': 'Typing' },
    body: JSON.stringify({ type: 'Typing', sessionId, occurredAt, data: { senderId, senderType, typing } }),
  };
}
