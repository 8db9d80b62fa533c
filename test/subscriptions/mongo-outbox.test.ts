/**
 * The outbox on MongoDB (a replica set), with the delivery engine on the
 * adapter and the driver stand-in of test/storage/mongo-fake.ts (no server
 * here): a subscription's events row is written inside the change's own
 * transaction, so it commits with the change, and vanishes with it when
 * the transaction aborts, leaving the numbers without a gap. Standalone
 * MongoDB has no atomic units, hence no outbox: Subscription writes answer 501.
 */
import { Writable } from 'node:stream';
import t from 'tap';
import type { Db, MongoClient } from 'mongodb';
import { systemContext } from '../../src/context';
import { FhirError } from '../../src/errors';
import type { AnyResource } from '../../src/fhir/types';
import { buildServer } from '../../src/http/server';
import { createIndexer } from '../../src/search/indexer';
import { mongoStorageOn } from '../../src/storage/mongo/mongo-storage';
import { startSubscriptions, subscriptionsUnavailable } from '../../src/subscriptions';
import { EVENTS_TYPE, lastEventNumber, readEvent } from '../../src/subscriptions/outbox';
import { createValidator } from '../../src/validation/validator';
import { FakeMongo, type LoggedOperation } from '../storage/mongo-fake';
import { BASE_URL, encounter, fhirJson } from './world';

const ctx = systemContext(BASE_URL);
const indexer = createIndexer({ baseUrl: BASE_URL });
const config = { endpointAllowlist: [], maxAttempts: 1, retryBaseMs: 10, timeoutMs: 1000 };

/** A websocket subscription, active, nobody bound: its events stay in the outbox for the test to read. */
const subscription = { resourceType: 'Subscription', id: 's1', status: 'active', reason: 'test', criteria: 'Encounter', channel: { type: 'websocket' } };

/** The log between two points, as transactions: each the operations it ran, with the outcome. */
function transactions(log: readonly LoggedOperation[]): Array<{ ops: LoggedOperation[]; outcome: string }> {
  const found: Array<{ ops: LoggedOperation[]; outcome: string }> = [];
  let open: LoggedOperation[] | undefined;
  for (const entry of log) {
    if (entry.op === 'startTransaction') open = [];
    else if (entry.op === 'commitTransaction' || entry.op === 'abortTransaction') {
      found.push({ ops: open ?? [], outcome: entry.op });
      open = undefined;
    } else open?.push(entry);
  }
  return found;
}

const wrote = (ops: readonly LoggedOperation[], key: string) => ops.some((entry) => entry.about === key && ['insertOne', 'replaceOne'].includes(entry.op));

async function engineOn(fake: FakeMongo, supportsTransactions: boolean) {
  const storage = mongoStorageOn(fake.client as unknown as MongoClient, fake.db as unknown as Db, indexer, supportsTransactions);
  return { storage, start: () => startSubscriptions({ storage, baseUrl: BASE_URL, config, accessSources: [], log: () => {} }) };
}

t.test('replica set: the events row is written in the change’s transaction and commits with it', async (t) => {
  const fake = new FakeMongo();
  const { storage, start } = await engineOn(fake, true);
  await storage.create(ctx, subscription as AnyResource);
  const engine = await start();
  t.teardown(() => engine.stop());

  const from = fake.log.length;
  await storage.create(ctx, encounter('e1') as AnyResource);
  const [unit, ...others] = transactions(fake.log.slice(from));
  t.equal(unit?.outcome, 'commitTransaction');
  t.ok(wrote(unit!.ops, 'Encounter/e1'), 'the Encounter is written in the transaction');
  t.ok(wrote(unit!.ops, `${EVENTS_TYPE}/s1`), 'and so is the event, in the same one');
  t.ok(unit!.ops.filter((entry) => entry.about === `${EVENTS_TYPE}/s1` && entry.collection === 'resources').every((entry) => entry.inTransaction), 'under its session');
  t.notOk(others.some((other) => wrote(other.ops, `${EVENTS_TYPE}/s1`)), 'no other transaction writes the event');
  t.equal(await lastEventNumber(storage, BASE_URL, 's1'), 1);
  t.same((await readEvent(storage, BASE_URL, 's1', 1))?.focus, { resourceType: 'Encounter', id: 'e1', versionId: 1 });
});

t.test('replica set: a transaction that aborts after the event was written leaves neither the change nor the event', async (t) => {
  const fake = new FakeMongo();
  const { storage, start } = await engineOn(fake, true);
  await storage.create(ctx, subscription as AnyResource);
  const engine = await start();
  t.teardown(() => engine.stop());
  // Registered after the engine's listener: it runs once the event row is written, then vetoes the unit.
  storage.onCommit!({
    types: ['Encounter'],
    inside: (changes) => {
      if (changes.some((change) => change.id === 'vetoed')) throw FhirError.of(409, 'conflict', 'vetoed');
    },
  });
  await storage.create(ctx, encounter('e1') as AnyResource);

  const from = fake.log.length;
  const refused = await storage.create(ctx, encounter('vetoed') as AnyResource).then(
    () => undefined,
    (error: unknown) => error,
  );
  t.ok(refused instanceof FhirError && refused.status === 409, 'the unit is vetoed');
  const [unit] = transactions(fake.log.slice(from));
  t.equal(unit?.outcome, 'abortTransaction');
  t.ok(wrote(unit!.ops, `${EVENTS_TYPE}/s1`), 'the event row was written inside the aborted transaction');
  t.equal(await storage.read(ctx, 'Encounter', 'vetoed'), undefined, 'the change is gone');
  t.equal(await lastEventNumber(storage, BASE_URL, 's1'), 1, 'and its event with it');
  t.equal(await readEvent(storage, BASE_URL, 's1', 2), undefined);

  await storage.create(ctx, encounter('e2') as AnyResource);
  t.equal(await lastEventNumber(storage, BASE_URL, 's1'), 2, 'the next event takes number 2: no gap');
  t.same((await readEvent(storage, BASE_URL, 's1', 2))?.focus.id, 'e2');
});

t.test('standalone MongoDB: no atomic units, so no outbox: the server says why and a Subscription write answers 501', async (t) => {
  const replica = (await engineOn(new FakeMongo(), true)).storage;
  t.equal(subscriptionsUnavailable(replica), undefined, 'a replica set can hold the outbox');
  const fake = new FakeMongo();
  const { storage, start } = await engineOn(fake, false);
  const reason = subscriptionsUnavailable(storage);
  t.match(reason, /needs atomic units of work/);
  await storage.create(ctx, subscription as AnyResource);
  await t.rejects(start(), /needs atomic units of work/, 'the engine itself refuses (main.ts does not start it)');

  const app = buildServer({
    config: { baseUrl: BASE_URL, basePath: '/fhir', maxBodyBytes: 1024 * 1024, logLevel: 'silent' },
    services: { storage, validator: createValidator(), referentialIntegrity: { mode: 'off', exemptTypes: [] }, subscriptionsUnavailable: reason! },
    logStream: new Writable({ write: (_chunk, _encoding, done) => done() }),
  });
  t.teardown(() => app.close());
  const { id: _id, ...body } = subscription;
  const refused = await app.inject({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: body });
  t.equal(refused.statusCode, 501, refused.body);
  t.match(refused.json().issue[0].diagnostics, /Subscriptions are not available on this server: .*replica set/);
});
