/**
 * The account store: what Concord's own authorization server keeps besides
 * FHIR resources (docs/authorization-server.md). Users are server-owned
 * accounts, not FHIR resources; refresh tokens are stored only as hashes;
 * revoked access-token ids outlive a restart and are shared by every server
 * process on the database, as are authorization codes. Both engines implement it
 * (sqlite.ts, mongo.ts) and are held to test/storage/account-store-contract.ts.
 */

export interface UserRecord {
  username: string;
  /** `scrypt$N$r$p$salt$hash` (security/auth/passwords.ts); never the password. */
  passwordHash: string;
  /** `Patient/p1`, or one `RelatedPerson/…` per patient the person acts for, or `Practitioner/…`. */
  fhirUsers: string[];
  disabled: boolean;
}

/** One refresh token, by the SHA-256 of its value. */
export interface RefreshTokenRecord {
  hash: string;
  /** Every token rotated from one authorization shares it; reuse revokes the family. */
  familyId: string;
  username: string;
  clientId: string;
  scope: string;
  fhirUser: string;
  patient?: string;
  /** `offline_access`: 30 days from last use; otherwise the 12 hours of an online session. */
  offline: boolean;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** Set once the token has been exchanged (rotated); a second use is a replay. */
  usedAt?: number;
  revoked: boolean;
}

/** One authorization code, by the SHA-256 of its value: what the user approved, as JSON (security/auth/authorization-codes.ts). */
export interface CodeRecord {
  hash: string;
  grant: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

/** The first redemption gets the grant; a later one the family of the tokens the first issued (to revoke them). */
export type CodeRedemption = { outcome: 'ok'; grant: string } | { outcome: 'reused'; familyId: string } | { outcome: 'invalid' };

export interface AccountStore {
  /** False when the username is taken. */
  addUser(user: UserRecord): Promise<boolean>;
  getUser(username: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  /** False when there is no such user. */
  updateUser(username: string, change: Partial<Pick<UserRecord, 'passwordHash' | 'disabled'>>): Promise<boolean>;
  removeUser(username: string): Promise<boolean>;

  saveRefreshToken(token: RefreshTokenRecord): Promise<void>;
  findRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined>;
  /**
   * Marks the token used, atomically: true for the one caller that found it
   * unused and unrevoked (two parallel refreshes with one token: one wins).
   */
  claimRefreshToken(hash: string, nowMs: number): Promise<boolean>;
  /** Revokes every refresh token of the family (reuse of a rotated token, a reused code, RFC 7009 revocation). */
  revokeFamily(familyId: string): Promise<void>;
  revokeUserRefreshTokens(username: string): Promise<void>;
  /** Whether some refresh token of the family is revoked (by this process or another one on the same database). */
  familyRevoked(familyId: string): Promise<boolean>;

  /** Access tokens issued under a family, so that revoking it revokes them (by jti). */
  recordIssuedToken(familyId: string, jti: string, expiresAt: number): Promise<void>;
  familyTokens(familyId: string): Promise<Array<{ jti: string; expiresAt: number }>>;
  revokeJti(jti: string, expiresAt: number): Promise<void>;
  /** Whether this access-token id is revoked and not yet expired: asked on every request, so a revocation by another process counts at once. */
  isJtiRevoked(jti: string, nowMs: number): Promise<boolean>;

  /** Stores a code (and forgets codes expired before `nowMs`). */
  saveCode(code: CodeRecord, nowMs: number): Promise<void>;
  /**
   * Redeems a code atomically: of any number of parallel redemptions, across
   * processes, one gets the grant and names the family of its tokens; every
   * other, and any later one until the code expires, is `reused` with that
   * family. An expired or unknown code is `invalid`.
   */
  redeemCode(hash: string, familyId: string, nowMs: number): Promise<CodeRedemption>;

  /**
   * Records a client assertion's `jti` (keyed per client) until `expiresAt`:
   * true for the first use, false for any other while it lasts, across
   * every process on the database (SMART Backend Services: a jti once).
   */
  claimAssertionJti(key: string, expiresAt: number, nowMs: number): Promise<boolean>;

  /**
   * One more failed sign-in for each key (`user:…`, `address:…`): a key that
   * reaches `maxFailures` is locked until `nowMs + lockMs`; a key whose lock
   * has ended counts afresh. Failures count within one lock period: a key
   * whose last failure is `lockMs` old, with no lock in force, is forgotten
   * (deleted), so scattered typos over weeks do not add up to a lock and
   * guesses at many usernames do not grow the store without bound
   * (OWASP Authentication Cheat Sheet: lockout after failures within a
   * period). Shared by every process on the database.
   */
  recordLoginFailure(keys: readonly string[], maxFailures: number, lockMs: number, nowMs: number): Promise<void>;
  /** Whether some key is locked at `nowMs`. */
  loginLocked(keys: readonly string[], nowMs: number): Promise<boolean>;
  clearLoginFailures(key: string): Promise<void>;

  /** Scopes a user approved for a client, remembered so the approval screen shows once. */
  getApproval(username: string, clientId: string): Promise<string[] | undefined>;
  setApproval(username: string, clientId: string, scopes: string[]): Promise<void>;

  close(): Promise<void>;
}
