/**
 * The export job stores: the MongoDB collection (`export_jobs`, on the
 * driver fake, mongo-fake.ts) held to the same cases as the SQLite table,
 * and a job kept in the MongoDB store surviving a server stop: the next
 * server resumes it with its original transactionTime.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { ExportJobStore } from '../../src/storage/export-jobs';
import { createMongoExportJobStore, type JobCollection } from '../../src/storage/mongo/export-job-store';
import { createSqliteExportJobStore } from '../../src/storage/sqlite/export-job-store';
import { startHarness } from '../http/harness';
import { ASYNC, load, pathOf, poll, type Send } from '../export/helpers';
import { FakeMongo } from './mongo-fake';

const mongoStore = (fake: FakeMongo) => createMongoExportJobStore(fake.db.collection('export_jobs') as unknown as JobCollection);

const job = (id: string, owner: string, state: 'running' | 'completed' | 'failed' = 'running') => ({ id, owner, state, document: { id, transactionTime: '2024-05-01T10:00:00.000Z', typeFilters: { Observation: ['status=final'] } } });

const STORES: Array<[string, () => ExportJobStore]> = [
  ['sqlite', () => createSqliteExportJobStore(':memory:')],
  ['mongodb', () => mongoStore(new FakeMongo())],
];

for (const [name, open] of STORES) {
  t.test(`${name}: insert, get, list by state, save, remove`, async (t) => {
    const store = open();
    t.teardown(() => store.close());
    await store.insert(job('a', 'alice'));
    await store.insert(job('b', 'bob'));
    await store.insert(job('c', 'alice', 'completed'));
    t.same(await store.get('a'), job('a', 'alice'), 'the document comes back as stored');
    t.equal(await store.get('none'), undefined);
    t.same((await store.list('running')).map((j) => j.id).sort(), ['a', 'b']);
    t.same((await store.list()).map((j) => j.id).sort(), ['a', 'b', 'c']);
    await store.save({ ...job('a', 'alice', 'completed'), document: { id: 'a', done: true } });
    t.same(await store.get('a'), { id: 'a', owner: 'alice', state: 'completed', document: { id: 'a', done: true } });
    t.same((await store.list('running')).map((j) => j.id), ['b']);
    await store.remove('b');
    t.equal(await store.get('b'), undefined);
    await store.save(job('b', 'bob', 'completed'));
    t.equal(await store.get('b'), undefined, 'a save after a remove (a cancel won) brings nothing back');
    await t.rejects(store.insert(job('a', 'alice')), 'an id is taken once');
  });
}

t.test('mongodb: one document per job in export_jobs, keyed by the job id', async (t) => {
  const fake = new FakeMongo();
  const store = mongoStore(fake);
  await store.insert(job('a', 'alice'));
  t.same(fake.stored('export_jobs'), [{ _id: 'a', owner: 'alice', state: 'running', document: job('a', 'alice').document }]);
});

t.test('mongodb: a running job survives a server stop and completes on the next server, same transactionTime', async (t) => {
  const fake = new FakeMongo();
  const dir = mkdtempSync(join(tmpdir(), 'concord-export-mongo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sqlitePath = join(dir, 'concord.db');
  const settings = { dir: join(dir, 'exports'), pollSeconds: 0.001, chunkSize: 1 };
  const first = await startHarness({ sqlitePath, exports: { jobs: mongoStore(fake), settings } });
  await load(first.storage, Array.from({ length: 300 }, (_, i) => ({ resourceType: 'Patient', id: `p${i}` })));
  const kickoff = await first.request({ url: '/fhir/$export?_type=Patient', headers: ASYNC });
  t.equal(kickoff.statusCode, 202);
  const statusUrl = String(kickoff.headers['content-location']);
  t.equal((await first.request({ url: pathOf(statusUrl) })).statusCode, 202);
  await first.close();
  const [stored] = fake.stored('export_jobs') as Array<{ state: string; document: { transactionTime: string } }>;
  t.equal(stored?.state, 'running', 'stopped mid-job: still running in the collection');

  const second = await startHarness({ sqlitePath, exports: { jobs: mongoStore(fake), settings } });
  t.teardown(() => second.close());
  const send: Send = ({ url }) => second.request({ url });
  const done = await poll(send, statusUrl);
  t.equal(done.statusCode, 200);
  const manifest = JSON.parse(done.body) as { transactionTime: string; output: Array<{ count: number }> };
  t.equal(manifest.transactionTime, stored?.document.transactionTime, 'the original transactionTime');
  t.equal(manifest.output.reduce((sum, o) => sum + o.count, 0), 300);
  t.equal((fake.stored('export_jobs')[0] as { state: string }).state, 'completed');
});
