import { MongoClient, type Db } from 'mongodb';
import type { AccountStore, CodeRedemption, RefreshTokenRecord, UserRecord } from './port';

/** The operations of a MongoDB collection this store uses (a fake in tests implements the same). */
export interface AccountCollection<T> {
  findOne(filter: Record<string, unknown>, options?: { projection?: Record<string, 0 | 1> }): Promise<T | null>;
  find(filter: Record<string, unknown>, options?: { projection?: Record<string, 0 | 1>; sort?: Record<string, 1 | -1> }): { toArray(): Promise<T[]> };
  insertOne(document: T): Promise<unknown>;
  updateOne(filter: Record<string, unknown>, update: Record<string, unknown>, options?: { upsert?: boolean }): Promise<{ matchedCount: number; modifiedCount: number }>;
  updateMany(filter: Record<string, unknown>, update: Record<string, unknown>): Promise<unknown>;
  deleteOne(filter: Record<string, unknown>): Promise<{ deletedCount: number }>;
  deleteMany(filter: Record<string, unknown>): Promise<unknown>;
  createIndex?(keys: Record<string, 1>, options?: { unique?: boolean }): Promise<unknown>;
}

/** The collections, by name: `auth_users`, `auth_refresh_tokens`, `auth_issued_tokens`, `auth_revoked_tokens`, `auth_codes`, `auth_used_assertions`, `auth_login_failures`, `auth_approvals`. */
export interface AccountCollections {
  users: AccountCollection<UserRecord & { _id: string }>;
  refreshTokens: AccountCollection<RefreshTokenRecord & { _id: string }>;
  issuedTokens: AccountCollection<{ _id: string; familyId: string; expiresAt: number }>;
  revokedTokens: AccountCollection<{ _id: string; expiresAt: number }>;
  codes: AccountCollection<{ _id: string; grant: string; expiresAt: number; familyId?: string }>;
  usedAssertions: AccountCollection<{ _id: string; expiresAt: number }>;
  loginFailures: AccountCollection<{ _id: string; count: number; lockedUntil: number; lastFailureAt?: number }>;
  approvals: AccountCollection<{ _id: string; scopes: string[] }>;
}

const DUPLICATE_KEY = 11000;

function strip<T extends { _id: string }>(document: T | null): Omit<T, '_id'> | undefined {
  if (!document) return undefined;
  const { _id, ...rest } = document;
  void _id;
  return rest;
}

