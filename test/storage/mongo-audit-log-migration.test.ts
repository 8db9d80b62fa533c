/**
 * On MongoDB, the AuditEvents an older version stored in `resources` and
 * `history` move into the `audit` collection on first start, with a
 * progress line per batch; a start after a crash between the insert and the
 * removal repeats nothing (the insert skips ids already there). Over the
 * driver stand-in (mongo-fake.ts); SQLite's side: sqlite-audit-log.test.ts.
 */
import type { Db } from 'mongodb';
import t from 'tap';
import { createIndexer } from '../../src/search/indexer';
import { migrateMongoAuditEvents } from '../../src/storage/mongo/audit-log-migration';
import { stampResource } from '../../src/storage/versioning';
import { event } from './audit-log-cases';
import { FakeMongo } from './mongo-fake';

const indexer = createIndexer({ baseUrl: 'http://localhost:8080/fhir' });
const lastUpdated = '2024-05-01T10:00:00.000Z';

/** An AuditEvent as the generic resource store kept it: current document, history row; the old body document form. */
async function storeOldEvent(fake: FakeMongo, id: string, patient: string): Promise<void> {
  const resource = stampResource(event(id, { patient }), 1, lastUpdated);
  const version = { type: 'AuditEvent', id, versionId: 1, lastUpdated, deleted: false, resource, seq: id.padStart(24, '0') };
  await fake.db.collection('resources').insertOne({ ...version, idx: {}, sort: {} });
  await fake.db.collection('history').insertOne(version);
}

t.test('old AuditEvents move from the resource collections into the log, with a progress line', async (t) => {
  const fake = new FakeMongo();
  for (const [id, patient] of [
    ['e1', 'p1'],
    ['e2', 'p2'],
  ] as const)
    await storeOldEvent(fake, id, patient);
  await fake.db
    .collection('resources')
    .insertOne({ type: 'Patient', id: 'p1', versionId: 1, lastUpdated, deleted: false, json: '{}', seq: '1', idx: {}, sort: {} });
  const lines: string[] = [];
  const moved = await migrateMongoAuditEvents(fake.db as unknown as Db, indexer, (line) => lines.push(line));
  t.equal(moved, 2);
  t.same(lines, ['access log migration: 2 of 2 AuditEvents moved from the resource collections']);
  t.same(
    fake
      .stored('audit')
      .map((doc) => [doc._id, (doc.body as { meta: { lastUpdated: string } }).meta.lastUpdated])
      .sort(),
    [
      ['e1', lastUpdated],
      ['e2', lastUpdated],
    ],
    'ids and meta unchanged',
  );
  t.same(
    fake.stored('resources').map((doc) => doc.type),
    ['Patient'],
    'only the other resources stay',
  );
  t.same(fake.stored('history'), [], 'their history rows went with them');
  t.equal(await migrateMongoAuditEvents(fake.db as unknown as Db, indexer, (line) => lines.push(line)), 0, 'the next start has nothing to move');
});

t.test('a start after a crash between the insert and the removal repeats nothing', async (t) => {
  const fake = new FakeMongo();
  await storeOldEvent(fake, 'e1', 'p1');
  await storeOldEvent(fake, 'e2', 'p2');
  // The crashed start had inserted e1 into the log already.
  await fake.db.collection('audit').insertOne({ _id: 'e1', body: stampResource(event('e1', { patient: 'p1' }), 1, lastUpdated) });
  t.equal(await migrateMongoAuditEvents(fake.db as unknown as Db, indexer, () => {}), 2);
  t.same(
    fake
      .stored('audit')
      .map((doc) => doc._id)
      .sort(),
    ['e1', 'e2'],
    'each event once',
  );
  t.same(fake.stored('resources'), []);
});
