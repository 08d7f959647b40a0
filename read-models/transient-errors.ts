import {
  BackendTerminatedError,
  BackendTerminatedUnexpectedlyError,
  ConnectionError,
  StatementCancelledError,
} from 'slonik';
import { EventStoreUnavailable } from '../src/event-store/event-store.js';

/**
 * SQLSTATEs and socket errors that say nothing about the events being projected: the server went
 * away or is restarting (class 08, 57P01–57P03), is out of connections (53300), a statement was
 * cancelled (57014), or two transactions collided (40001, 40P01). Retrying later is the cure.
 */
const TRANSIENT_CODES = new Set([
  '57P01', '57P02', '57P03', '57014', '53300', '40001', '40P01',
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND',
]);

/**
 * Whether an error is the infrastructure's (the database or the event store unreachable for now)
 * rather than the projection's: a projection backs off and retries the former, and stops on the
 * latter. Classified by class and SQLSTATE, never by message text.
 */
export function isTransient(error: unknown): boolean {
  if (
    error instanceof EventStoreUnavailable ||
    error instanceof ConnectionError ||
    error instanceof BackendTerminatedError ||
    error instanceof BackendTerminatedUnexpectedlyError ||
    error instanceof StatementCancelledError
  ) {
    return true;
  }
  const code = errorCodeOf(error);
  return code !== undefined && (TRANSIENT_CODES.has(code) || code.startsWith('08'));
}

/**
 * The SQLSTATE of an error PostgreSQL raised, or the code of a socket error: on the error
 * itself, or on its cause when slonik wrapped it.
 */
export function errorCodeOf(error: unknown): string | undefined {
  return codeOf(error) ?? codeOf((error as { cause?: unknown } | null | undefined)?.cause);
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
