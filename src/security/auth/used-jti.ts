import type { AccountStore } from '../../storage/accounts/port';

/**
 * Client-assertion `jti` values already seen, kept until the assertion they
 * came from expires (assertions live at most 5 minutes). In the account
 * store: every server process on the database, and a restarted one, refuses
 * an assertion any of them accepted.
 */
export class UsedJtiRegistry {
  constructor(private readonly store: AccountStore) {}

  /** Records `key` until `expiresAtMs`; false when it was already recorded and has not expired. */
  claim(key: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    return this.store.claimAssertionJti(key, expiresAtMs, nowMs);
  }
}
