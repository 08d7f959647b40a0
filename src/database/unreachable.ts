import { isConnectionLoss } from './connection-loss.js';

/** PostgreSQL could not be reached or used, at start or since; the message says what to check. */
export class DatabaseUnreachable extends Error {
  override readonly name = 'DatabaseUnreachable';
}

/**
 * The error of a failed first connection, or of one lost since (PostgreSQL restarted, failed over
 * or ended it), as a {@link DatabaseUnreachable} that says what to check when its cause is a known
 * one; other errors are returned as they are.
 */
export function explainUnreachable(error: unknown, url: string, embedded: boolean): unknown {
  const code = (error as { code?: string }).code;
  // loadConfig refuses a DATABASE_URL that does not parse; should one come here all the same,
  // the explanation goes without the host rather than hide the failure behind a TypeError.
  const host = URL.canParse(url) ? ` at ${new URL(url).host}` : '';
  const where = `PostgreSQL${host} (${embedded ? 'embedded, data in DATA_DIR' : 'from DATABASE_URL'})`;
  const checks: Record<string, string> = {
    ECONNREFUSED: 'nothing accepts connections there: is the server running, and are the host and port of DATABASE_URL right?',
    ENOTFOUND: 'the host name does not resolve: check the host of DATABASE_URL.',
    ETIMEDOUT: 'the connection timed out: check the host, the port and any firewall.',
    '28P01': 'the password was refused: check the user and password in DATABASE_URL.',
    '28000': 'the login was refused: check the user in DATABASE_URL and pg_hba.conf.',
    '3D000': 'the database does not exist: create it or fix the database name in DATABASE_URL.',
  };
  const lost = isConnectionLoss(error) ? 'the connection was lost (a restart, a failover): try again once PostgreSQL is back.' : undefined;
  const check = (code === undefined ? undefined : checks[code]) ?? lost;
  if (!check) return error;
  return new DatabaseUnreachable(`cannot use ${where}: ${(error as Error).message}; ${check}`, { cause: error });
}
