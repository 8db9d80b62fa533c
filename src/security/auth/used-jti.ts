/**
 * Client-assertion `jti` values already seen, kept until the assertion they
 * came from expires (assertions live at most 5 minutes, so the set stays
 * small). In memory: a restart forgets them, which re-opens a replay window
 * of at most the 5 minutes an assertion can live; documented in the README.
 */
export class UsedJtiRegistry {
  private readonly expiries = new Map<string, number>();

  /** Records `key` until `expiresAtMs`; false when it was already recorded and has not expired. */
  claim(key: string, expiresAtMs: number, nowMs: number): boolean {
    this.forgetExpired(nowMs);
    if (this.expiries.has(key)) return false;
    this.expiries.set(key, expiresAtMs);
    return true;
  }

  private forgetExpired(nowMs: number): void {
    for (const [key, expiry] of this.expiries) if (expiry < nowMs) this.expiries.delete(key);
  }
}
