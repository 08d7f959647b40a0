/** Who a token speaks for, read from its payload without verifying it (the server verifies). */
export interface TokenClaims {
  readonly sub: string;
  readonly role?: string;
  readonly name?: string;
  /** Expiry, seconds since the epoch. */
  readonly exp?: number;
  /** Issue time, seconds since the epoch, by the issuer's clock. */
  readonly iat?: number;
}

/** The claims of a JWT, or undefined when it is not one. */
export function claimsOf(token: string | undefined): TokenClaims | undefined {
  const payload = token?.split('.')[1];
  if (!payload) return undefined;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))) as Record<string, unknown>;
    if (typeof claims.sub !== 'string') return undefined;
    return {
      sub: claims.sub,
      ...(typeof claims.role === 'string' ? { role: claims.role } : {}),
      ...(typeof claims.name === 'string' ? { name: claims.name } : {}),
      ...(typeof claims.exp === 'number' ? { exp: claims.exp } : {}),
      ...(typeof claims.iat === 'number' ? { iat: claims.iat } : {}),
    };
  } catch {
    return undefined;
  }
}

/** A random (version 4) UUID; `crypto.randomUUID` exists only on secure origins, this everywhere. */
export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
