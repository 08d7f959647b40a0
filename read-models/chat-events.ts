import { z } from 'zod';
import type { RecordedEvent } from '../src/event-store/event-store.js';
import { type ChatSessionEvent, type Rating, streamNameOf } from '../src/chat-session/chat-session.events.js';
import { EventNotApplicable } from './projection.js';

/** A stored chat event, validated, with what the projectors need of its envelope. */
export type ChatEvent = ChatSessionEvent & {
  readonly sessionId: string;
  readonly eventId: string;
  readonly revision: bigint;
  readonly position: bigint;
  /** ISO-8601, from the metadata: when it happened, as the hash chain records it. */
  readonly occurredAt: string;
  readonly recorded: RecordedEvent;
};

const uuid = z.string().uuid();
const participant = z.enum(['user', 'agent']);
const rating = z.number().refine((value): value is Rating => Number.isInteger(value) && value >= 1 && value <= 5, 'a rating is an integer from 1 to 5');

type DataSchemas = { readonly [T in ChatSessionEvent['type']]: z.ZodType<Extract<ChatSessionEvent, { type: T }>['data'], z.ZodTypeDef, unknown> };

/** The data of each event of the catalog (DESIGN.md, "Stream and event catalog"). */
const dataSchemas: DataSchemas = {
  ChatSessionOpened: z.object({
    sessionId: uuid, customerId: z.string().min(1), subject: z.string(), reservationId: z.string().optional(), locale: z.string().optional(),
  }),
  AgentJoined: z.object({ sessionId: uuid, agentId: z.string().min(1), agentName: z.string() }),
  AgentLeft: z.object({ sessionId: uuid, agentId: z.string().min(1) }),
  ChatMessageSent: z.object({
    sessionId: uuid, messageId: uuid, senderId: z.string().min(1), senderType: participant, body: z.string(), attachmentUrl: z.string().optional(),
  }),
  MessagesRead: z.object({ sessionId: uuid, readerId: z.string().min(1), readerType: participant, upToMessageId: uuid }),
  ChatSessionClosed: z.object({ sessionId: uuid, closedBy: z.string().min(1), reason: z.string().optional() }),
  ChatSessionRated: z.object({ sessionId: uuid, rating, comment: z.string().optional() }),
};

const metadataSchema = z.object({ occurredAt: z.string().datetime({ offset: true }) });

/** Whether `type` is in the catalog. */
export function isChatEventType(type: string): type is ChatSessionEvent['type'] {
  return Object.hasOwn(dataSchemas, type);
}

/**
 * The chat event a stored event is, or `undefined` when its type is not in the catalog (an
 * event of a newer version of the app: skipped, not an error).
 * @throws {EventNotApplicable} when the type is known but the data, the metadata's `occurredAt`
 * or the stream name do not match the catalog.
 */
export function parseChatEvent(recorded: RecordedEvent): ChatEvent | undefined {
  const { type } = recorded;
  if (!isChatEventType(type)) return undefined;
  const data = dataSchemas[type].safeParse(recorded.data);
  if (!data.success) throw new EventNotApplicable(recorded, `invalid data: ${describe(data.error)}`);
  const metadata = metadataSchema.safeParse(recorded.metadata);
  if (!metadata.success) throw new EventNotApplicable(recorded, `invalid metadata: ${describe(metadata.error)}`);
  const { sessionId } = data.data;
  if (recorded.streamName !== streamNameOf(sessionId)) {
    throw new EventNotApplicable(recorded, `data.sessionId ${sessionId} is not the session of stream ${recorded.streamName}`);
  }
  const { eventId, revision, position } = recorded;
  const event = { type, data: data.data } as ChatSessionEvent;
  // The event spread last, as in `stampEvents`: one hidden class for all, not one each.
  return { sessionId, eventId, revision, position, occurredAt: metadata.data.occurredAt, recorded, ...event };
}

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}
