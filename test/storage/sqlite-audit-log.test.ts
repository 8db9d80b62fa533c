/**
 * The access log on SQLite (src/storage/sqlite/audit-log.ts): its own
 * database file, its searches, the access filter inside them, exact counts,
 * keyset paging, and the migration out of the resource tables.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { AccessFilter } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { createIndexer } from '../../src/search/indexer';
import type { Condition } from '../../src/search/query';
import type { Storage } from '../../src/storage/port';
import { auditLogPath } from '../../src/storage/sqlite/audit-log';
import { ResourceStore } from '../../src/storage/sqlite/resource-store';
import { applyPragmas, createSchema } from '../../src/storage/sqlite/schema';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { auditLogCaseEvents, auditLogCases, auditLogQuery as query, event } from './audit-log-cases';
import { contextAt } from './contract-fixtures';

const BASE_URL = 'http://localhost/fhir';
const indexer = createIndexer({ baseUrl: BASE_URL });
const scratch = mkdtempSync(join(tmpdir(), 'concord-audit-log-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
let files = 0;
const freshFile = () => join(scratch, `run-${++files}`, 'concord.db');
const open = (path: string, progress?: (line: string) => void) =>
  createSqliteStorage({ path, indexer, appendThread: { baseUrl: BASE_URL }, ...(progress ? { progress } : {}) });
const ctx = contextAt('2024-05-01T00:00:00.000Z');
/** The rejection matches `wanted` (a FhirError's status). */
async function rejectsWith(t: Test, promise: Promise<unknown>, wanted: object, message: string): Promise<void> {
  t.match(await promise.then(() => ({ resolved: true }), (error: unknown) => error), wanted, message);
}
const ids = async (storage: Storage, text: string, access?: AccessFilter) =>
  (await storage.search({ ...ctx, ...(access ? { access } : {}) }, query(text))).records.map((r) => r.id);

t.test('the log is a database file of its own beside the main one, and the resource tables hold no AuditEvent', async (t) => {
  const path = freshFile();
  const storage = open(path);
  t.teardown(() => storage.close());
  await storage.appendRecords!([event('a1', { patient: 'p1' })]);
  await storage.create(ctx, event('posted', { patient: 'p2' }));
  t.equal(auditLogPath(path), join(path, '..', 'concord-audit.db'));
  t.ok(existsSync(auditLogPath(path)), 'concord-audit.db exists');
  const main = new Database(path, { readonly: true });
  t.teardown(() => main.close());
  t.equal((main.prepare("SELECT count(*) AS n FROM resources WHERE type = 'AuditEvent'").get() as { n: number }).n, 0, 'no row in resources');
  t.equal((main.prepare("SELECT count(*) AS n FROM idx_reference s JOIN search_params p ON p.id = s.param WHERE p.type = 'AuditEvent'").get() as { n: number }).n, 0, 'no index row');
  const log = new Database(auditLogPath(path), { readonly: true });
  t.teardown(() => log.close());
  t.equal((log.prepare('SELECT count(*) AS n FROM audit_events').get() as { n: number }).n, 2, 'both events in the log, the appended and the created');
  t.match(await storage.read(ctx, 'AuditEvent', 'a1'), { versionId: 1, resource: { meta: { versionId: '1' } } });
  t.match(await storage.vread(ctx, 'AuditEvent', 'posted', 1), { id: 'posted' });
  t.equal(await storage.vread(ctx, 'AuditEvent', 'posted', 2), undefined, 'an event has one version');
  await rejectsWith(t, storage.create(ctx, event('posted')), { status: 409 }, 'an id is taken once');
  await rejectsWith(t, storage.update(ctx, event('posted')), { status: 405 }, 'events are never updated');
  await rejectsWith(t, storage.delete(ctx, 'AuditEvent', 'posted'), { status: 405 }, 'nor deleted');
  t.same([...(await storage.exists(ctx, [{ resourceType: 'AuditEvent', id: 'a1' }, { resourceType: 'AuditEvent', id: 'nope' }]))], ['AuditEvent/a1']);
});

t.test('in memory the log is an in-memory database attached beside the main one', async (t) => {
  const storage = createSqliteStorage({ path: ':memory:', indexer });
  t.teardown(() => storage.close());
  await storage.unitOfWork(async (tx) => void (await tx.create(ctx, event('m1', { patient: 'p1' }))));
  t.same(await ids(storage, 'patient=Patient/p1'), ['m1']);
});

t.test('every search parameter of the log, with every date prefix, the sort by date and the controls', async (t) => {
  const storage = open(freshFile());
  t.teardown(() => storage.close());
  await storage.appendRecords!(auditLogCaseEvents());
  for (const [text, expected] of auditLogCases) t.same(await ids(storage, text), expected, text);
  const counted = await storage.search(ctx, query('patient=Patient/p1&_summary=count'));
  t.same([counted.records.length, counted.total], [0, 2], '_summary=count');
  await rejectsWith(t, storage.search(ctx, query('patient:missing=true')), { status: 400 }, 'a modifier the log does not answer');
});

