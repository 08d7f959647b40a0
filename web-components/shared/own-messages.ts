import type { OutboxEntry } from './outbox.js';
import { describeRejection } from './rejections.js';

/** Where a message of one's own stands, as the widget shows it. */
export type Delivery = 'queued' | 'sending' | 'stored' | 'read' | 'failed';

/** A message of one's own not in the conversation's events (yet, or ever: refused). */
export interface OwnPending {
  readonly messageId: string;
  readonly body: string;
  readonly createdAt: number;
  readonly code?: string;
  readonly reason?: string;
}

/**
 * One's own messages of `sessionId` that its events do not hold: stored but not delivered
 * on the topic yet, waiting in the outbox (with the reason, when the server refused it for now),
 * or refused. In the order they were written.
 */
export function pendingLines(
  outbox: readonly OutboxEntry[],
  confirmed: readonly OwnPending[],
  failures: readonly OwnPending[],
  sessionId: string,
  online: boolean,
  inConversation: (messageId: string) => boolean,
): (OwnPending & { delivery: Delivery })[] {
  const queued = outbox
    .filter((entry) => entry.destination === `/app/chat/${sessionId}/messages`)
    .map((entry) => ({
      messageId: String(entry.body.messageId),
      body: String(entry.body.body),
      createdAt: entry.createdAt ?? 0,
      ...(entry.refusedWith === undefined
        ? { delivery: (entry.state === 'sending' || online ? 'sending' : 'queued') as Delivery }
        : { delivery: 'queued' as Delivery, code: entry.refusedWith, reason: describeRejection(entry.refusedWith) }),
    }));
  const lines = [
    ...confirmed.map((line) => ({ ...line, delivery: 'stored' as Delivery })),
    ...queued,
    ...failures.map((line) => ({ ...line, delivery: 'failed' as Delivery })),
  ];
  return lines.filter((line) => !inConversation(line.messageId)).sort((a, b) => a.createdAt - b.createdAt);
}
