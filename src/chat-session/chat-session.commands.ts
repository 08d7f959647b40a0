/**
 * The commands of a chat session, and the schemas of the part of each that a client supplies
 * (DESIGN.md, "STOMP contract"). The rest of a command (who sends it, the session id of the
 * destination) comes from the authenticated connection, never from the payload.
 */
import { z } from 'zod';
import { type ParticipantType, type Rating, SYSTEM_LINE_UUID_VERSION } from './chat-session.events.js';
import { characterCount, hasVisibleText, isWellFormedText } from './text.js';

/** A customer opens a session; its id is chosen by the client, so a retry is harmless. */
export type OpenChatSession = {
  readonly type: 'OpenChatSession';
  readonly data: {
    readonly sessionId: string;
    readonly customerId: string;
    readonly subject: string;
    readonly reservationId?: string;
    readonly locale?: string;
  };
};

/** An agent takes a waiting session. */
export type JoinChatSession = {
  readonly type: 'JoinChatSession';
  readonly data: { readonly sessionId: string; readonly agentId: string; readonly agentName: string };
};

/** The assigned agent hands the session back. */
export type LeaveChatSession = {
  readonly type: 'LeaveChatSession';
  readonly data: { readonly sessionId: string; readonly agentId: string };
};

/** A participant writes; `messageId` is the client's idempotency key. */
export type SendChatMessage = {
  readonly type: 'SendChatMessage';
  readonly data: {
    readonly sessionId: string;
    readonly messageId: string;
    readonly senderId: string;
    readonly senderType: ParticipantType;
    readonly body: string;
    readonly attachmentUrl?: string;
  };
};

/** A participant has read every message up to and including `upToMessageId`. */
export type MarkMessagesRead = {
  readonly type: 'MarkMessagesRead';
  readonly data: {
    readonly sessionId: string;
    readonly readerId: string;
    readonly readerType: ParticipantType;
    readonly upToMessageId: string;
  };
};

/** A participant closes the session. */
export type CloseChatSession = {
  readonly type: 'CloseChatSession';
  readonly data: {
    readonly sessionId: string;
    readonly closedBy: string;
    readonly closerType: ParticipantType;
    readonly reason?: string;
  };
};

/** The customer rates the closed session. */
export type RateChatSession = {
  readonly type: 'RateChatSession';
  readonly data: {
    readonly sessionId: string;
    readonly customerId: string;
    readonly rating: Rating;
    readonly comment?: string;
  };
};

/** Every command a chat session decides on. */
export type ChatSessionCommand =
  | OpenChatSession
  | JoinChatSession
  | LeaveChatSession
  | SendChatMessage
  | MarkMessagesRead
  | CloseChatSession
  | RateChatSession;

/**
 * A UUID, lower-cased: the same id in another letter case must not name another stream or
 * message (PostgreSQL's `uuid` columns would see them as one).
 */
const uuid = () => z.string().uuid('must be a UUID').toLowerCase();

/** Trimmed, valid Unicode text of `min` to `max` characters (code points). */
function text(max: number, min = 0) {
  return z
    .string()
    .trim()
    .refine(isWellFormedText, 'must be valid Unicode text')
    .refine((value) => characterCount(value) >= min && (min === 0 || hasVisibleText(value)), 'must not be empty')
    .refine((value) => characterCount(value) <= max, `must be at most ${max} characters`);
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

function isRating(value: number): value is Rating {
  return Number.isInteger(value) && value >= 1 && value <= 5;
}

/** The most UTF-16 units of a body the schema lets through; the decider applies the real limit. */
const MAX_BODY_UNITS = 64 * 1024;

/** The client-supplied payload of each SEND destination, keyed by the destination's last segment. */
export const commandPayloadSchemas = {
  open: z
    .object({
      sessionId: uuid(),
      subject: text(200, 1),
      reservationId: text(64, 1).optional(),
      locale: z
        .string()
        .max(35, 'must be at most 35 characters')
        .regex(/^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$/, 'must be a language tag such as en-GB')
        .optional(),
    })
    .strict(),
  join: z.object({}).strict(),
  leave: z.object({}).strict(),
  messages: z
    .object({
      messageId: uuid().refine(
        (id) => id[14] !== SYSTEM_LINE_UUID_VERSION,
        `must not be a UUID of version ${SYSTEM_LINE_UUID_VERSION}, which marks the server's own lines`,
      ),
      // Only bounded here: the 1–4,000 characters rule is the decider's (INVALID_MESSAGE).
      body: z.string().max(MAX_BODY_UNITS, `must be at most ${MAX_BODY_UNITS} characters`),
      attachmentUrl: z
        .string()
        .max(2048, 'must be at most 2048 characters')
        .refine(isWellFormedText, 'must be valid Unicode text')
        .refine(isHttpUrl, 'must be an http or https URL')
        .optional(),
    })
    .strict(),
  read: z.object({ upToMessageId: uuid() }).strict(),
  close: z.object({ reason: text(500).optional() }).strict(),
  rating: z
    .object({
      rating: z.number().refine(isRating, 'must be an integer from 1 to 5'),
      comment: text(2000).optional(),
    })
    .strict(),
} as const;

/** A SEND destination's kind: `open`, `join`, `leave`, `messages`, `read`, `close`, `rating`. */
export type CommandPayloadKind = keyof typeof commandPayloadSchemas;

/** The validated (trimmed, lower-cased ids) payload of a kind. */
export type CommandPayload<K extends CommandPayloadKind> = z.output<(typeof commandPayloadSchemas)[K]>;

/** A parsed payload, or a message naming every offending field. */
export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/**
 * Validates a client's JSON payload for a destination kind. Never throws: a refusal's message
 * names each offending field, e.g. `sessionId: must be a UUID; unknown field: foo`.
 */
export function parseCommandPayload<K extends CommandPayloadKind>(
  kind: K,
  payload: unknown,
): ParseResult<CommandPayload<K>> {
  const result = commandPayloadSchemas[kind].safeParse(payload);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, message: result.error.issues.map(describeIssue).join('; ') };
}

function describeIssue(issue: z.ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `unknown field: ${key}`).join('; ');
  }
  if (issue.path.length === 0) return 'payload: must be a JSON object';
  const field = issue.path.join('.');
  if (issue.code !== 'invalid_type') return `${field}: ${issue.message}`;
  return issue.received === 'undefined' ? `${field}: is required` : `${field}: must be a ${issue.expected}`;
}
