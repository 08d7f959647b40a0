import type { CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { type RecordedEvent, categoryOf } from '../src/event-store/event-store.js';
import { sql } from './sql.js';

/** The channel on which every projected event is announced, in the projection's transaction. */
export const EVENTS_CHANNEL = 'parley_events';

/** PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more (its default build). */
const MAX_PAYLOAD_BYTES = 7999;

/** The row of a statement that announces: how many notices it sent. */
export const notifiedRow = z.object({ notified: z.bigint() });

/**
 * What a listener (the STOMP gateway) receives for a projected event. Numbers that outgrow a
 * JSON number are strings. `logPosition`: where a listener that lost notices reads the log from.
 * `truncated`: the event did not fit; read it from the event store.
 */
export type ProjectedEventNotice = {
  readonly sessionId: string;
  readonly revision: string;
  readonly type: string;
  readonly eventId: string;
  readonly position: string;
  readonly logPosition: { readonly commit: string; readonly prepare: string };
} & NoticeBody;

/** What a notice carries after its head: the event's data and metadata, or that it did not fit. */
type NoticeBody = { readonly data: unknown; readonly metadata: Readonly<Record<string, unknown>> } | { readonly truncated: true };

/** The NOTIFY payload of an event: in full when it fits, else without its data and metadata. */
function noticeOf(event: RecordedEvent): string {
  const full = JSON.stringify(notice(event, { data: event.data, metadata: event.metadata }));
  if (Buffer.byteLength(full, 'utf8') <= MAX_PAYLOAD_BYTES) return full;
  return JSON.stringify(notice(event, { truncated: true }));
}

/**
 * The notice of `event` with `body`, spread last: on Node 20, `{ ...head, data }` gives every
 * object a hidden class of its own (bench/NOTES.md, 2026-12-05, night).
 */
function notice(event: RecordedEvent, body: NoticeBody): ProjectedEventNotice {
  return {
    sessionId: event.streamName.slice(categoryOf(event.streamName).length + 1),
    revision: String(event.revision),
    type: event.type,
    eventId: event.eventId,
    position: String(event.position),
    logPosition: { commit: String(event.logPosition.commit), prepare: String(event.logPosition.prepare) },
    ...body,
  };
}

/**
 * An SQL expression that announces `events` on {@link EVENTS_CHANNEL}, in order, and counts
 * them; delivered when (and only if) the transaction commits. The notices travel as one JSON
 * array, whose elements `json_array_elements` gives back as written: a `text[]` parameter would
 * escape every quote of every notice on the way in, several times slower for a batch of thousands.
 */
export function announcement(events: readonly RecordedEvent[]) {
  return sql.fragment`(SELECT count(pg_notify(${EVENTS_CHANNEL}, notice::text))
    FROM json_array_elements(${`[${events.map(noticeOf).join(',')}]`}::json) AS notice)`;
}

/** Announces events (see {@link announcement}). */
export async function notifyProjected(connection: CommonQueryMethods, events: readonly RecordedEvent[]): Promise<void> {
  if (events.length === 0) return;
  await connection.query(sql.type(notifiedRow)`SELECT ${announcement(events)} AS notified`);
}
