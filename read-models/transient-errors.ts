import { StatementCancelledError } from 'slonik';
import { errorCodeOf, isConnectionLoss, isWriteRefusal } from '../src/database/connection-loss.js';
import { EventStoreUnavailable } from '../src/event-store/event-store.js';

/**
 * SQLSTATEs that say nothing about the events being projected, beyond a lost connection and a
 * database taking no writes: a statement was cancelled (57014), or two transactions collided
 * (40001, 40P01).
 */
const TRANSIENT_CODES = new Set(['57014', '40001', '40P01']);

/**
 * Whether an error is the infrastructure's (the database or the event store unreachable for now,
 * the database taking no writes for now, a statement cancelled, a collision) rather than the
 * projection's: a projection backs off and retries the former, and stops on the latter.
 * Classified by class and SQLSTATE, never by message text.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof EventStoreUnavailable || error instanceof StatementCancelledError || isConnectionLoss(error) || isWriteRefusal(error)) return true;
  const code = errorCodeOf(error);
  return code !== undefined && TRANSIENT_CODES.has(code);
}
