/**
 * Sign-in throttling (OWASP Authentication Cheat Sheet, "account lockout"):
 * after `maxFailures` failed sign-ins for a username, or from an address,
 * sign-ins for it are refused for `lockSeconds`, whatever the password. In
 * memory: a restart clears the counts.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; lockedUntil: number }>();

  constructor(
    private readonly maxFailures: number,
    private readonly lockSeconds: number,
  ) {}

  locked(keys: readonly string[], nowMs = Date.now()): boolean {
    return keys.some((key) => (this.failures.get(key)?.lockedUntil ?? 0) > nowMs);
  }

  fail(keys: readonly string[], nowMs = Date.now()): void {
    for (const key of keys) {
      const entry = this.failures.get(key) ?? { count: 0, lockedUntil: 0 };
      if (entry.lockedUntil !== 0 && entry.lockedUntil <= nowMs) entry.count = 0;
      entry.count += 1;
      entry.lockedUntil = entry.count >= this.maxFailures ? nowMs + this.lockSeconds * 1000 : 0;
      this.failures.set(key, entry);
    }
  }

  /** A successful sign-in clears the username's count (never the address's: one good account must not unlock guessing others). */
  succeed(username: string): void {
    this.failures.delete(`user:${username}`);
  }
}
