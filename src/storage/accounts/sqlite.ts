import Database from 'better-sqlite3';
import type { AccountStore, CodeRedemption, RefreshTokenRecord, UserRecord } from './port';

/**
 * The account store in the server's SQLite file, on a connection of its own
 * (WAL lets `npm run user` write while the server runs; busy_timeout waits
 * out the other writer instead of failing).
 */
export function openSqliteAccountStore(path: string): AccountStore {
  const db = new Database(path);
  if (path !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 10000');
  db.exec(`
    CREATE TABLE IF NOT EXISTS auth_users (
      username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, fhir_users TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS auth_refresh_tokens (
      hash TEXT PRIMARY KEY, family_id TEXT NOT NULL, username TEXT NOT NULL, client_id TEXT NOT NULL, scope TEXT NOT NULL,
      fhir_user TEXT NOT NULL, patient TEXT, offline INTEGER NOT NULL, expires_at INTEGER NOT NULL, used_at INTEGER, revoked INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX IF NOT EXISTS auth_refresh_family ON auth_refresh_tokens(family_id);
    CREATE INDEX IF NOT EXISTS auth_refresh_user ON auth_refresh_tokens(username);
    CREATE TABLE IF NOT EXISTS auth_issued_tokens (jti TEXT PRIMARY KEY, family_id TEXT NOT NULL, expires_at INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS auth_issued_family ON auth_issued_tokens(family_id);
    CREATE INDEX IF NOT EXISTS auth_issued_expiry ON auth_issued_tokens(expires_at);
    CREATE TABLE IF NOT EXISTS auth_revoked_tokens (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS auth_revoked_expiry ON auth_revoked_tokens(expires_at);
    CREATE TABLE IF NOT EXISTS auth_codes (hash TEXT PRIMARY KEY, grant_json TEXT NOT NULL, expires_at INTEGER NOT NULL, family_id TEXT);
    CREATE TABLE IF NOT EXISTS auth_used_assertions (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS auth_login_failures (key TEXT PRIMARY KEY, count INTEGER NOT NULL, locked_until INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS auth_approvals (username TEXT NOT NULL, client_id TEXT NOT NULL, scopes TEXT NOT NULL, PRIMARY KEY (username, client_id));
  `);

  // Databases made before failures were forgotten lack the column: 0 reads as "long ago", so their rows go at the next failure.
  const failureColumns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('auth_login_failures')").all();
  if (!failureColumns.some((column) => column.name === 'last_failure_at')) {
    db.exec('ALTER TABLE auth_login_failures ADD COLUMN last_failure_at INTEGER NOT NULL DEFAULT 0');
  }
  db.exec('CREATE INDEX IF NOT EXISTS auth_login_failures_by_last ON auth_login_failures(last_failure_at)');

  type UserRow = { username: string; password_hash: string; fhir_users: string; disabled: number };
  type RefreshRow = {
    hash: string; family_id: string; username: string; client_id: string; scope: string; fhir_user: string;
    patient: string | null; offline: number; expires_at: number; used_at: number | null; revoked: number;
  };
  const user = (row: UserRow): UserRecord => ({
    username: row.username,
    passwordHash: row.password_hash,
    fhirUsers: JSON.parse(row.fhir_users) as string[],
    disabled: row.disabled === 1,
  });
  const refresh = (row: RefreshRow): RefreshTokenRecord => ({
    hash: row.hash,
    familyId: row.family_id,
    username: row.username,
    clientId: row.client_id,
    scope: row.scope,
    fhirUser: row.fhir_user,
    ...(row.patient !== null ? { patient: row.patient } : {}),
    offline: row.offline === 1,
    expiresAt: row.expires_at,
    ...(row.used_at !== null ? { usedAt: row.used_at } : {}),
    revoked: row.revoked === 1,
  });

  const insertUser = db.prepare('INSERT OR IGNORE INTO auth_users (username, password_hash, fhir_users, disabled) VALUES (?, ?, ?, ?)');
  const selectUser = db.prepare<[string], UserRow>('SELECT * FROM auth_users WHERE username = ?');
  const selectUsers = db.prepare<[], UserRow>('SELECT * FROM auth_users ORDER BY username');
  const deleteUser = db.prepare('DELETE FROM auth_users WHERE username = ?');
  const insertRefresh = db.prepare(
    `INSERT INTO auth_refresh_tokens (hash, family_id, username, client_id, scope, fhir_user, patient, offline, expires_at, used_at, revoked)
     VALUES (@hash, @familyId, @username, @clientId, @scope, @fhirUser, @patient, @offline, @expiresAt, NULL, 0)`,
  );
  const selectRefresh = db.prepare<[string], RefreshRow>('SELECT * FROM auth_refresh_tokens WHERE hash = ?');
  const claimRefresh = db.prepare('UPDATE auth_refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL AND revoked = 0');
  const revokeFamily = db.prepare('UPDATE auth_refresh_tokens SET revoked = 1 WHERE family_id = ?');
  const revokeUser = db.prepare('UPDATE auth_refresh_tokens SET revoked = 1 WHERE username = ?');
  const insertIssued = db.prepare('INSERT OR REPLACE INTO auth_issued_tokens (jti, family_id, expires_at) VALUES (?, ?, ?)');
  // An expired access token needs no revocation: its rows go as new ones arrive (an index range, not a scan).
  const deleteExpiredIssued = db.prepare('DELETE FROM auth_issued_tokens WHERE expires_at < ?');
  const deleteExpiredRevoked = db.prepare('DELETE FROM auth_revoked_tokens WHERE expires_at < ?');
  const selectIssued = db.prepare<[string], { jti: string; expires_at: number }>('SELECT jti, expires_at FROM auth_issued_tokens WHERE family_id = ?');
  const insertRevoked = db.prepare('INSERT OR REPLACE INTO auth_revoked_tokens (jti, expires_at) VALUES (?, ?)');
  const revokedInFamily = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM auth_refresh_tokens WHERE family_id = ? AND revoked = 1 LIMIT 1');
  const selectRevokedJti = db.prepare<[string, number], { one: number }>('SELECT 1 AS one FROM auth_revoked_tokens WHERE jti = ? AND expires_at >= ?');
  const deleteExpiredCodes = db.prepare('DELETE FROM auth_codes WHERE expires_at < ?');
  const insertCode = db.prepare('INSERT INTO auth_codes (hash, grant_json, expires_at, family_id) VALUES (?, ?, ?, NULL)');
  const claimCode = db.prepare('UPDATE auth_codes SET family_id = ? WHERE hash = ? AND family_id IS NULL AND expires_at >= ?');
  const selectCode = db.prepare<[string], { grant_json: string; expires_at: number; family_id: string | null }>('SELECT grant_json, expires_at, family_id FROM auth_codes WHERE hash = ?');
  // One transaction: the claim and the read of what it claimed (or of who claimed it first).
  const redeem = db.transaction((hash: string, familyId: string, nowMs: number): CodeRedemption => {
    const claimed = claimCode.run(familyId, hash, nowMs).changes === 1;
    const row = selectCode.get(hash);
    if (claimed && row) return { outcome: 'ok', grant: row.grant_json };
    if (row?.family_id) return { outcome: 'reused', familyId: row.family_id };
    return { outcome: 'invalid' };
  });
  const deleteExpiredAssertions = db.prepare('DELETE FROM auth_used_assertions WHERE expires_at < ?');
  const insertAssertion = db.prepare('INSERT OR IGNORE INTO auth_used_assertions (key, expires_at) VALUES (?, ?)');
  const claimAssertion = db.transaction((key: string, expiresAt: number, nowMs: number) => {
    deleteExpiredAssertions.run(nowMs);
    return insertAssertion.run(key, expiresAt).changes === 1;
  });
  const upsertFailure = db.prepare(
    `INSERT INTO auth_login_failures (key, count, locked_until, last_failure_at) VALUES (@key, 1, CASE WHEN @max <= 1 THEN @lockUntil ELSE 0 END, @now)
     ON CONFLICT(key) DO UPDATE SET
       count = CASE WHEN locked_until <> 0 AND locked_until <= @now THEN 1 ELSE count + 1 END,
       locked_until = CASE WHEN (CASE WHEN locked_until <> 0 AND locked_until <= @now THEN 1 ELSE count + 1 END) >= @max THEN @lockUntil ELSE 0 END,
       last_failure_at = @now`,
  );
  // A count whose last failure is a whole lock period old, and no lock in force, is forgotten (see port.ts).
  const forgetFailures = db.prepare('DELETE FROM auth_login_failures WHERE last_failure_at < ? AND locked_until <= ?');
  const recordFailures = db.transaction((keys: readonly string[], max: number, lockMs: number, now: number) => {
    forgetFailures.run(now - lockMs, now);
    for (const key of keys) upsertFailure.run({ key, max, lockUntil: now + lockMs, now });
  });
  const selectLock = db.prepare<[string, number], { one: number }>('SELECT 1 AS one FROM auth_login_failures WHERE key = ? AND locked_until > ?');
  const deleteFailures = db.prepare('DELETE FROM auth_login_failures WHERE key = ?');
  const selectApproval = db.prepare<[string, string], { scopes: string }>('SELECT scopes FROM auth_approvals WHERE username = ? AND client_id = ?');
  const upsertApproval = db.prepare('INSERT OR REPLACE INTO auth_approvals (username, client_id, scopes) VALUES (?, ?, ?)');

  return {
    addUser: async (record) =>
      insertUser.run(record.username, record.passwordHash, JSON.stringify(record.fhirUsers), record.disabled ? 1 : 0).changes === 1,
    getUser: async (username) => {
      const row = selectUser.get(username);
      return row ? user(row) : undefined;
    },
    listUsers: async () => selectUsers.all().map(user),
    updateUser: async (username, change) => {
      const sets: string[] = [];
      const values: Array<string | number> = [];
      if (change.passwordHash !== undefined) (sets.push('password_hash = ?'), values.push(change.passwordHash));
      if (change.disabled !== undefined) (sets.push('disabled = ?'), values.push(change.disabled ? 1 : 0));
      if (sets.length === 0) return selectUser.get(username) !== undefined;
      return db.prepare(`UPDATE auth_users SET ${sets.join(', ')} WHERE username = ?`).run(...values, username).changes === 1;
    },
    removeUser: async (username) => deleteUser.run(username).changes === 1,
    saveRefreshToken: async (token) => {
      insertRefresh.run({ ...token, patient: token.patient ?? null, offline: token.offline ? 1 : 0 });
    },
    findRefreshToken: async (hash) => {
      const row = selectRefresh.get(hash);
      return row ? refresh(row) : undefined;
    },
    claimRefreshToken: async (hash, nowMs) => claimRefresh.run(nowMs, hash).changes === 1,
    revokeFamily: async (familyId) => void revokeFamily.run(familyId),
    revokeUserRefreshTokens: async (username) => void revokeUser.run(username),
    recordIssuedToken: async (familyId, jti, expiresAt) => {
      deleteExpiredIssued.run(Date.now());
      insertIssued.run(jti, familyId, expiresAt);
    },
    familyTokens: async (familyId) => selectIssued.all(familyId).map((row) => ({ jti: row.jti, expiresAt: row.expires_at })),
    revokeJti: async (jti, expiresAt) => {
      deleteExpiredRevoked.run(Date.now());
      insertRevoked.run(jti, expiresAt);
    },
    familyRevoked: async (familyId) => revokedInFamily.get(familyId) !== undefined,
    isJtiRevoked: async (jti, nowMs) => selectRevokedJti.get(jti, nowMs) !== undefined,
    saveCode: async (code, nowMs) => {
      deleteExpiredCodes.run(nowMs);
      insertCode.run(code.hash, code.grant, code.expiresAt);
    },
    redeemCode: async (hash, familyId, nowMs) => redeem.immediate(hash, familyId, nowMs),
    claimAssertionJti: async (key, expiresAt, nowMs) => claimAssertion.immediate(key, expiresAt, nowMs),
    recordLoginFailure: async (keys, maxFailures, lockMs, nowMs) => recordFailures.immediate(keys, maxFailures, lockMs, nowMs),
    loginLocked: async (keys, nowMs) => keys.some((key) => selectLock.get(key, nowMs) !== undefined),
    clearLoginFailures: async (key) => void deleteFailures.run(key),
    getApproval: async (username, clientId) => {
      const row = selectApproval.get(username, clientId);
      return row ? (JSON.parse(row.scopes) as string[]) : undefined;
    },
    setApproval: async (username, clientId, scopes) => void upsertApproval.run(username, clientId, JSON.stringify(scopes)),
    close: async () => void db.close(),
  };
}
