/**
 * The MongoDB adapter's wiring of the commit hooks (mongo-storage.ts), run
 * without a server on the driver stand-in of mongo-fake.ts: on a replica set
 * `inside` listeners run in the transaction, before its commit, and may veto
 * it or write with it; `after` listeners run once it committed. Standalone
 * refuses `inside` listeners, and single writes a listener watches run under
 * the resource's lease.
 */
import t from 'tap';
import type { Db, MongoClient } from 'mongodb';
import { FhirError } from '../../src/errors';
import type { AnyResource } from '../../src/fhir/types';
import { createIndexer } from '../../src/search/indexer';
import { documentBody, type VersionDocument } from '../../src/storage/mongo/documents';
import { unitGuardKey } from '../../src/storage/mongo/guard-key';
import { mongoStorageOn } from '../../src/storage/mongo/mongo-storage';
import type { CommittedChange } from '../../src/storage/port';
import { rulesOfCommitHooks } from './contract-commit-hooks';
import { contextAt } from './contract-fixtures';
import { FakeMongo, type LoggedOperation } from './mongo-fake';

const ctx = contextAt('2024-04-01T09:00:00.000Z');
const indexer = createIndexer({ baseUrl: 'http://localhost:8080/fhir' });
const patient = (id: string, gender: string): AnyResource => ({ resourceType: 'Patient', id, gender });

function storageOn(fake: FakeMongo, supportsTransactions: boolean) {
  return mongoStorageOn(fake.client as unknown as MongoClient, fake.db as unknown as Db, indexer, supportsTransactions);
}

/** The log entries of the version writes (resources and history), each as `op@collection (in/out)`. */
const writes = (log: readonly LoggedOperation[]) =>
  log.filter((e) => ['insertOne', 'replaceOne', 'bulkWrite'].includes(e.op) && e.collection !== 'locks').map((e) => `${e.op}@${e.collection}`);

t.test('replica set: inside runs in the transaction before its commit, after once it committed', async (t) => {
  const fake = new FakeMongo();
  const storage = storageOn(fake, true);
  const seen: string[] = [];
  storage.onCommit!({
    types: ['Patient'],
    inside: async (changes, tx) => {
      const open =
        fake.log.filter((e) => e.op === 'startTransaction').length - fake.log.filter((e) => e.op !== 'startTransaction' && e.op.endsWith('Transaction')).length;
      seen.push(`inside ${changes.map((c) => `${c.id}/${c.versionId}`).join()} open=${open}`);
      // An outbox row: written through the unit's operations, it joins the transaction.
      await tx.create(ctx, { resourceType: 'Basic', id: `outbox-${changes[0]?.id}-${changes[0]?.versionId}`, code: { text: 'event' } } as AnyResource);
    },
    after: (changes) => void seen.push(`after ${changes.map((c) => `${c.id}/${c.versionId}`).join()} committed=${fake.log.at(-1)?.op === 'commitTransaction'}`),
  });

  const from = fake.log.length;
  await storage.create(ctx, patient('a', 'female'));
  const single = fake.log.slice(from);
  t.same(seen, ['inside a/1 open=1', 'after a/1 committed=true'], 'a single write: inside in the open transaction, after once committed');
  t.ok(
    single.filter((e) => e.collection === 'resources' || e.collection === 'history').every((e) => e.inTransaction),
    'the write, its history and the outbox row all carry the transaction',
  );
  t.same(writes(single), ['insertOne@resources', 'bulkWrite@history', 'insertOne@resources', 'bulkWrite@history'], 'the Patient, then the outbox row');
  t.equal(single.at(-1)?.op, 'commitTransaction', 'committed last');
  t.same(
    fake.stored('resources').map((d) => `${d.type}/${d.id}`),
    ['Patient/a', 'Basic/outbox-a-1'],
    'the outbox row committed with the change',
  );

  seen.length = 0;
  await storage.unitOfWork(async (tx) => {
    await tx.update(ctx, patient('a', 'male'));
    await tx.create(ctx, patient('b', 'other'));
  });
  t.same(seen, ['inside a/2,b/1 open=1', 'after a/2,b/1 committed=true'], 'a unit of work: one batch, inside before its commit');
});

