import { BackendTerminatedError, BackendTerminatedUnexpectedlyError, ConnectionError } from 'slonik';

/**
 * Socket errors and SQLSTATEs that mean the server cannot be used now, not that the query is
 * wrong: refused or lost connections, class 08, a server shutting down or restarting
 * (57P01–57P03), too many connections (53300).
 */
const CONNECTION_LOSS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', '57P01', '57P02', '57P03', '53300']);

/** Whether a database error says PostgreSQL is unreachable for now (retry later), by class and code. */
export function isConnectionLoss(error: unknown): boolean {
  if (error instanceof ConnectionError || error instanceof BackendTerminatedError || error instanceof BackendTerminatedUnexpectedlyError) {
    return true;
  }
  const code = errorCodeOf(error);
  return code !== undefined && (CONNECTION_LOSS.has(code) || code.startsWith('08'));
}

/**
 * Whether PostgreSQL answered but takes no writes for now (retry later), by SQLSTATE: a read-only
 * transaction (25006: a standby not yet promoted after a failover, a database set
 * `default_transaction_read_only`), or resources short (class 53: a full disk, memory, connections).
 * The statement did nothing.
 */
export function isWriteRefusal(error: unknown): boolean {
  const code = errorCodeOf(error);
  return code !== undefined && (code === '25006' || code.startsWith('53'));
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
