/**
 * MongoDB keeps each version's body as the JSON text it is sent as
 * (documents.ts `json`) with the patients of its compartment, and reads
 * hand those bytes on unparsed (fhir/stored-body.ts). Documents written
 * before (a `resource` document, no patients) still read as they were.
 * Over the driver stand-in (mongo-fake.ts), standalone and replica set.
 */
import t from 'tap';
import type { Db, MongoClient } from 'mongodb';
import { storedBody } from '../../src/fhir/stored-body';
import type { AnyResource } from '../../src/fhir/types';
import { createIndexer } from '../../src/search/indexer';
import { mongoStorageOn } from '../../src/storage/mongo/mongo-storage';
import { contextAt } from './contract-fixtures';
import { FakeMongo } from './mongo-fake';

const ctx = contextAt('2024-04-01T09:00:00.000Z');
const indexer = createIndexer({ baseUrl: 'http://localhost:8080/fhir' });
const observation = (id: string, patient: string): AnyResource =>
  ({ resourceType: 'Observation', id, status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${patient}` } }) as AnyResource;

for (const supportsTransactions of [false, true]) {
  t.test(`${supportsTransactions ? 'replica set' : 'standalone'}: bodies stored as their bytes, patients beside them`, async (t) => {
    const fake = new FakeMongo();
    const storage = mongoStorageOn(fake.client as unknown as MongoClient, fake.db as unknown as Db, indexer, supportsTransactions);
    const written = await storage.create(ctx, observation('o1', 'p1'));
    t.same(written.patients, ['p1'], 'the write knows its patients');
    t.equal(written.resource?.meta?.versionId, '1', 'and answers with its stamped body');

    const [doc] = fake.stored('resources');
    t.equal(doc?.resource, undefined, 'no body document is stored');
    t.equal(doc?.json, JSON.stringify(written.resource), 'the body as the text it is sent as, meta in place');
    t.same(doc?.patients, ['p1']);
    const [row] = fake.stored('history');
    t.same([row?.resource, row?.json, row?.patients], [undefined, doc?.json, ['p1']], 'the history row likewise');

    const read = await storage.read(ctx, 'Observation', 'o1');
    t.equal(read && storedBody(read), doc?.json, 'a read hands on the stored bytes unparsed');
    t.same(read?.patients, ['p1']);
    t.same(read?.resource, written.resource, 'parsed when asked for');
    const vread = await storage.vread(ctx, 'Observation', 'o1', 1);
    t.equal(vread && storedBody(vread), doc?.json, 'vread too');

    await storage.delete(ctx, 'Observation', 'o1');
    const tombstone = await storage.read(ctx, 'Observation', 'o1');
    t.same([tombstone?.deleted, tombstone?.resource, tombstone?.patients], [true, undefined, undefined], 'a tombstone has neither');
  });
}

t.test('a document from before the stored bytes reads as it was, without patients', async (t) => {
  const fake = new FakeMongo();
  const storage = mongoStorageOn(fake.client as unknown as MongoClient, fake.db as unknown as Db, indexer, false);
  const resource = { ...observation('old', 'p1'), meta: { versionId: '1', lastUpdated: '2023-01-01T00:00:00.000Z' } };
  const version = { type: 'Observation', id: 'old', versionId: 1, lastUpdated: '2023-01-01T00:00:00.000Z', deleted: false, resource, seq: '0'.repeat(24) };
  await fake.db.collection('resources').insertOne({ ...version, idx: {}, sort: {} });
  await fake.db.collection('history').insertOne({ ...version });
  const read = await storage.read(ctx, 'Observation', 'old');
  t.same(read?.resource, resource, 'the body document');
  t.equal(read?.patients, undefined, 'no patients kept: the audit takes them from the body');
  t.same((await storage.vread(ctx, 'Observation', 'old', 1))?.resource, resource);
  const next = await storage.update(ctx, observation('old', 'p2'));
  t.same(next.record.patients, ['p2'], 'the next write keeps them');
  t.equal(fake.stored('resources')[0]?.resource, undefined, 'and stores its bytes instead of a body document');
});

t.test("a composite's components are stored without their param and kind, and still found", async (t) => {
  const fake = new FakeMongo();
  const storage = mongoStorageOn(fake.client as unknown as MongoClient, fake.db as unknown as Db, indexer, true);
  await storage.create(ctx, {
    resourceType: 'Observation',
    id: 'bp',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
    component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 120, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }],
  } as AnyResource);
  const [doc] = fake.stored('resources');
  const composites = (doc?.idx as { composite?: Array<{ param: string; components: Array<Record<string, unknown>> }> }).composite ?? [];
  const entry = composites.find((c) => c.param === 'component-code-value-quantity');
  t.ok(entry, 'the composite entry is stored');
  t.same(entry?.components.map((c) => [c.param, c.kind]), [[undefined, undefined], [undefined, undefined]], 'no param or kind per component');
  t.match(entry?.components, [{ system: 'http://loinc.org', code: '8480-6' }, { low: 119.5, high: 120.5, code: 'mm[Hg]' }]);
  const { parseSearch } = await import('../../src/search/parse');
  const found = await storage.search(ctx, parseSearch(['Observation'], [['component-code-value-quantity', 'http://loinc.org|8480-6$ge120']], { strict: true, baseUrl: 'http://localhost:8080/fhir' }).query);
  t.same(found.records.map((r) => r.id), ['bp']);
});
