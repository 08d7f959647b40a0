/**
 * The STOMP versions the codec speaks, and the one a CONNECT frame agrees on (STOMP 1.2,
 * "Protocol Negotiation"). The version sets how header names and values are escaped.
 */

/** The STOMP versions served, preferred first. */
export const SUPPORTED_VERSIONS = ['1.2', '1.1', '1.0'] as const;

/** A STOMP version the server speaks. */
export type StompVersion = (typeof SUPPORTED_VERSIONS)[number];

/**
 * The highest version both sides speak, from a CONNECT's `accept-version` (a comma-separated
 * list; absent means 1.0), or `undefined` when they share none.
 */
export function negotiateVersion(acceptVersion: string | undefined): StompVersion | undefined {
  if (acceptVersion === undefined) return '1.0';
  const accepted = new Set(acceptVersion.split(',').map((version) => version.trim()));
  return SUPPORTED_VERSIONS.find((version) => accepted.has(version));
}
