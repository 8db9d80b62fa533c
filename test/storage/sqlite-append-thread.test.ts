import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { AnyResource } from '../../src/fhir/types';
import { createIndexer } from '../../src/search/indexer';
import { AppendWorker } from '../../src/storage/sqlite/append-worker';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import type { ParamCondition } from '../../src/search/query';
import { contextAt, searchOf } from './contract-fixtures';

const BASE_URL = 'http://localhost/fhir';
const scratch = mkdtempSync(join(tmpdir(), 'concord-append-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
let files = 0;
const freshFile = () => join(scratch, `run-${++files}`, 'concord.db');
const open = (path: string) => createSqliteStorage({ path, indexer: createIndexer({ baseUrl: BASE_URL }), appendThread: { baseUrl: BASE_URL } });
const ctx = contextAt('2024-05-01T00:00:00.000Z');

const event = (id: string, patient: string): AnyResource =>
  ({
    resourceType: 'AuditEvent', id, type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
    recorded: '2024-05-01T00:00:00.000Z', agent: [{ who: { reference: 'Practitioner/d1' }, requestor: true }],
    source: { observer: { display: 'test' } }, entity: [{ what: { reference: `Patient/${patient}` } }],
  }) as AnyResource;

const patientIs = (patient: string): ParamCondition => ({ kind: 'param', code: 'patient', type: 'reference', values: [{ kind: 'reference', ref: `Patient/${patient}` }] });
const search = (storage: ReturnType<typeof open>, patient: string) => storage.search(ctx, searchOf(['AuditEvent'], { where: [patientIs(patient)] }));
const idsOf = async (storage: ReturnType<typeof open>, patient: string) => (await search(storage, patient)).records.map((r) => r.id).sort();

t.test('a batch written by the thread is committed, versioned and indexed when it resolves', async (t) => {
  const storage = open(freshFile());
  t.teardown(() => storage.close());
  t.ok(storage.appendRecords, 'a file database has the append thread');
  const before = await storage.changeStamp!(['AuditEvent']);
  await storage.appendRecords!([event('e1', 'p1'), event('e2', 'p2')]);
  t.match(await storage.read(ctx, 'AuditEvent', 'e1'), { versionId: 1, resource: { meta: { versionId: '1' } } });
  t.same(await idsOf(storage, 'p2'), ['e2'], 'its index entries are searchable at once');
  t.not(await storage.changeStamp!(['AuditEvent']), before, 'the change stamp of the type moves');
});

t.test('a batch is all or nothing', async (t) => {
  const storage = open(freshFile());
  t.teardown(() => storage.close());
  await storage.appendRecords!([event('taken', 'p1')]);
  await t.rejects(storage.appendRecords!([event('fresh', 'p1'), event('taken', 'p1')]), /append failed/, 'an id already taken fails the batch');
  t.equal(await storage.read(ctx, 'AuditEvent', 'fresh'), undefined, 'and nothing of it is stored');
  await storage.appendRecords!([event('after', 'p1')]);
  t.ok(await storage.read(ctx, 'AuditEvent', 'after'), 'the thread goes on with the next batch');
});

t.test('close waits for the batches in flight', async (t) => {
  const path = freshFile();
  const first = open(path);
  const written = first.appendRecords!(Array.from({ length: 200 }, (_, i) => event(`e${i}`, 'p1')));
  await first.close();
  await written;
  const second = open(path);
  t.teardown(() => second.close());
  t.equal((await search(second, 'p1')).total, 200);
});

t.test('a thread that cannot open the database fails its batch instead of hanging, and is replaced on the next', async (t) => {
  const folder = join(scratch, 'not-yet');
  const path = join(folder, 'concord.db');
  const worker = new AppendWorker({ path, baseUrl: BASE_URL, fsyncEveryCommit: false, cacheMb: 8 });
  t.teardown(() => worker.close());
  await t.rejects(worker.append([event('e1', 'p1')]), 'the folder does not exist');
  mkdirSync(folder);
  const storage = open(path);
  t.teardown(() => storage.close());
  await worker.append([event('e1', 'p1')]);
  t.ok(await storage.read(ctx, 'AuditEvent', 'e1'), 'a new thread wrote it');
});

t.test('in memory there is no append thread (a second connection would be another database)', async (t) => {
  const storage = createSqliteStorage({ path: ':memory:', indexer: createIndexer({ baseUrl: BASE_URL }), appendThread: { baseUrl: BASE_URL } });
  t.teardown(() => storage.close());
  t.equal(storage.appendRecords, undefined);
});
