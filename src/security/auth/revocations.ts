import type { AccountStore } from '../../storage/accounts/port';

/**
 * Revoked access-token ids (RFC 7009), checked on every request after the
 * signature (and after the verified-token cache, which would otherwise keep
 * accepting the token): a revoked token is refused at once. The account
 * store is the record, shared by every server process on the database and
 * kept across restarts, so each request asks it (a primary-key lookup);
 * what this process revoked itself is also remembered in memory until the
 * token expires, which spares that lookup for the tokens most likely to
 * come back.
 */
export class Revocations {
  private readonly revoked = new Map<string, number>();
  /** Families revoked by this process: a token being issued in the same family meanwhile (a parallel refresh) is revoked too. */
  private readonly revokedFamilies = new Set<string>();

  constructor(private readonly store: AccountStore) {}

  async isRevoked(jti: unknown, nowMs = Date.now()): Promise<boolean> {
    if (typeof jti !== 'string') return false;
    const expiresAt = this.revoked.get(jti);
    if (expiresAt !== undefined) {
      if (expiresAt >= nowMs) return true;
      this.revoked.delete(jti);
      return false;
    }
    return this.store.isJtiRevoked(jti, nowMs);
  }

  async revoke(jti: string, expiresAt: number): Promise<void> {
    this.revoked.set(jti, expiresAt);
    await this.store.revokeJti(jti, expiresAt);
  }

  /** Every access token issued under a refresh-token family (a reused code or refresh token, a revocation). */
  async revokeFamily(familyId: string): Promise<void> {
    this.revokedFamilies.add(familyId);
    await this.store.revokeFamily(familyId);
    for (const { jti, expiresAt } of await this.store.familyTokens(familyId)) await this.revoke(jti, expiresAt);
  }

  /** Revoked here or by another process (a parallel refresh sent to another server on the same database). */
  async familyRevoked(familyId: string): Promise<boolean> {
    return this.revokedFamilies.has(familyId) || this.store.familyRevoked(familyId);
  }
}
