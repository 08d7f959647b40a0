/**
 * The public contract the components speak (DESIGN.md, "STOMP contract" and "HTTP API"), as
 * types and destination builders. Nothing here knows of the server's code.
 */

/** A session event as a MESSAGE on `/topic/chat/{sessionId}` or `/topic/inbox` carries it. */
export interface SessionEventMessage {
  readonly type: string;
  readonly sessionId: string;
  /** 0-based stream revision. */
  readonly revision: number;
  readonly position?: number;
  /** ISO-8601. */
  readonly occurredAt: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** A typing indicator (`event-type: Typing`, no revision): ephemeral. */
export interface TypingMessage {
  readonly type: 'Typing';
  readonly sessionId: string;
  readonly occurredAt: string;
  readonly data: { readonly senderId: string; readonly senderType: 'user' | 'agent'; readonly typing: boolean };
}

/** Every code a rejection MESSAGE on `/user/queue/errors` can carry. */
export type RejectionCode =
  | 'NOT_A_PARTICIPANT'
  | 'SESSION_CLOSED'
  | 'INVALID_MESSAGE'
  | 'RATING_NOT_ALLOWED'
  | 'FORBIDDEN'
  | 'INVALID_COMMAND'
  | 'UNKNOWN_DESTINATION'
  | 'RATE_LIMITED'
  | 'UNAVAILABLE';

/**
 * Whether the very same command may succeed if sent again later: after `UNAVAILABLE`, and after
 * `RATE_LIMITED` unless it opens a session (then the customer has the most open sessions
 * allowed, which waiting does not change).
 */
export function isRetryable(code: string, destination: string): boolean {
  return code === 'UNAVAILABLE' || (code === 'RATE_LIMITED' && destination !== destinations.open);
}

export type Role = 'customer' | 'agent' | 'auditor';
export type SessionStatus = 'waiting' | 'active' | 'closed';

/** `GET /api/sessions` items. */
export interface SessionView {
  readonly sessionId: string;
  readonly userId: string;
  readonly agentId: string | null;
  /** Null with no agent, and in a row the server projected before it kept agents' names. */
  readonly agentName: string | null;
  readonly subject: string | null;
  readonly status: SessionStatus;
  readonly startTime: string;
  readonly endTime: string | null;
  readonly rating: number | null;
  readonly ratingComment: string | null;
  readonly messageCount: number;
  readonly lastMessageAt: string | null;
  readonly lastMessagePreview: string | null;
  readonly unreadForUser: number;
  readonly unreadForAgent: number;
  readonly revision: number;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/** `GET /api/audit/sessions/{id}/events` items. */
export interface AuditedEvent {
  readonly revision: number;
  readonly position: string;
  readonly eventId: string;
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly recordedAt: string;
}

/** `GET /api/audit/sessions/{id}/verify`. */
export interface ChainVerdict {
  readonly ok: boolean;
  readonly brokenAtRevision?: number;
}

/** The most characters (code points, after trimming) a message body may have, as the server counts. */
export const MAX_MESSAGE_CHARACTERS = 4000;

export const destinations = {
  open: '/app/chat/open',
  command: (sessionId: string, action: 'join' | 'leave' | 'messages' | 'read' | 'typing' | 'close' | 'rating') =>
    `/app/chat/${sessionId}/${action}`,
  sessionTopic: (sessionId: string) => `/topic/chat/${sessionId}`,
  inbox: '/topic/inbox',
  errors: '/user/queue/errors',
} as const;

/** The WebSocket URL of the STOMP endpoint of a server given by its HTTP base URL (`serverUrl`). */
export function stompUrl(server: URL): string {
  const url = new URL('stomp', server);
  url.protocol = server.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** The session event of an audited event (the same shape the STOMP topic delivers). */
export function fromAudited(sessionId: string, event: AuditedEvent): SessionEventMessage {
  const occurredAt = typeof event.metadata.occurredAt === 'string' ? event.metadata.occurredAt : event.recordedAt;
  return { type: event.type, sessionId, revision: event.revision, position: Number(event.position), occurredAt, data: event.data };
}
