import type { AccountStore } from '../../storage/accounts/port';

/**
 * Revoked access-token ids (RFC 7009), checked on every request after the
 * signature (and after the verified-token cache, which would otherwise keep
 * accepting the token): a revoked token is refused at once. Held in memory
 * for speed and in the account store so that a restart keeps them; each is
 * forgotten when the token it names expires.
 */
export class Revocations {
  private readonly revoked = new Map<string, number>();
  /** Families revoked by this process: a token being issued in the same family meanwhile (a parallel refresh) is revoked too. */
  private readonly revokedFamilies = new Set<string>();

  constructor(private readonly store: AccountStore) {}

  async load(nowMs = Date.now()): Promise<void> {
    for (const { jti, expiresAt } of await this.store.revokedJtis(nowMs)) this.revoked.set(jti, expiresAt);
  }

  isRevoked(jti: unknown, nowMs = Date.now()): boolean {
    if (typeof jti !== 'string') return false;
    const expiresAt = this.revoked.get(jti);
    if (expiresAt === undefined) return false;
    if (expiresAt < nowMs) this.revoked.delete(jti);
    return expiresAt >= nowMs;
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

  familyRevoked(familyId: string): boolean {
    return this.revokedFamilies.has(familyId);
  }
}
