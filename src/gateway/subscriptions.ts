/**
 * What a connection's SUBSCRIBE frames create: the three kinds of subscription of the contract
 * (DESIGN.md, "STOMP contract", server → client), each fed by the node's {@link LiveFeed}.
 */
import type { Logger } from '@nestjs/common';
import type { Principal } from '../auth/tokens.js';
import type { LiveFeed } from './live-feed.js';
import { ERRORS_DESTINATION, INBOX_DESTINATION, sessionTopic } from './routes.js';
import { type MessageContent, type SessionReader, eventMessage, typingMessage } from './session-events.js';
import { SessionStream } from './session-stream.js';

/** One subscription of a connection. */
export interface Subscription {
  readonly kind: 'session' | 'inbox' | 'errors';
  readonly id: string;
  readonly destination: string;
  /** Stops its deliveries and lets go of the feed. */
  close(): void;
}

/** What a subscription sends through: its connection. */
export interface SubscriberOutlet {
  readonly principal: Principal;
  /** Sends a MESSAGE of the subscription (the connection adds `message-id`). */
  message(subscriptionId: string, destination: string, content: MessageContent): void;
  /** Whether the connection's socket can take more now. */
  hasRoom(): boolean;
  /** Resolves when it can take more again. */
  drained(): Promise<void>;
}

/** `/user/queue/errors`: the connection sends its rejections there itself. */
export function errorsSubscription(id: string): Subscription {
  return { kind: 'errors', id, destination: ERRORS_DESTINATION, close: () => {} };
}

/** `/topic/inbox`: every session list change, live only (and what an outage of the feed kept from it). */
export function inboxSubscription(id: string, feed: LiveFeed, outlet: SubscriberOutlet): Subscription {
  const unwatch = feed.watchInbox({
    projected: (event) => outlet.message(id, INBOX_DESTINATION, eventMessage(event)),
    hasRoom: () => outlet.hasRoom(),
    drained: () => outlet.drained(),
  });
  return { kind: 'inbox', id, destination: INBOX_DESTINATION, close: unwatch };
}

export interface SessionSubscriptionOptions {
  readonly id: string;
  readonly sessionId: string;
  /** Events after this revision are delivered: `since-revision`, or the session's revision now. */
  readonly after: bigint;
  readonly feed: LiveFeed;
  readonly reader: SessionReader;
  readonly outlet: SubscriberOutlet;
  readonly logger: Logger;
}

/**
 * `/topic/chat/{sessionId}`: the session's events in revision order, each once (a
 * {@link SessionStream}), and the typing indicators of everyone but the subscriber.
 */
export function sessionSubscription(options: SessionSubscriptionOptions): Subscription {
  const { id, sessionId, after, feed, reader, outlet, logger } = options;
  const destination = sessionTopic(sessionId);
  const stream = new SessionStream({
    sessionId,
    after,
    reader,
    deliver: (event) => outlet.message(id, destination, eventMessage(event)),
    hasRoom: () => outlet.hasRoom(),
    drained: () => outlet.drained(),
    onReadError: (error) => logger.warn(`reading session ${sessionId} for subscription ${id}: ${(error as Error).message}; retrying`),
    onMissing: (from, to) => logger.error(`session ${sessionId}: revisions ${from}..${to} were announced but are not in the event store; skipped`),
  });
  // In the same tick as the stream's first read is issued: what is announced from now on,
  // during that read included, reaches the stream, which drops what the read returned already.
  const unwatch = feed.watchSession(sessionId, {
    projected: (revision, event) => stream.offer(revision, event),
    typing: (indicator) => {
      if (indicator.senderId !== outlet.principal.id) outlet.message(id, destination, typingMessage(indicator));
    },
    resync: () => stream.resync(),
  });
  return {
    kind: 'session',
    id,
    destination,
    close: () => {
      unwatch();
      stream.close();
    },
  };
}
