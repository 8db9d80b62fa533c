import type { AccountStore } from '../../storage/accounts/port';

/**
 * Sign-in throttling (OWASP Authentication Cheat Sheet, "account lockout"):
 * after `maxFailures` failed sign-ins for a username, or from an address,
 * sign-ins for it are refused for `lockSeconds`, whatever the password. The
 * counts are in the account store, so that several server processes on one
 * database lock together (an attacker spreading guesses over them gains
 * nothing) and a restart does not clear a lock.
 */
export class LoginThrottle {
  constructor(
    private readonly store: AccountStore,
    private readonly maxFailures: number,
    private readonly lockSeconds: number,
  ) {}

  locked(keys: readonly string[], nowMs = Date.now()): Promise<boolean> {
    return this.store.loginLocked(keys, nowMs);
  }

  fail(keys: readonly string[], nowMs = Date.now()): Promise<void> {
    return this.store.recordLoginFailure(keys, this.maxFailures, this.lockSeconds * 1000, nowMs);
  }

  /** A successful sign-in clears the username's count (never the address's: one good account must not unlock guessing others). */
  succeed(username: string): Promise<void> {
    return this.store.clearLoginFailures(`user:${username}`);
  }
}
