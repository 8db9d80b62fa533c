/**
 * The account store contract, on both engines: SQLite for real, MongoDB's
 * adapter over in-memory collections whose filters mingo (an independent
 * implementation of MongoDB's query language) evaluates.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Query } from 'mingo';
import t, { type Test } from 'tap';
import { accountStoreOn, type AccountCollection, type AccountCollections } from '../../src/storage/accounts/mongo';
import type { AccountStore, RefreshTokenRecord } from '../../src/storage/accounts/port';
import { openSqliteAccountStore } from '../../src/storage/accounts/sqlite';

/** A collection of plain documents: mingo for filters, `$set` and upserts as MongoDB applies them. */
function fakeCollection<T extends { _id: string }>(): AccountCollection<T> {
  const documents: T[] = [];
  const matching = (filter: Record<string, unknown>) => documents.filter((document) => new Query(filter).test(document));
  const apply = (document: T, update: Record<string, unknown>) => {
    Object.assign(document, update.$set as object);
    const record = document as Record<string, unknown>;
    for (const [name, by] of Object.entries((update.$inc ?? {}) as Record<string, number>)) record[name] = Number(record[name] ?? 0) + by;
    return document;
  };
  return {
    findOne: async (filter) => structuredClone(matching(filter)[0] ?? null),
    find: (filter, options) => ({
      toArray: async () => {
        const found = structuredClone(matching(filter));
        if (options?.sort?._id) found.sort((a, b) => (a._id < b._id ? -1 : 1));
        return found;
      },
    }),
    insertOne: async (document) => {
      if (documents.some((existing) => existing._id === document._id)) throw Object.assign(new Error('E11000 duplicate key'), { code: 11000 });
      documents.push(structuredClone(document));
    },
    updateOne: async (filter, update, options) => {
      const [found] = matching(filter);
      if (found) return (apply(found, update), { matchedCount: 1, modifiedCount: 1 });
      if (options?.upsert) documents.push(apply({ _id: filter._id, ...(update.$setOnInsert as object) } as T, update));
      return { matchedCount: 0, modifiedCount: 0 };
    },
    updateMany: async (filter, update) => matching(filter).forEach((document) => apply(document, update)),
    deleteMany: async (filter) => {
      for (const document of matching(filter)) documents.splice(documents.indexOf(document), 1);
    },
    deleteOne: async (filter) => {
      const index = documents.findIndex((document) => new Query(filter).test(document));
      if (index >= 0) documents.splice(index, 1);
      return { deletedCount: index >= 0 ? 1 : 0 };
    },
  };
}

function fakeMongoStore(): AccountStore {
  const collections: AccountCollections = {
    users: fakeCollection(),
    refreshTokens: fakeCollection(),
    issuedTokens: fakeCollection(),
    revokedTokens: fakeCollection(),
    codes: fakeCollection(),
    usedAssertions: fakeCollection(),
    loginFailures: fakeCollection(),
    approvals: fakeCollection(),
  };
  return accountStoreOn(collections);
}

const refresh = (extra: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
  hash: 'h1',
  familyId: 'f1',
  username: 'alice',
  clientId: 'app',
  scope: 'patient/*.rs offline_access',
  fhirUser: 'Patient/p1',
  patient: 'p1',
  offline: true,
  expiresAt: 2_000_000_000_000,
  revoked: false,
  ...extra,
});

