import { evolve, initialState } from '../chat-session/chat-session.decider.js';
import type { ChatSessionEvent, EventMetadata } from '../chat-session/chat-session.events.js';
import { streamNameOf } from '../chat-session/chat-session.events.js';
import { type ChainVerification, verifyChain } from '../chat-session/hash-chain.js';
import type { EventStore, RecordedEvent } from '../event-store/event-store.js';

/** The session has no events. */
export class SessionNotFound extends Error {
  override readonly name = 'SessionNotFound';
}

/** A point in a session's history that it does not have; the message names the bound. */
export class PointOutOfRange extends Error {
  override readonly name = 'PointOutOfRange';
}

/**
 * The stored history cannot be replayed as it is: it lacks a revision, or does not start with
 * the session's opening. Only an edit of the store makes one; `…/verify` says where.
 */
export class HistoryBroken extends Error {
  override readonly name = 'HistoryBroken';
}

/** A stored event with every piece of its metadata, as auditors read it. */
export interface AuditedEvent {
  readonly revision: number;
  readonly position: string;
  readonly eventId: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly recordedAt: string;
}

/** A session as it was at one point of its history (DESIGN.md, `…/state`). */
export interface SessionAt {
  readonly sessionId: string;
  readonly revision: number;
  readonly status: 'waiting' | 'active' | 'closed';
  readonly customerId: string;
  readonly agentId: string | null;
  readonly rating: { readonly rating: number; readonly comment?: string } | null;
  readonly transcript: readonly TranscriptLine[];
}

export interface TranscriptLine {
  readonly messageId: string;
  readonly senderType: 'user' | 'agent';
  readonly senderId: string;
  readonly body: string;
  readonly sentAt: string;
}

export type HistoryPoint = { readonly revision: number } | { readonly at: Date } | Record<string, never>;

/**
 * Every event of a session, in revision order.
 * @throws {SessionNotFound} when the session has no events.
 */
export async function sessionHistory(store: EventStore, sessionId: string): Promise<AuditedEvent[]> {
  const events = await store.readStream(streamNameOf(sessionId));
  if (events.length === 0) throw new SessionNotFound(`no session ${sessionId}`);
  return events.map(toAuditedEvent);
}

/**
 * The session rebuilt by replaying its events, with the write side's own `evolve`, up to a
 * revision, or up to an instant (the events that occurred at or before it, up to the first that
 * occurred after it); the whole history when no point is given.
 * @throws {PointOutOfRange} for a revision past the last one or an instant before the first event.
 * @throws {HistoryBroken} when a revision is missing, or the first event is not the opening.
 */
export function sessionAt(sessionId: string, history: readonly AuditedEvent[], point: HistoryPoint): SessionAt {
  const gap = history.findIndex((event, index) => event.revision !== index);
  if (gap >= 0) {
    throw new HistoryBroken(`the stored history of session ${sessionId} lacks revision ${gap}: it cannot be replayed (see …/verify)`);
  }
  const last = history.length - 1;
  let upTo = last;
  if ('revision' in point) {
    if (point.revision < 0 || point.revision > last) throw new PointOutOfRange(`revision must be from 0 to ${last}`);
    upTo = point.revision;
  } else if ('at' in point) {
    // Up to the first event stamped after the instant: times follow revisions but for a command
    // that waited for the stream (another node's append first, say), stamped when it came in.
    const after = history.findIndex((event) => Date.parse(occurredAt(event)) > point.at.getTime());
    upTo = after === -1 ? last : after - 1;
    if (upTo < 0) throw new PointOutOfRange(`at must not be before the session opened (${occurredAt(history[0]!)})`);
  }
  const replayed = history.slice(0, upTo + 1);
  const state = replayed.reduce((current, event) => evolve(current, asDomainEvent(event)), initialState());
  if (state.status === 'none') throw new HistoryBroken(`the stored history of session ${sessionId} does not start with ChatSessionOpened`);
  return {
    sessionId,
    revision: upTo,
    status: state.status,
    customerId: state.customerId,
    agentId: 'agentId' in state ? (state.agentId ?? null) : null,
    rating: state.status === 'closed' && state.rating ? state.rating : null,
    transcript: replayed.flatMap((event) => {
      const domainEvent = asDomainEvent(event);
      if (domainEvent.type !== 'ChatMessageSent') return [];
      const { messageId, senderType, senderId, body } = domainEvent.data;
      return [{ messageId, senderType, senderId, body, sentAt: occurredAt(event) }];
    }),
  };
}

/** Recomputes the session's hash chain; names the first revision that does not hold. */
export function verifySession(history: readonly AuditedEvent[]): ChainVerification {
  return verifyChain(history.map((event) => ({ type: event.type, data: event.data, metadata: event.metadata as EventMetadata })));
}

const CSV_COLUMNS = [
  'revision', 'position', 'event_id', 'type', 'occurred_at', 'actor_id', 'actor_role',
  'correlation_id', 'causation_id', 'prev_hash', 'hash', 'data',
] as const;

/**
 * The history as CSV (RFC 4180), one event per line. A field that a spreadsheet would take for a
 * formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed with `'`.
 */
export function historyAsCsv(history: readonly AuditedEvent[]): string {
  const lines = history.map((event) => {
    const metadata = event.metadata as Partial<EventMetadata>;
    return [
      String(event.revision), event.position, event.eventId, event.type, metadata.occurredAt ?? '',
      metadata.actor?.id ?? '', metadata.actor?.role ?? '', metadata.correlationId ?? '', metadata.causationId ?? '',
      metadata.prevHash ?? '', metadata.hash ?? '', JSON.stringify(event.data),
    ].map(csvField).join(',');
  });
  return `${[CSV_COLUMNS.join(','), ...lines].join('\r\n')}\r\n`;
}

function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function toAuditedEvent(event: RecordedEvent): AuditedEvent {
  return {
    revision: Number(event.revision),
    position: String(event.position),
    eventId: event.eventId,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    recordedAt: event.createdAt.toISOString(),
  };
}

function asDomainEvent(event: AuditedEvent): ChatSessionEvent {
  return { type: event.type, data: event.data } as ChatSessionEvent;
}

function occurredAt(event: AuditedEvent): string {
  return String(event.metadata.occurredAt);
}
