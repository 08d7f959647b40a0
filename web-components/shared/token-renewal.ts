import type { TokenClaims } from './identity.js';

/**
 * Asks for a new token a minute before the current one expires, so that a reconnection never
 * meets a stale one and the server never ends the connection at its expiry; a token of two
 * minutes or less half-way through its life. Its life is counted from when it was given, as its
 * issuer counts it (`exp` − `iat`): the page's clock may run minutes ahead of the issuer's, and
 * each new token would then seem to expire at once. Only a token without `iat` is timed by it.
 */
export class TokenRenewal {
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** @param ask called once per token watched, when it is time to renew it, with the reason to give. */
  constructor(private readonly ask: (reason: string) => void) {}

  /** Times the renewal of the token of `claims`, given now, in place of the one before. */
  watch(claims: TokenClaims): void {
    this.stop();
    if (claims.exp === undefined) return;
    const lifeMs = claims.iat === undefined ? claims.exp * 1000 - Date.now() : (claims.exp - claims.iat) * 1000;
    const renewIn = Math.max(lifeMs - 60_000, lifeMs / 2);
    if (renewIn < 2 ** 31) this.#timer = setTimeout(() => this.ask('the token expires in a minute'), Math.max(0, renewIn));
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