t.test('the access filter applies inside the log query: read, search and the count never include a hidden event', async (t) => {
  const storage = open(freshFile());
  t.teardown(() => storage.close());
  await storage.appendRecords!([event('own', { patient: 'p1' }), event('other', { patient: 'p2' }), event('agent-only', { agent: 'Patient/p1', patient: 'p2' })]);
  const entityIsP1: Condition = { kind: 'param', code: 'entity', type: 'reference', values: [{ kind: 'reference', ref: 'Patient/p1' }] };
  const access: AccessFilter = { conditionsFor: (type) => (type === 'AuditEvent' ? [entityIsP1] : []) };
  t.same(await ids(storage, '', access), ['own']);
  t.same(await ids(storage, 'patient=Patient/p2', access), [], 'asking for another patient finds nothing');
  t.equal((await storage.search({ ...ctx, access }, query('_summary=count'))).total, 1, 'the count is of the visible events');
  t.ok(await storage.read({ ...ctx, access }, 'AuditEvent', 'own'));
  t.equal(await storage.read({ ...ctx, access }, 'AuditEvent', 'other'), undefined, 'a hidden event reads as missing');
  const labels: Condition = { kind: 'not', condition: { kind: 'param', code: '_security', type: 'token', values: [{ kind: 'token', system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' }] } };
  t.same(await ids(storage, '', { conditionsFor: () => [labels, { kind: 'any', of: [[entityIsP1], [{ kind: 'constant', value: false }]] }] }), ['own'], 'not, any and constants as the consent layer writes them');
});

t.test('counts are exact above 10,000, and pages follow the date order with keyset cursors', async (t) => {
  const storage = open(freshFile());
  t.teardown(() => storage.close());
  const start = Date.parse('2024-01-01T00:00:00.000Z');
  const total = 10_050;
  for (let from = 0; from < total; from += 1000) {
    const batch = Array.from({ length: Math.min(1000, total - from) }, (_, i) =>
      event(`n${from + i}`, { patient: (from + i) % 2 === 0 ? 'even' : 'odd', recorded: new Date(start + (from + i) * 1000).toISOString() }),
    );
    await storage.appendRecords!(batch);
  }
  t.equal((await storage.search(ctx, query('_summary=count'))).total, total, 'all of them');
  t.equal((await storage.search(ctx, query('type=rest&_total=accurate&_count=1'))).total, total, '_total=accurate');
  const evenOnly: AccessFilter = { conditionsFor: () => [{ kind: 'param', code: 'patient', type: 'reference', values: [{ kind: 'reference', ref: 'Patient/even' }] }] };
  t.equal((await storage.search({ ...ctx, access: evenOnly }, query('_summary=count'))).total, total / 2, 'under an access filter, only the visible');
  // Three pages newest first, each starting after the last of the one before.
  const seen: string[] = [];
  let page = await storage.search(ctx, query('_sort=-date&_count=4&patient=Patient/odd'));
  t.notOk(page.hasPrevious);
  for (let i = 0; i < 3; i++) {
    seen.push(...page.records.map((r) => r.id));
    t.ok(page.hasMore, `page ${i + 1} has a next`);
    page = await storage.search(ctx, { ...query('_sort=-date&_count=4&patient=Patient/odd'), after: page.last! });
    t.ok(page.hasPrevious, `page ${i + 2} has a previous`);
  }
  t.same(seen, Array.from({ length: 12 }, (_, i) => `n${total - 1 - 2 * i}`), 'newest odd events in order, none repeated or skipped');
  const back = await storage.search(ctx, { ...query('_sort=-date&_count=4&patient=Patient/odd'), before: page.first! });
  t.same(back.records.map((r) => r.id), seen.slice(8, 12), 'and back');
});

t.test('on first start the AuditEvents of the resource tables move into the log, in batches, with a progress line', async (t) => {
  const path = freshFile();
  // A database as an older version left it: AuditEvents stored as generic resources, with their index rows.
  const old = createSqliteStorage({ path, indexer });
  await old.close();
  const db = new Database(path);
  applyPragmas(db, { fsyncEveryCommit: false, readOnly: false });
  createSchema(db);
  const generic = new ResourceStore(db, indexer);
  const count = 1_234;
  db.transaction(() => {
    for (let i = 0; i < count; i++) generic.create(new Date('2024-02-01T00:00:00.000Z'), event(`old${i}`, { patient: i < 10 ? 'p1' : 'p9' }));
    generic.create(new Date('2024-02-01T00:00:00.000Z'), { resourceType: 'Patient', id: 'p1' } as AnyResource);
  })();
  db.close();

  const lines: string[] = [];
  const storage = open(path, (line) => lines.push(line));
  t.teardown(() => storage.close());
  t.same(lines, ['access log migration: 1000 of 1234 AuditEvents moved from the resource tables', 'access log migration: 1234 of 1234 AuditEvents moved from the resource tables']);
  t.equal((await storage.search(ctx, query('_summary=count'))).total, count, 'every event in the log');
  t.same((await ids(storage, 'patient=Patient/p1&_count=100')).length, 10, 'searchable by patient');
  t.match(await storage.read(ctx, 'AuditEvent', 'old0'), { versionId: 1, lastUpdated: '2024-02-01T00:00:00.000Z' }, 'their meta unchanged');
  t.ok(await storage.read(ctx, 'Patient', 'p1'), 'other resources stay');
  const main = new Database(path, { readonly: true });
  t.teardown(() => main.close());
  const left = (table: string) => (main.prepare(`SELECT count(*) AS n FROM ${table} WHERE type = 'AuditEvent'`).get() as { n: number }).n;
  // Index rows name their resource type through their parameter's id.
  const leftRows = (table: string) =>
    (main.prepare(`SELECT count(*) AS n FROM ${table} x JOIN search_params p ON p.id = x.param WHERE p.type = 'AuditEvent'`).get() as { n: number }).n;
  t.same([left('resources'), left('history'), leftRows('idx_reference'), leftRows('idx_token')], [0, 0, 0, 0], 'nothing of them left in the resource tables');
  await storage.close();
  const again: string[] = [];
  const reopened = open(path, (line) => again.push(line));
  t.teardown(() => reopened.close());
  t.same(again, [], 'the next start has nothing to move');
});
