/**
 * The storage contract and the MongoDB-only behaviours, against a real
 * server named by MONGODB_URI (each rule in a fresh database, all dropped at
 * the end). Without MONGODB_URI everything here is skipped, visibly; the
 * query documents are still checked by mongo-differential.test.ts.
 *
 * The contract's unitOfWork rules need transactions, hence a replica set (a
 * single-node one will do: `mongod --replSet rs0` then `rs.initiate()`). On a
 * standalone server the contract is skipped and the standalone behaviours
 * (501 without a guard) are tested instead; guarded units run on either.
 */
import { MongoClient } from 'mongodb';
import t, { type Test } from 'tap';
import { collectionNames, indexDefinitions } from '../../src/storage/mongo/indexes';
import { createMongoStorage, type MongoStorage } from '../../src/storage/mongo/mongo-storage';
import type { StorageOps } from '../../src/storage/port';
import { contextAt, contractIndexer, mrn, searchOf, storageContract, token } from './contract';

const uri = process.env.MONGODB_URI;

if (uri === undefined || uri === '') {
  console.log('# MONGODB_URI not set: MongoDB contract suite skipped');
  t.skip('MONGODB_URI not set: MongoDB contract suite skipped', () => {});
} else {
  runAgainst(uri);
}

function runAgainst(uri: string): void {
  const admin = new MongoClient(uri);
  const databases: string[] = [];
  t.teardown(async () => {
    for (const name of databases) await admin.db(name).dropDatabase();
    await admin.close();
  });

  /** A storage over a database no other rule uses, emptied first in case a previous run left it behind. */
  const freshStorage = async (): Promise<MongoStorage> => {
    const dbName = `concord_test_${process.pid}_${databases.length + 1}`;
    databases.push(dbName);
    await admin.db(dbName).dropDatabase();
    return createMongoStorage({ uri, dbName, indexer: contractIndexer });
  };

  t.test('mongo', async (t) => {
    const probe = await freshStorage();
    const replicaSet = probe.supportsTransactions;
    await probe.close();
    t.comment(`MongoDB at MONGODB_URI is ${replicaSet ? 'a replica set or sharded cluster' : 'standalone'}`);

    if (replicaSet) await storageContract(t, 'mongodb', freshStorage);
    else t.skip('standalone MongoDB: the contract needs transactions (a replica set) and is skipped', () => {});

    const ctx = contextAt('2024-05-01T00:00:00.000Z');
    const withStorage = (title: string, body: (t: Test, storage: MongoStorage) => Promise<void>) =>
      t.test(title, async (t) => {
        const storage = await freshStorage();
        t.teardown(() => storage.close());
        await body(t, storage);
      });

    withStorage('mongo: ensureIndexes creates every documented index', async (t, storage) => {
      const db = admin.db(databases[databases.length - 1]);
      for (const collection of Object.values(collectionNames)) {
        const names = (await db.collection(collection).indexes()).map((index) => index.name);
        for (const definition of indexDefinitions.filter((d) => d.collection === collection)) {
          t.ok(names.includes(definition.options.name), `${collection}.${definition.options.name}`);
        }
      }
      await storage.ensureIndexes();
      t.pass('idempotent');
    });

    withStorage('mongo: a version whose history row a crash left unwritten is still read, then recovered', async (t, storage) => {
      await storage.create(ctx, { resourceType: 'Patient', id: 'a', gender: 'female' });
      // What a crash between the commit and the history write leaves behind.
      const db = admin.db(databases[databases.length - 1]);
      await db.collection('history').deleteOne({ type: 'Patient', id: 'a', versionId: 1 });
      await db.collection('resources').updateOne({ type: 'Patient', id: 'a' }, { $set: { historyPending: true } });
      t.match(await storage.vread(ctx, 'Patient', 'a', 1), { versionId: 1, resource: { gender: 'female' } }, 'vread falls back to the current document');
      t.equal(await storage.completePendingHistory(), 1);
      t.equal(await storage.completePendingHistory(), 0, 'the marker is cleared');
      t.same(
        (await storage.history(ctx, { resourceType: 'Patient', id: 'a', count: 10, offset: 0 })).records.map((r) => r.versionId),
        [1],
      );
      // And the next write repairs it as well, before the version is replaced.
      await db.collection('history').deleteOne({ type: 'Patient', id: 'a', versionId: 1 });
      await db.collection('resources').updateOne({ type: 'Patient', id: 'a' }, { $set: { historyPending: true } });
      await storage.update(ctx, { resourceType: 'Patient', id: 'a', gender: 'male' });
      const history = await storage.history(ctx, { resourceType: 'Patient', id: 'a', count: 10, offset: 0 });
      t.same(history.records.map((r) => r.versionId), [2, 1]);
      t.match(history.records[1], { resource: { gender: 'female' } });
    });

    withStorage('mongo: concurrent writers of one resource get versions without gaps', async (t, storage) => {
      await storage.create(ctx, { resourceType: 'Patient', id: 'a' });
      const results = await Promise.all(Array.from({ length: 8 }, () => storage.update(ctx, { resourceType: 'Patient', id: 'a' })));
      t.same(results.map((r) => r.record.versionId).sort((x, y) => x - y), [2, 3, 4, 5, 6, 7, 8, 9]);
      t.equal((await storage.history(ctx, { resourceType: 'Patient', id: 'a', count: 20, offset: 0 })).total, 9);
    });

    withStorage('mongo: guarded units over the same criteria create exactly one resource (either topology)', async (t, storage) => {
      const criteria = searchOf(['Patient'], { where: [token('identifier', { system: mrn, code: '42' })] });
      const createIfNone = (id: string) =>
        storage.unitOfWork(
          async (tx: StorageOps) => {
            const found = await tx.search(ctx, criteria);
            await new Promise((resolve) => setTimeout(resolve, 10));
            if (found.total === 0) await tx.create(ctx, { resourceType: 'Patient', id, identifier: [{ system: mrn, value: '42' }] });
            return found.total === 0 ? 'created' : 'found';
          },
          { guard: `Patient?identifier=${mrn}|42` },
        );
      const outcomes = await Promise.all([createIfNone('x'), createIfNone('y'), createIfNone('z')]);
      t.same(outcomes.sort(), ['created', 'found', 'found']);
      t.equal((await storage.search(ctx, criteria)).total, 1);
    });

    if (!replicaSet) {
      withStorage('mongo standalone: a unit of work without a guard answers 501 and writes nothing', async (t, storage) => {
        const outcome = await storage.unitOfWork((tx) => tx.create(ctx, { resourceType: 'Patient', id: 'a' })).then(
          () => 'committed',
          (error: unknown) => error,
        );
        t.match(outcome, { status: 501, issues: [{ code: 'not-supported', diagnostics: /replica set/ }] });
        t.equal(await storage.read(ctx, 'Patient', 'a'), undefined);
      });
    }
  });
}
