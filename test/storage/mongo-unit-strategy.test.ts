/**
 * How the MongoDB adapter runs a unit of work on each topology: the decision
 * is pure, so it is tested here without a server (mongo-contract.test.ts runs
 * the units themselves when MONGODB_URI is set).
 */
import type { Db, MongoClient } from 'mongodb';
import t from 'tap';
import { createIndexer } from '../../src/search/indexer';
import { mongoStorageOn, topologySupportsTransactions } from '../../src/storage/mongo/mongo-storage';
import { FhirError } from '../../src/errors';
import { unitGuardKey } from '../../src/storage/mongo/guard-key';
import { unitStrategy } from '../../src/storage/mongo/unit-strategy';

const guard = 'Patient?identifier=urn%3Aexample%3Amrn%7C42';

t.test('replica set: always a transaction, taking the guard when there is one', async (t) => {
  t.same(unitStrategy(true), { kind: 'transaction' });
  t.same(unitStrategy(true, { guard }), { kind: 'transaction', guardKey: unitGuardKey(guard) });
});

t.test('standalone with a guard: under the lease named by the guard, no transaction', async (t) => {
  t.same(unitStrategy(false, { guard }), { kind: 'lease', guardKey: unitGuardKey(guard) });
});

t.test('standalone without a guard: 501 not-supported naming the replica set requirement', async (t) => {
  let caught: unknown;
  try {
    unitStrategy(false, {});
  } catch (error) {
    caught = error;
  }
  t.ok(caught instanceof FhirError);
  t.match(caught, { status: 501, issues: [{ code: 'not-supported', diagnostics: /replica set/ }] });
});

t.test('guard keys: the same guard names the same lock, a different one another, never a search criteria key', async (t) => {
  t.equal(unitGuardKey(guard), unitGuardKey(guard));
  t.not(unitGuardKey(guard), unitGuardKey(`${guard}0`));
  t.match(unitGuardKey('x'.repeat(10_000)), /^[0-9a-f]{64}$/, 'bounded length whatever the criteria');
});

t.test('MongoStorage.unitOfWork on a standalone server: the 501 is a rejected promise, never a synchronous throw', async (t) => {
  // No server: the storage only names its collections when it is built, and this unit never reaches one.
  const db = { collection: () => ({}) } as unknown as Db;
  const storage = mongoStorageOn({} as MongoClient, db, createIndexer({ baseUrl: 'http://localhost/fhir' }), false);
  let ran = false;
  let pending: Promise<unknown> | undefined;
  t.doesNotThrow(() => {
    pending = storage.unitOfWork(async () => (ran = true));
  }, 'the call itself returns');
  t.ok(pending instanceof Promise);
  const outcome = await pending!.then(
    () => 'resolved',
    (error: unknown) => error,
  );
  t.ok(outcome instanceof FhirError, 'a caller chaining .then sees the error');
  t.match(outcome, { status: 501, issues: [{ code: 'not-supported', diagnostics: /replica set/ }] });
  t.equal(ran, false, 'the work never ran');
});

t.test('the topology, from hello: a replica set or mongos runs transactions, a standalone server does not', async (t) => {
  const answering = (hello: Record<string, unknown>) => ({ admin: () => ({ command: async () => hello }) }) as unknown as Pick<Db, 'admin'>;
  t.equal(await topologySupportsTransactions(answering({ isWritablePrimary: true })), false, 'standalone');
  t.equal(await topologySupportsTransactions(answering({ isWritablePrimary: true, setName: 'rs0' })), true, 'replica set (also a single node)');
  t.equal(await topologySupportsTransactions(answering({ isWritablePrimary: true, msg: 'isdbgrid' })), true, 'sharded cluster (mongos)');
});