function contract(t: Test, open: () => AccountStore): void {
  t.test('users: add once, read, list, update, remove', async (t) => {
    const store = open();
    t.teardown(() => store.close());
    t.equal(await store.addUser({ username: 'bob', passwordHash: 'x', fhirUsers: ['RelatedPerson/r1', 'RelatedPerson/r2'], disabled: false }), true);
    t.equal(await store.addUser({ username: 'bob', passwordHash: 'y', fhirUsers: [], disabled: false }), false, 'the username is taken');
    t.equal(await store.addUser({ username: 'alice', passwordHash: 'z', fhirUsers: ['Patient/p1'], disabled: false }), true);
    t.same(await store.getUser('bob'), { username: 'bob', passwordHash: 'x', fhirUsers: ['RelatedPerson/r1', 'RelatedPerson/r2'], disabled: false });
    t.same((await store.listUsers()).map((user) => user.username), ['alice', 'bob'], 'sorted by username');
    t.equal(await store.updateUser('bob', { disabled: true, passwordHash: 'new' }), true);
    t.match(await store.getUser('bob'), { disabled: true, passwordHash: 'new' });
    t.equal(await store.updateUser('nobody', { disabled: true }), false);
    t.equal(await store.removeUser('bob'), true);
    t.equal(await store.removeUser('bob'), false);
    t.equal(await store.getUser('bob'), undefined);
  });

  t.test('refresh tokens: claimed once, revoked by family and by user', async (t) => {
    const store = open();
    t.teardown(() => store.close());
    await store.saveRefreshToken(refresh());
    await store.saveRefreshToken(refresh({ hash: 'h2', patient: undefined }));
    await store.saveRefreshToken(refresh({ hash: 'h3', familyId: 'f2' }));
    await store.saveRefreshToken(refresh({ hash: 'h4', familyId: 'f3', username: 'carol' }));
    t.same(await store.findRefreshToken('h1'), refresh());
    t.notOk((await store.findRefreshToken('h2'))?.patient, 'no patient stays absent');
    const claims = await Promise.all([store.claimRefreshToken('h1', 5), store.claimRefreshToken('h1', 6)]);
    t.same(claims.filter(Boolean).length, 1, 'two parallel claims: exactly one wins');
    t.equal((await store.findRefreshToken('h1'))?.usedAt !== undefined, true);
    t.equal(await store.familyRevoked('f1'), false);
    await store.revokeFamily('f1');
    t.equal((await store.findRefreshToken('h2'))?.revoked, true);
    t.equal(await store.familyRevoked('f1'), true, 'the family reads as revoked');
    t.equal(await store.familyRevoked('f2'), false);
    t.equal(await store.claimRefreshToken('h2', 7), false, 'a revoked token cannot be claimed');
    t.equal((await store.findRefreshToken('h3'))?.revoked, false, 'another family is untouched');
    await store.revokeUserRefreshTokens('alice');
    t.equal((await store.findRefreshToken('h3'))?.revoked, true);
    t.equal((await store.findRefreshToken('h4'))?.revoked, false, "another user's tokens are untouched");
  });

  t.test('issued and revoked access-token ids; approvals', async (t) => {
    const store = open();
    t.teardown(() => store.close());
    // Times ahead of the clock: the store forgets rows that expired before now as new ones arrive.
    const at = Date.now() + 86_400_000;
    await store.recordIssuedToken('f1', 'j1', at + 100);
    await store.recordIssuedToken('f1', 'j2', at + 200);
    await store.recordIssuedToken('f2', 'j3', at + 300);
    t.same((await store.familyTokens('f1')).sort((a, b) => a.expiresAt - b.expiresAt), [{ jti: 'j1', expiresAt: at + 100 }, { jti: 'j2', expiresAt: at + 200 }]);
    await store.revokeJti('j1', at + 100);
    await store.revokeJti('j3', at + 300);
    t.equal(await store.isJtiRevoked('j3', at + 150), true);
    t.equal(await store.isJtiRevoked('j1', at + 150), false, 'an expired revocation no longer counts');
    t.equal(await store.isJtiRevoked('j2', at + 150), false, 'issued, not revoked');
    await store.recordIssuedToken('f1', 'gone', Date.now() - 1);
    await store.revokeJti('gone', Date.now() - 1);
    await store.recordIssuedToken('f1', 'j4', at + 400);
    await store.revokeJti('j4', at + 400);
    t.notOk((await store.familyTokens('f1')).some((row) => row.jti === 'gone'), 'an expired issued id is forgotten when the next one is recorded');
    t.equal(await store.isJtiRevoked('gone', 0), false, 'and an expired revocation when the next one is');
    t.equal(await store.getApproval('alice', 'app'), undefined);
    await store.setApproval('alice', 'app', ['openid', 'patient/*.rs']);
    await store.setApproval('alice', 'app', ['patient/*.rs']);
    t.same(await store.getApproval('alice', 'app'), ['patient/*.rs'], 'the latest approval');
    t.equal(await store.getApproval('alice', 'other'), undefined, 'per client');
  });

  t.test('client assertion ids: once per client until they expire, whoever asks in parallel', async (t) => {
    const store = open();
    t.teardown(() => store.close());
    const parallel = await Promise.all([1, 2, 3].map(() => store.claimAssertionJti('app j1', 2_000, 1_000)));
    t.same(parallel.filter(Boolean).length, 1, 'one of three parallel claims wins');
    t.equal(await store.claimAssertionJti('other j1', 2_000, 1_000), true, 'keys differ per client');
    t.equal(await store.claimAssertionJti('app j1', 3_000, 1_999), false, 'still recorded');
    t.equal(await store.claimAssertionJti('app j1', 3_000, 2_001), true, 'forgotten once expired');
  });

  t.test('sign-in failures: a lock at the limit, extended by more failures, counted afresh once it ends', async (t) => {
    const store = open();
    t.teardown(() => store.close());
    const keys = ['user:alice', 'address:a'];
    await Promise.all([1, 2].map(() => store.recordLoginFailure(keys, 3, 1_000, 100)));
    t.equal(await store.loginLocked(keys, 100), false, 'two failures: not yet');
    await store.recordLoginFailure(['user:alice'], 3, 1_000, 200);
    t.equal(await store.loginLocked(['user:alice'], 201), true, 'the third: locked');
    t.equal(await store.loginLocked(['address:a'], 201), false, 'the address has two');
    t.equal(await store.loginLocked(['address:b', 'user:alice'], 201), true, 'any locked key locks');
    await store.recordLoginFailure(['user:alice'], 3, 1_000, 900);
    t.equal(await store.loginLocked(['user:alice'], 1_500), true, 'a failure while locked extends the lock');
    t.equal(await store.loginLocked(['user:alice'], 1_901), false, 'the lock ends');
    await store.recordLoginFailure(['address:a'], 3, 1_000, 1_050);
    await store.recordLoginFailure(['user:alice'], 3, 1_000, 2_000);
    t.equal(await store.loginLocked(['user:alice'], 2_001), false, 'and the count starts afresh');
    t.equal(await store.loginLocked(['address:a'], 2_001), true, 'the address reaches three within the period');
    await store.clearLoginFailures('address:a');
    t.equal(await store.loginLocked(['address:a'], 2_001), false, 'cleared');
  });

  t.test('sign-in failures: counted within one lock period, then forgotten', async (t) => {
    const store = open();
    t.teardown(() => store.close());
    // Two failures, then the third more than a lock period (1 s) after the second: a fresh count, no lock.
    await store.recordLoginFailure(['user:bob'], 3, 1_000, 10_000);
    await store.recordLoginFailure(['user:bob'], 3, 1_000, 10_500);
    await store.recordLoginFailure(['user:bob'], 3, 1_000, 11_501);
    t.equal(await store.loginLocked(['user:bob'], 11_502), false, 'failures a lock period apart do not add up');
    await store.recordLoginFailure(['user:bob'], 3, 1_000, 11_900);
    await store.recordLoginFailure(['user:bob'], 3, 1_000, 12_400);
    t.equal(await store.loginLocked(['user:bob'], 12_401), true, 'three within the period lock');
    // A lock in force is never forgotten, whenever the next failure elsewhere comes.
    await store.recordLoginFailure(['user:carol'], 3, 1_000, 13_300);
    t.equal(await store.loginLocked(['user:bob'], 13_350), true, 'still locked until 13,400');
    t.equal(await store.loginLocked(['user:bob'], 13_401), false, 'the lock ends on time');
    // Many usernames guessed once each: each is forgotten at the next failure a lock period later.
    for (let n = 0; n < 5; n++) await store.recordLoginFailure([`user:guess${n}`], 3, 1_000, 20_000);
    await store.recordLoginFailure(['user:guess0'], 3, 1_000, 21_001);
    await store.recordLoginFailure(['user:guess0'], 3, 1_000, 21_002);
    t.equal(await store.loginLocked(['user:guess0'], 21_003), false, 'the old failure of guess0 was forgotten: two, not three');
    await store.recordLoginFailure(['user:guess1'], 3, 1_000, 21_003);
    await store.recordLoginFailure(['user:guess1'], 3, 1_000, 21_004);
    t.equal(await store.loginLocked(['user:guess1'], 21_005), false, 'and so was guess1');
  });

  t.test('authorization codes: one redemption wins, later ones learn its family, expired ones are invalid', async (t) => {
    const store = open();
    t.teardown(() => store.close());
    await store.saveCode({ hash: 'c1', grant: '{"scope":"openid"}', expiresAt: 1_060 }, 1_000);
    await store.saveCode({ hash: 'c2', grant: '{}', expiresAt: 1_060 }, 1_000);
    const parallel = await Promise.all(['f1', 'f2', 'f3'].map((family) => store.redeemCode('c1', family, 1_010)));
    const winners = parallel.filter((redemption) => redemption.outcome === 'ok');
    t.equal(winners.length, 1, 'exactly one of three parallel redemptions wins');
    t.same(winners[0], { outcome: 'ok', grant: '{"scope":"openid"}' });
    const winnerFamily = ['f1', 'f2', 'f3'][parallel.indexOf(winners[0]!)];
    t.same(
      parallel.filter((redemption) => redemption.outcome !== 'ok'),
      [{ outcome: 'reused', familyId: winnerFamily }, { outcome: 'reused', familyId: winnerFamily }],
      "the others are replays naming the winner's family",
    );
    t.same(await store.redeemCode('c2', 'f9', 1_061), { outcome: 'invalid' }, 'expired');
    t.same(await store.redeemCode('nope', 'f9', 1_000), { outcome: 'invalid' }, 'unknown');
    await store.saveCode({ hash: 'c3', grant: '{}', expiresAt: 3_000 }, 2_000);
    t.same(await store.redeemCode('c1', 'f9', 1_020), { outcome: 'invalid' }, 'expired codes are forgotten when a new one is saved');
  });
}

t.test('SQLite', async (t) => contract(t, () => openSqliteAccountStore(':memory:')));
t.test('MongoDB adapter (mingo-evaluated collections)', async (t) => contract(t, fakeMongoStore));

t.test('SQLite: a database from before failures were forgotten gains the column, its old counts go', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-accounts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'old.db');
  const old = new Database(path);
  old.exec('CREATE TABLE auth_login_failures (key TEXT PRIMARY KEY, count INTEGER NOT NULL, locked_until INTEGER NOT NULL)');
  old.prepare('INSERT INTO auth_login_failures VALUES (?, ?, ?)').run('user:old', 2, 0);
  old.close();
  const store = openSqliteAccountStore(path);
  t.teardown(() => store.close());
  await store.recordLoginFailure(['user:old'], 3, 1_000, 5_000);
  t.equal(await store.loginLocked(['user:old'], 5_001), false, 'the count of unknown age was forgotten: one failure, not three');
  await store.recordLoginFailure(['user:old'], 3, 1_000, 5_100);
  await store.recordLoginFailure(['user:old'], 3, 1_000, 5_200);
  t.equal(await store.loginLocked(['user:old'], 5_201), true, 'and counting works on the upgraded table');
});
