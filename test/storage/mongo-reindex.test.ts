/**
 * `npm run reindex` on MongoDB (mongo/reindex.ts) rewrites the entries of
 * the current documents and the patients of every version, current and in
 * `history`, over the driver stand-in (mongo-fake.ts).
 */
import t from 'tap';
import type { Collection, Db, Document, MongoClient } from 'mongodb';
import type { AnyResource } from '../../src/fhir/types';
import type { Indexer } from '../../src/search/index-entry';
import { createIndexer } from '../../src/search/indexer';
import type { HistoryDocument, ResourceDocument } from '../../src/storage/mongo/documents';
import { mongoStorageOn } from '../../src/storage/mongo/mongo-storage';
import { reindexMongo } from '../../src/storage/mongo/reindex';
import { contextAt } from './contract-fixtures';
import { FakeMongo } from './mongo-fake';

const ctx = contextAt('2024-04-01T09:00:00.000Z');
const indexer = createIndexer({ baseUrl: 'http://localhost:8080/fhir' });
/** The "old definitions": they knew no parameter, so an Observation was in no compartment. */
const oldIndexer: Indexer = () => [];
const observation = (patient: string): AnyResource =>
  ({ resourceType: 'Observation', id: 'o', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${patient}` } }) as AnyResource;

t.test('reindex rewrites the entries of current documents and the patients of every version', async (t) => {
  const fake = new FakeMongo();
  const old = mongoStorageOn(fake.client as unknown as MongoClient, fake.db as unknown as Db, oldIndexer, false);
  await old.create(ctx, observation('a'));
  await old.update(ctx, observation('b'));
  await old.create(ctx, { resourceType: 'Patient', id: 'gone' });
  await old.delete(ctx, 'Patient', 'gone');
  // The stand-in leaves `_id` to the caller; the driver would have set one on every insert.
  for (const name of ['resources', 'history']) {
    const docs = fake.stored(name);
    await fake.db.collection(name).deleteMany({});
    for (const [n, doc] of docs.entries()) await fake.db.collection(name).insertOne({ ...doc, _id: n.toString(16).padStart(24, '0') });
  }
  t.same(fake.stored('history').map((doc) => doc.patients), [[], [], ['gone'], undefined], 'written under the old definitions');

  const progress: Array<[number, number]> = [];
  const collection = <D extends Document>(name: string) => fake.db.collection(name) as unknown as Collection<D>;
  const summary = await reindexMongo(collection<ResourceDocument>('resources'), collection<HistoryDocument>('history'), indexer, (done, total) =>
    progress.push([done, total]),
  );
  t.same([summary.resources, summary.versions], [1, 3], 'the tombstones have no body');
  t.ok(summary.entries > 0);
  t.same(progress.at(-1), [4, 4], 'progress ends at total');

  const [current] = fake.stored('resources').filter((doc) => doc.id === 'o');
  t.same(current?.patients, ['b'], 'the current document');
  t.ok((current?.idx as ResourceDocument['idx']).reference?.some((entry) => entry.ref === 'Patient/b'), 'with its entries');
  t.same(
    fake.stored('history').map((doc) => [doc.id, doc.versionId, doc.patients]),
    [
      ['o', 1, ['a']],
      ['o', 2, ['b']],
      ['gone', 1, ['gone']],
      ['gone', 2, undefined],
    ],
    'every version in history',
  );
});