/** The store over the given collections; each record's natural key is its `_id`, so uniqueness needs no extra index. */
export function accountStoreOn(collections: AccountCollections, close: () => Promise<void> = async () => {}): AccountStore {
  const { users, refreshTokens, issuedTokens, revokedTokens, codes, usedAssertions, loginFailures, approvals } = collections;
  /**
   * Counts a whole lock period old with no lock in force are forgotten
   * first (see port.ts); a lock that has ended starts the count afresh (a
   * conditional update), then the increment, then the lock (set, or
   * extended) once the count reaches the limit: each step one atomic
   * update, so parallel failures are all counted.
   */
  const recordLoginFailure = async (keys: readonly string[], maxFailures: number, lockMs: number, nowMs: number): Promise<void> => {
    // A document written before lastFailureAt existed reads as "long ago".
    await loginFailures.deleteMany({ $or: [{ lastFailureAt: { $lt: nowMs - lockMs } }, { lastFailureAt: { $exists: false } }], lockedUntil: { $lte: nowMs } });
    for (const key of keys) {
      await loginFailures.updateOne({ _id: key, lockedUntil: { $gt: 0, $lte: nowMs } }, { $set: { count: 0, lockedUntil: 0 } });
      await loginFailures.updateOne({ _id: key }, { $inc: { count: 1 }, $set: { lastFailureAt: nowMs }, $setOnInsert: { lockedUntil: 0 } }, { upsert: true });
      await loginFailures.updateOne({ _id: key, count: { $gte: maxFailures } }, { $set: { lockedUntil: nowMs + lockMs } });
    }
  };
  /** The `_id` is the key: of parallel inserts (in any process), one succeeds and the others hit the duplicate key. */
  const claimAssertionJti = async (key: string, expiresAt: number, nowMs: number): Promise<boolean> => {
    await usedAssertions.deleteMany({ expiresAt: { $lt: nowMs } });
    try {
      await usedAssertions.insertOne({ _id: key, expiresAt });
      return true;
    } catch (error) {
      if ((error as { code?: number }).code === DUPLICATE_KEY) return false;
      throw error;
    }
  };
  /** One conditional update claims the code: of parallel redemptions (in any process), one matches the unclaimed, unexpired document. */
  const redeemCode = async (hash: string, familyId: string, nowMs: number): Promise<CodeRedemption> => {
    const claimed = (await codes.updateOne({ _id: hash, familyId: { $exists: false }, expiresAt: { $gte: nowMs } }, { $set: { familyId } })).modifiedCount === 1;
    const document = await codes.findOne({ _id: hash });
    if (claimed && document) return { outcome: 'ok', grant: document.grant };
    if (document?.familyId !== undefined) return { outcome: 'reused', familyId: document.familyId };
    return { outcome: 'invalid' };
  };
  const approvalId = (username: string, clientId: string) => JSON.stringify([username, clientId]);
  return {
    addUser: async (record) => {
      try {
        await users.insertOne({ _id: record.username, ...record });
        return true;
      } catch (error) {
        if ((error as { code?: number }).code === DUPLICATE_KEY) return false;
        throw error;
      }
    },
    getUser: async (username) => strip(await users.findOne({ _id: username })),
    listUsers: async () => (await users.find({}, { sort: { _id: 1 } }).toArray()).map((document) => strip(document) as UserRecord),
    updateUser: async (username, change) => {
      const set = Object.fromEntries(Object.entries(change).filter(([, value]) => value !== undefined));
      if (Object.keys(set).length === 0) return (await users.findOne({ _id: username })) !== null;
      return (await users.updateOne({ _id: username }, { $set: set })).matchedCount === 1;
    },
    removeUser: async (username) => (await users.deleteOne({ _id: username })).deletedCount === 1,
    saveRefreshToken: async (token) => void (await refreshTokens.insertOne({ _id: token.hash, ...token })),
    findRefreshToken: async (hash) => strip(await refreshTokens.findOne({ _id: hash })),
    // One conditional update: of two parallel claims, only one matches the unused, unrevoked document.
    claimRefreshToken: async (hash, nowMs) =>
      (await refreshTokens.updateOne({ _id: hash, usedAt: { $exists: false }, revoked: false }, { $set: { usedAt: nowMs } })).modifiedCount === 1,
    revokeFamily: async (familyId) => void (await refreshTokens.updateMany({ familyId }, { $set: { revoked: true } })),
    revokeUserRefreshTokens: async (username) => void (await refreshTokens.updateMany({ username }, { $set: { revoked: true } })),
    // An expired access token needs no revocation: its documents go as new ones arrive.
    recordIssuedToken: async (familyId, jti, expiresAt) => {
      await issuedTokens.deleteMany({ expiresAt: { $lt: Date.now() } });
      await issuedTokens.updateOne({ _id: jti }, { $set: { familyId, expiresAt } }, { upsert: true });
    },
    familyTokens: async (familyId) =>
      (await issuedTokens.find({ familyId }).toArray()).map((document) => ({ jti: document._id, expiresAt: document.expiresAt })),
    revokeJti: async (jti, expiresAt) => {
      await revokedTokens.deleteMany({ expiresAt: { $lt: Date.now() } });
      await revokedTokens.updateOne({ _id: jti }, { $set: { expiresAt } }, { upsert: true });
    },
    familyRevoked: async (familyId) => (await refreshTokens.findOne({ familyId, revoked: true }, { projection: { _id: 1 } })) !== null,
    isJtiRevoked: async (jti, nowMs) => (await revokedTokens.findOne({ _id: jti, expiresAt: { $gte: nowMs } }, { projection: { _id: 1 } })) !== null,
    saveCode: async (code, nowMs) => {
      await codes.deleteMany({ expiresAt: { $lt: nowMs } });
      await codes.insertOne({ _id: code.hash, grant: code.grant, expiresAt: code.expiresAt });
    },
    redeemCode,
    claimAssertionJti,
    recordLoginFailure,
    loginLocked: async (keys, nowMs) => (await loginFailures.findOne({ _id: { $in: [...keys] }, lockedUntil: { $gt: nowMs } }, { projection: { _id: 1 } })) !== null,
    clearLoginFailures: async (key) => void (await loginFailures.deleteOne({ _id: key })),
    getApproval: async (username, clientId) => (await approvals.findOne({ _id: approvalId(username, clientId) }))?.scopes,
    setApproval: async (username, clientId, scopes) =>
      void (await approvals.updateOne({ _id: approvalId(username, clientId) }, { $set: { scopes } }, { upsert: true })),
    close,
  };
}

export function accountCollections(db: Db): AccountCollections {
  return {
    users: db.collection('auth_users') as unknown as AccountCollections['users'],
    refreshTokens: db.collection('auth_refresh_tokens') as unknown as AccountCollections['refreshTokens'],
    issuedTokens: db.collection('auth_issued_tokens') as unknown as AccountCollections['issuedTokens'],
    revokedTokens: db.collection('auth_revoked_tokens') as unknown as AccountCollections['revokedTokens'],
    codes: db.collection('auth_codes') as unknown as AccountCollections['codes'],
    usedAssertions: db.collection('auth_used_assertions') as unknown as AccountCollections['usedAssertions'],
    loginFailures: db.collection('auth_login_failures') as unknown as AccountCollections['loginFailures'],
    approvals: db.collection('auth_approvals') as unknown as AccountCollections['approvals'],
  };
}

/** The account store in the server's MongoDB database, on a client of its own. */
export async function openMongoAccountStore(uri: string, dbName: string): Promise<AccountStore> {
  const client = await MongoClient.connect(uri);
  const collections = accountCollections(client.db(dbName));
  await collections.refreshTokens.createIndex?.({ familyId: 1 });
  await collections.refreshTokens.createIndex?.({ username: 1 });
  await collections.issuedTokens.createIndex?.({ familyId: 1 });
  await collections.issuedTokens.createIndex?.({ expiresAt: 1 });
  await collections.revokedTokens.createIndex?.({ expiresAt: 1 });
  await collections.codes.createIndex?.({ expiresAt: 1 });
  await collections.usedAssertions.createIndex?.({ expiresAt: 1 });
  await collections.loginFailures.createIndex?.({ lastFailureAt: 1 });
  return accountStoreOn(collections, () => client.close());
}
