import type { JWTPayload } from 'jose';
import { TimedCache } from '../timed-cache';
import { verifyAccessToken, type TokenVerifier } from './verify-token';

/** Distinct tokens kept: about one per active client session. */
const CACHED_TOKENS = 10_000;

/**
 * Token verification (verify-token.ts) with its successes remembered by the
 * exact token string until the token's `exp`, never beyond: a signature
 * checked once needs no second check while the same bytes come back. Every
 * refusal is decided afresh each time (nothing about a bad token is kept),
 * and an expired token goes through the full verification, which refuses it.
 * A key the issuer withdraws still honours the tokens it signed until they
 * expire (at most their lifetime).
 */
export class VerifiedTokens {
  private readonly cache = new TimedCache<JWTPayload>(CACHED_TOKENS);

  constructor(
    private readonly verifier: TokenVerifier,
    /** The full verification (replaceable so that tests can count and fake it). */
    private readonly verifyFully: typeof verifyAccessToken = verifyAccessToken,
  ) {}

  verify(token: string, now: number = Date.now()): Promise<JWTPayload> {
    return this.cache.get(token, now, async () => {
      const claims = await this.verifyFully(this.verifier, token);
      // `exp` is required by the verification; seconds since the epoch.
      return { value: claims, until: Number(claims.exp) * 1000 };
    });
  }
}
