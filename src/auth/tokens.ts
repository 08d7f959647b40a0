import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify, SignJWT } from 'jose';

export const ROLES = ['customer', 'agent', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/** Who a verified token speaks for: its `sub`, `role` and optional display `name`. */
export interface Principal {
  readonly id: string;
  readonly role: Role;
  readonly name?: string;
}

/** A token that verified: who it speaks for, and until when it may be trusted. */
export interface VerifiedToken {
  readonly principal: Principal;
  /** The instant (ms since the epoch) from which it is refused as expired; undefined without `exp`. */
  readonly validUntil: number | undefined;
}

/** A token that must not be trusted; the message says why (expired, bad signature, …). */
export class InvalidToken extends Error {
  override readonly name = 'InvalidToken';
}

/** Dev tokens were asked for but are disabled. */
export class DevTokensDisabled extends Error {
  override readonly name = 'DevTokensDisabled';
}

export interface TokenSettings {
  /** HS256 shared secret; with neither this nor `jwksUrl`, one is generated under `dataDir`. */
  readonly jwtSecret: string | undefined;
  /** A JWKS URL: tokens signed by its keys (RS256, ES256, PS256, EdDSA) are accepted. */
  readonly jwtJwksUrl: string | undefined;
  readonly devTokens: boolean;
  readonly dataDir: string;
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const DEV_TOKEN_LIFETIME = '12h';
/** Seconds a token is still accepted after its `exp`, for clocks that disagree a little. */
const CLOCK_TOLERANCE_S = 5;

/**
 * Verifies JWTs (and, in development, issues them). The algorithm is pinned by the key kind:
 * HS256 for a secret, asymmetric ones for a JWKS; `alg: none` and tokens for another key fail.
 */
export class TokenService {
  private constructor(
    private readonly key: Uint8Array | JWTVerifyGetKey,
    private readonly algorithms: string[],
    readonly devTokens: boolean,
  ) {}

  static async create(settings: TokenSettings): Promise<TokenService> {
    if (settings.jwtJwksUrl) {
      return new TokenService(createRemoteJWKSet(new URL(settings.jwtJwksUrl)), ASYMMETRIC, false);
    }
    const secret = settings.jwtSecret ?? (await generatedSecret(settings.dataDir));
    return new TokenService(new TextEncoder().encode(secret), ['HS256'], settings.devTokens);
  }

  /** @throws {InvalidToken} saying why the token is refused. */
  async verify(token: string): Promise<VerifiedToken> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.key as Uint8Array, { algorithms: this.algorithms, clockTolerance: CLOCK_TOLERANCE_S }));
    } catch (error) {
      throw new InvalidToken(reasonOf(error), { cause: error });
    }
    const { sub, role, name, exp } = payload;
    if (typeof sub !== 'string' || sub.trim() === '') throw new InvalidToken('the token has no subject (sub)');
    if (!ROLES.includes(role as Role)) throw new InvalidToken(`the token's role must be one of ${ROLES.join(', ')}`);
    return {
      principal: { id: sub, role: role as Role, ...(typeof name === 'string' && name.trim() !== '' ? { name } : {}) },
      validUntil: exp === undefined ? undefined : (exp + CLOCK_TOLERANCE_S) * 1000,
    };
  }

  /**
   * A token for anyone, for trying Parley out (`POST /api/dev/token`).
   * @throws {DevTokensDisabled} unless dev tokens are enabled.
   */
  async issueDevToken(principal: Principal): Promise<string> {
    if (!this.devTokens || !(this.key instanceof Uint8Array)) {
      throw new DevTokensDisabled('dev tokens are disabled (DEV_TOKENS=0, or unset outside the embedded mode, or JWT_JWKS_URL is set)');
    }
    return new SignJWT({ role: principal.role, ...(principal.name ? { name: principal.name } : {}) })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(principal.id)
      .setIssuedAt()
      .setExpirationTime(DEV_TOKEN_LIFETIME)
      .sign(this.key);
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm that is not accepted';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature does not verify';
  if (error instanceof errors.JWKSNoMatchingKey) return 'the token is signed by an unknown key';
  if (error instanceof errors.JWTClaimValidationFailed) return `the token's ${error.claim} claim is invalid`;
  // Not the token's fault: the key set is unreachable, slow, or not a key set.
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || !(error instanceof errors.JOSEError)) {
    return 'the signing keys could not be fetched from JWT_JWKS_URL';
  }
  return 'the token is malformed';
}

/** A random HS256 secret kept in `dataDir`, so dev tokens survive restarts. */
async function generatedSecret(dataDir: string): Promise<string> {
  const file = join(dataDir, 'jwt-secret');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error; // another process wrote it first: use theirs
  });
  await chmod(file, 0o600);
  return (await readFile(file, 'utf8')).trim();
}
