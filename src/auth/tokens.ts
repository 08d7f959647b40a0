import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, type JWTVerifyOptions, type JWTVerifyResult, jwtVerify, SignJWT } from 'jose';
import { isWellFormedText } from '../chat-session/text.js';

export const ROLES = ['customer', 'agent', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The longest `sub` and `name` a token may carry, in UTF-16 code units (as `String.length`
 * counts), dev tokens' too: the subject is a customer's key in an index of the read model, whose
 * rows PostgreSQL refuses beyond some 2,700 bytes, and a refused row stops the projection.
 */
export const MAX_IDENTITY_LENGTH = 200;

/** Who a verified token speaks for: its `sub`, `role` and optional display `name`. */
export interface Principal {
  readonly id: string;
  readonly role: Role;
  readonly name?: string;
}

/** A token that verified: who it speaks for, and until when it may be trusted. */
export interface VerifiedToken {
  readonly principal: Principal;
  /** The instant (ms since the epoch) from which it is refused as expired. */
  readonly validUntil: number;
}

/** A token that must not be trusted; the message says why (expired, bad signature, …). */
export class InvalidToken extends Error {
  override readonly name = 'InvalidToken';
}

/**
 * A token could not be checked, through no fault of its own: the key set of `JWT_JWKS_URL` could
 * not be fetched. The client should try again, with the same token.
 */
export class TokenKeysUnavailable extends Error {
  override readonly name = 'TokenKeysUnavailable';
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
  /** When set, a token's `iss` must be this (`JWT_ISSUER`). */
  readonly jwtIssuer?: string | undefined;
  /** When set, a token's `aud` must include this (`JWT_AUDIENCE`). */
  readonly jwtAudience?: string | undefined;
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
 * Every token must expire (`exp`); its issuer and audience are checked when they are configured.
 */
export class TokenService {
  private readonly options: JWTVerifyOptions;

  /** `expected`: the `iss` and `aud` every token must have, when configured (dev tokens get them). */
  private constructor(
    private readonly key: Uint8Array | JWTVerifyGetKey,
    algorithms: string[],
    private readonly expected: { readonly iss?: string; readonly aud?: string },
    readonly devTokens: boolean,
  ) {
    this.options = { algorithms, clockTolerance: CLOCK_TOLERANCE_S, requiredClaims: ['exp'], issuer: expected.iss, audience: expected.aud };
  }

  /** @throws {Error} naming the generated secret's file when it is too short to sign with. */
  static async create(settings: TokenSettings): Promise<TokenService> {
    const expected = {
      ...(settings.jwtIssuer === undefined ? {} : { iss: settings.jwtIssuer }),
      ...(settings.jwtAudience === undefined ? {} : { aud: settings.jwtAudience }),
    };
    if (settings.jwtJwksUrl) {
      return new TokenService(createRemoteJWKSet(new URL(settings.jwtJwksUrl)), ASYMMETRIC, expected, false);
    }
    const secret = settings.jwtSecret ?? (await generatedSecret(settings.dataDir));
    return new TokenService(new TextEncoder().encode(secret), ['HS256'], expected, settings.devTokens);
  }

  /**
   * @throws {InvalidToken} saying why the token is refused.
   * @throws {TokenKeysUnavailable} when the key set to check it with cannot be fetched.
   */
  async verify(token: string): Promise<VerifiedToken> {
    let payload;
    try {
      ({ payload } = await this.verifySignature(token));
    } catch (error) {
      if (keysUnavailable(error)) throw new TokenKeysUnavailable('the signing keys could not be fetched from JWT_JWKS_URL', { cause: error });
      throw new InvalidToken(reasonOf(error as errors.JOSEError), { cause: error });
    }
    const { sub, role, name, exp } = payload;
    if (typeof sub !== 'string' || sub.trim() === '') throw new InvalidToken('the token has no subject (sub)');
    if (!ROLES.includes(role as Role)) throw new InvalidToken(`the token's role must be one of ${ROLES.join(', ')}`);
    // Both end up in events (`customerId`, `agentName`…), which store no NUL and hash no lone surrogate.
    if (!isWellFormedText(sub)) throw new InvalidToken("the token's subject (sub) is not valid Unicode text");
    if (typeof name === 'string' && !isWellFormedText(name)) throw new InvalidToken("the token's name is not valid Unicode text");
    if (sub.length > MAX_IDENTITY_LENGTH) throw new InvalidToken(`the token's subject (sub) is longer than ${MAX_IDENTITY_LENGTH} characters`);
    if (typeof name === 'string' && name.length > MAX_IDENTITY_LENGTH) {
      throw new InvalidToken(`the token's name is longer than ${MAX_IDENTITY_LENGTH} characters`);
    }
    return {
      principal: { id: sub, role: role as Role, ...(typeof name === 'string' && name.trim() !== '' ? { name } : {}) },
      validUntil: (exp! + CLOCK_TOLERANCE_S) * 1000, // required above
    };
  }

  /**
   * The token's claims, once its signature verifies with a key of the key set. A token without a
   * `kid` matches every key of its type: during a rotation, where the key set holds the old key
   * and the new, each is tried (as jose's documentation has it), not the token refused.
   */
  private async verifySignature(token: string): Promise<JWTVerifyResult> {
    try {
      return await jwtVerify(token, this.key as Uint8Array, this.options);
    } catch (error) {
      if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
      for await (const key of error as errors.JWKSMultipleMatchingKeys & AsyncIterable<CryptoKey>) {
        try {
          return await jwtVerify(token, key, this.options);
        } catch (tried) {
          if (!(tried instanceof errors.JWSSignatureVerificationFailed)) throw tried;
        }
      }
      throw new errors.JWSSignatureVerificationFailed();
    }
  }

  /**
   * A token for anyone, for trying Parley out (`POST /api/dev/token`).
   * @throws {DevTokensDisabled} unless dev tokens are enabled.
   */
  async issueDevToken(principal: Principal): Promise<string> {
    if (!this.devTokens || !(this.key instanceof Uint8Array)) {
      throw new DevTokensDisabled('dev tokens are disabled (DEV_TOKENS=0, or unset outside the embedded mode, or JWT_JWKS_URL is set)');
    }
    return new SignJWT({ role: principal.role, ...(principal.name ? { name: principal.name } : {}), ...this.expected })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(principal.id)
      .setIssuedAt()
      .setExpirationTime(DEV_TOKEN_LIFETIME)
      .sign(this.key);
  }
}

/**
 * Whether a failed verification is not the token's fault: the key set is unreachable, slow, not a
 * key set, answered with another status than 200 OK or with something that is not JSON (jose's
 * plain `JOSEError`, which only its fetch of a key set throws).
 */
function keysUnavailable(error: unknown): boolean {
  if (!(error instanceof errors.JOSEError)) return true;
  return error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || error.code === errors.JOSEError.code;
}

function reasonOf(error: errors.JOSEError): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm that is not accepted';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the token signature does not verify';
  if (error instanceof errors.JWKSNoMatchingKey) return 'the token is signed by an unknown key';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return `the token has no ${error.claim} claim`;
    if (error.claim === 'iss') return 'the token is issued by another issuer than JWT_ISSUER';
    if (error.claim === 'aud') return 'the token is meant for another audience than JWT_AUDIENCE';
    return `the token's ${error.claim} claim is invalid`;
  }
  return 'the token is malformed';
}

/** A random HS256 secret kept in `dataDir`, so dev tokens survive restarts. */
async function generatedSecret(dataDir: string): Promise<string> {
  const file = join(dataDir, 'jwt-secret');
  try {
    return longEnough(file, (await readFile(file, 'utf8')).trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error; // another process wrote it first: use theirs
  });
  await chmod(file, 0o600);
  return longEnough(file, (await readFile(file, 'utf8')).trim());
}

/** The secret read from `file`, as long as `JWT_SECRET` must be. */
function longEnough(file: string, secret: string): string {
  if (Buffer.byteLength(secret) >= 32) return secret;
  throw new Error(`${file} holds a secret of ${Buffer.byteLength(secret)} bytes, not 32 or more: delete it and a new one is made at the next start (the tokens it signed stop working)`);
}
