/**
 * The rejections a STOMP client can get on `/user/queue/errors`, and the one place where errors
 * become them (DESIGN.md, "STOMP contract"): a rejected frame is not applied and gets no
 * RECEIPT; the connection stays open.
 */
import { type CommandRejectionCode, CommandRejected } from '../chat-session/chat-session.service.js';
import { isConnectionLoss } from '../database/connection-loss.js';
import { EventStoreUnavailable } from '../event-store/event-store.js';

/** Every code of a rejection MESSAGE. */
export type RejectionCode = CommandRejectionCode | 'UNKNOWN_DESTINATION';

/**
 * A frame the gateway itself refuses (a destination, a subscription, a typing indicator, a SEND
 * over the connection's rate limit or while the server stops).
 */
export class GatewayRejection extends Error {
  override readonly name = 'GatewayRejection';

  constructor(
    readonly code: RejectionCode,
    message: string,
  ) {
    super(message);
  }
}

/** What the client is told: the body of the rejection MESSAGE, its `code` header too. */
export interface Rejection {
  readonly code: RejectionCode;
  readonly message: string;
}

/**
 * The rejection an error stands for, or `undefined` for an unexpected error (a bug, to be
 * logged and surfaced as `UNAVAILABLE` by the caller).
 */
export function rejectionOf(error: unknown): Rejection | undefined {
  if (error instanceof GatewayRejection || error instanceof CommandRejected) {
    return { code: error.code, message: error.message };
  }
  if (error instanceof EventStoreUnavailable || isConnectionLoss(error)) {
    return { code: 'UNAVAILABLE', message: 'the database or the event store is unreachable; retry shortly' };
  }
  return undefined;
}

/** The rejection of a session one may not see, whether it exists or not. */
export function forbiddenSession(): GatewayRejection {
  return new GatewayRejection('FORBIDDEN', 'you may not see this session (or it does not exist)');
}