t.test('replica set: an inside listener that throws aborts the transaction; after never runs', async (t) => {
  const fake = new FakeMongo();
  const storage = storageOn(fake, true);
  await storage.create(ctx, patient('a', 'female'));
  const after: CommittedChange[][] = [];
  storage.onCommit!({
    inside: async (changes, tx) => {
      await tx.create(ctx, { resourceType: 'Basic', id: 'outbox', code: { text: 'event' } } as AnyResource);
      if (changes.some((c) => c.after?.gender === 'unknown')) throw FhirError.of(409, 'conflict', 'vetoed');
    },
    after: (changes) => void after.push([...changes]),
  });
  const error = await storage.update(ctx, patient('a', 'unknown')).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(error instanceof FhirError && error.status === 409, 'the veto is the write’s answer');
  t.equal(fake.log.at(-1)?.op, 'abortTransaction');
  t.same(after, [], 'after is not shown a rolled-back unit');
  t.same(
    fake.stored('resources').map((d) => `${d.type}/${d.id}/${d.versionId}/${(documentBody(d as VersionDocument) as { gender?: string }).gender}`),
    ['Patient/a/1/female'],
    'neither the update nor the outbox row stayed',
  );
  t.equal((await storage.read(ctx, 'Patient', 'a'))?.versionId, 1);
});

t.test('standalone: inside listeners are refused; after listeners see single writes made under the lease', async (t) => {
  const fake = new FakeMongo();
  const storage = storageOn(fake, false);
  t.throws(() => storage.onCommit!({ inside: () => undefined }), /needs atomic units of work/, 'no atomic units, no inside listener');
  await storage.create(ctx, patient('a', 'female'));
  const after: CommittedChange[][] = [];
  storage.onCommit!({ types: ['Patient'], after: (changes) => void after.push([...changes]) });

  const from = fake.log.length;
  await storage.update(ctx, patient('a', 'male'));
  const logged = fake.log.slice(from);
  const lease = logged.filter((e) => e.collection === 'locks').map((e) => `${e.op} ${e.about}`);
  const key = `lease:${unitGuardKey('Patient/a')}`;
  t.same(lease, [`insertOne ${key}`, `deleteOne ${key}`], 'the write ran under the resource’s lease');
  const taken = logged.findIndex((e) => e.collection === 'locks' && e.op === 'insertOne');
  const released = logged.findIndex((e) => e.collection === 'locks' && e.op === 'deleteOne');
  const replaced = logged.findIndex((e) => e.op === 'replaceOne');
  t.ok(taken < replaced && replaced < released, 'the before read and the write happen inside the lease');
  t.notOk(
    logged.some((e) => e.op.endsWith('Transaction')),
    'no transaction on a standalone server',
  );
  t.same(
    after.map((batch) => batch.map((c) => [c.id, c.versionId, c.before?.gender, c.after?.gender])),
    [[['a', 2, 'female', 'male']]],
    'after: the change with the body it replaced',
  );
  await storage.delete(ctx, 'Organization', 'none');
  t.equal(after.length, 1, 'a type nobody watches takes the plain path and is not shown');
});

/**
 * The parallel-writes rule needs the isolation of real transactions (a
 * conflict aborts and retries one of them), which the stand-in does not
 * model; it runs against a server in mongo-contract.test.ts (MONGODB_URI).
 */
const NEEDS_ISOLATION = /parallel writes/;

t.test('the storage contract’s commit-hook rules, on the replica-set wiring over the stand-in', async (t) => {
  rulesOfCommitHooks((title, body) =>
    NEEDS_ISOLATION.test(title)
      ? undefined
      : t.test(title, async (t) => {
          const storage = storageOn(new FakeMongo(), true);
          t.teardown(() => storage.close());
          await body(t, storage);
        }),
  );
});
