/**
 * Reads served from stored bytes (fhir/stored-body.ts): a read, vread,
 * search or history page, or a batch or transaction entry, without
 * `_summary`, `_elements` or `_pretty` writes the JSON
 * the storage kept into the response as it is, and the audit of such a
 * read takes the patients the storage kept with the row, not the body.
 *
 * To tell "sent as stored" from "parsed and serialised again", the tests
 * rewrite a stored row's text in a layout JSON.stringify never produces
 * (spaces after the colons), straight in the database file.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { systemContext } from '../../src/context';
import { shareBody, storedBody, stringifyBody, withStoredBody } from '../../src/fhir/stored-body';
import type { AnyResource } from '../../src/fhir/types';
import type { VersionRecord } from '../../src/storage/port';
import { BASE_URL, startHarness } from './harness';
import { startSecureHarness } from '../security/auth-kit';

const observation = (id: string, patient: string, status = 'final'): AnyResource =>
  ({ resourceType: 'Observation', id, status, code: { text: 'x' }, subject: { reference: `Patient/${patient}` } }) as AnyResource;

const spaced = (resource: object) => JSON.stringify(resource).replace(/":/g, '": ');

function tempDatabase(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'concord-stored-bytes-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'concord.db');
}

/** Rewrites the stored text of the current version and of its history row (another connection, as a tool would). */
function rewriteStored(path: string, type: string, id: string, text: string, patients?: string | null): void {
  const db = new Database(path);
  try {
    db.prepare('UPDATE resources SET json = ? WHERE type = ? AND id = ?').run(text, type, id);
    db.prepare('UPDATE history SET json = ? WHERE type = ? AND id = ?').run(text, type, id);
    if (patients !== undefined) {
      db.prepare('UPDATE resources SET patients = ? WHERE type = ? AND id = ?').run(patients, type, id);
      db.prepare('UPDATE history SET patients = ? WHERE type = ? AND id = ?').run(patients, type, id);
    }
  } finally {
    db.close();
  }
}

t.test('a stored body stays bytes until read, and is the caller’s object from then on', async (t) => {
  const resource = { resourceType: 'Patient', id: 'a', meta: { versionId: '1' } };
  const text = spaced(resource);
  const record = withStoredBody({ resourceType: 'Patient', id: 'a' } as { resourceType: string; id: string; resource?: AnyResource }, text);
  t.equal(storedBody(record), text, 'unparsed: the bytes are there');
  t.same(Object.keys(record), ['resourceType', 'id', 'resource'], '`resource` is an own, enumerable property');
  const entry = shareBody({ fullUrl: 'x', resource: undefined, search: { mode: 'match' } }, record);
  t.same(Object.keys(entry), ['fullUrl', 'resource', 'search'], 'an entry keeps its key order');
  t.equal(
    stringifyBody({ resourceType: 'Bundle', type: 'searchset', entry: [entry] }),
    `{"resourceType":"Bundle","type":"searchset","entry":[{"fullUrl":"x","resource":${text},"search":{"mode":"match"}}]}`,
  );

  const parsed = record.resource!;
  t.same(parsed, resource, 'parsed on first read');
  t.equal(storedBody(record), undefined, 'once parsed, the bytes are forgotten');
  t.equal(record.resource, parsed, 'parsed once');
  (parsed as { active?: boolean }).active = true;
  t.equal(storedBody(entry), text, 'another holder of the bytes is unaffected');
  t.equal(stringifyBody({ entry: [shareBody({}, record)] }), `{"entry":[{"resource":${JSON.stringify(parsed)}}]}`, 'a changed body is serialised as it now is');

  const assigned = withStoredBody({} as { resource?: AnyResource }, text);
  assigned.resource = { resourceType: 'Basic', id: 'b' } as AnyResource;
  t.equal(storedBody(assigned), undefined, 'assigning a body replaces the bytes');
  t.same(assigned.resource, { resourceType: 'Basic', id: 'b' });
  t.equal(stringifyBody({ resourceType: 'Patient', entry: 'not a list' }), JSON.stringify({ resourceType: 'Patient', entry: 'not a list' }));
});

t.test('read, vread and search pages send the stored bytes; _pretty, _elements and _summary serialise', async (t) => {
  const path = tempDatabase(t);
  const h = await startHarness({ sqlitePath: path });
  t.teardown(h.close);
  const created = await h.storage.create(systemContext(BASE_URL), { resourceType: 'Patient', id: 'p1', active: true, gender: 'female' } as AnyResource);
  const text = spaced(created.resource!);
  rewriteStored(path, 'Patient', 'p1', text);

  const read = await h.request({ url: '/fhir/Patient/p1' });
  t.equal(read.statusCode, 200);
  t.equal(read.body, text, 'read: the stored bytes, meta.versionId and meta.lastUpdated in place');
  t.equal(read.headers.etag, 'W/"1"');
  t.equal((await h.request({ url: '/fhir/Patient/p1/_history/1' })).body, text, 'vread: the stored bytes');

  const pretty = await h.request({ url: '/fhir/Patient/p1?_pretty=true' });
  t.equal(pretty.body, JSON.stringify(created.resource, null, 2), '_pretty: serialised again, in its layout');

  const page = await h.request({ url: '/fhir/Patient?gender=female' });
  t.equal(page.statusCode, 200);
  t.ok(page.body.includes(`"resource":${text},"search":{"mode":"match"}`), 'search: each entry carries the stored bytes');
  t.same(JSON.parse(page.body).entry[0].resource, created.resource, 'and the page is valid JSON');

  const subset = JSON.parse((await h.request({ url: '/fhir/Patient?gender=female&_elements=gender' })).body);
  t.same(Object.keys(subset.entry[0].resource).sort(), ['gender', 'id', 'meta', 'resourceType'], '_elements: the subset, serialised');
  t.ok(
    subset.entry[0].resource.meta.tag?.some((tag: { code: string }) => tag.code === 'SUBSETTED'),
    'marked SUBSETTED',
  );
  const summary = await h.request({ url: '/fhir/Patient?gender=female&_summary=true' });
  t.notOk(summary.body.includes(text), '_summary: not the stored bytes');

  const include = await h.storage.create(systemContext(BASE_URL), observation('o1', 'p1'));
  const withInclude = await h.request({ url: '/fhir/Observation?_include=Observation:subject' });
  t.ok(withInclude.body.includes(`"resource":${text},"search":{"mode":"include"}`), 'an included resource: its stored bytes too');
  t.ok(withInclude.body.includes(`"resource":${JSON.stringify(include.resource)}`), 'beside the match');
});

t.test('history at every level and batch or transaction entries send the stored bytes; _pretty serialises', async (t) => {
  const path = tempDatabase(t);
  const h = await startHarness({ sqlitePath: path });
  t.teardown(h.close);
  const ctx = systemContext(BASE_URL);
  const created = await h.storage.create(ctx, { resourceType: 'Patient', id: 'p1', active: true } as AnyResource);
  const text = spaced(created.resource!);
  rewriteStored(path, 'Patient', 'p1', text);
  await h.storage.create(ctx, { resourceType: 'Patient', id: 'gone' } as AnyResource);
  await h.storage.delete(ctx, 'Patient', 'gone');

  const entryOf = `"fullUrl":"${BASE_URL}/Patient/p1","resource":${text},"request":{"method":"POST","url":"Patient"}`;
  for (const url of ['/fhir/Patient/p1/_history', '/fhir/Patient/_history', '/fhir/_history']) {
    const page = await h.request({ url });
    t.equal(page.statusCode, 200);
    t.ok(page.body.includes(entryOf), `${url}: the entry carries the stored bytes, in place`);
    const entries = JSON.parse(page.body).entry as Array<{ resource?: AnyResource; response: { etag: string } }>;
    t.same(entries.find((e) => e.resource?.id === 'p1')?.resource, created.resource, 'meta.versionId and lastUpdated in place');
  }
  const tombstone = (JSON.parse((await h.request({ url: '/fhir/Patient/gone/_history' })).body).entry as Array<Record<string, unknown>>)[0];
  t.same(Object.keys(tombstone ?? {}), ['fullUrl', 'request', 'response'], 'a tombstone entry has no resource');
  const pretty = await h.request({ url: '/fhir/Patient/p1/_history?_pretty=true' });
  t.notOk(pretty.body.includes(text), '_pretty: serialised again');
  t.same(JSON.parse(pretty.body).entry[0].resource, created.resource);

  for (const type of ['batch', 'transaction']) {
    const bundle = { resourceType: 'Bundle', type, entry: [{ request: { method: 'GET', url: 'Patient/p1' } }, { request: { method: 'GET', url: 'Patient/p1/_history/1' } }] };
    if (type === 'batch') bundle.entry.push({ request: { method: 'GET', url: 'Patient?active=true' } });
    const response = await h.request({ method: 'POST', url: '/fhir', payload: bundle, headers: { 'content-type': 'application/fhir+json' } });
    t.equal(response.statusCode, 200);
    const reads = response.body.split(`"fullUrl":"${BASE_URL}/Patient/p1","resource":${text},"response":{"status":"200 OK"`).length - 1;
    t.equal(reads, 2, `${type}: read and vread entries carry the stored bytes`);
    const entries = JSON.parse(response.body).entry as Array<{ resource: AnyResource & { entry?: Array<{ resource: AnyResource }> } }>;
    t.same([entries[0]?.resource, entries[1]?.resource], [created.resource, created.resource]);
    if (type === 'batch') {
      t.ok(response.body.includes(`"resource":${text},"search":{"mode":"match"}`), 'a search entry’s page too');
      t.same(entries[2]?.resource.entry?.[0]?.resource, created.resource);
    }
  }
});

t.test('a plain read never parses the body, not even for its audit; the audit takes the patients kept with the row', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);

  for (const id of ['p1', 'p2']) await h.storage.update(systemContext(BASE_URL), { resourceType: 'Patient', id } as AnyResource);
  const written = await h.storage.update(systemContext(BASE_URL), observation('o1', 'p1'));
  t.same(written.record.patients, ['p1'], 'the write computes the patients from its index entries');

  // Every record the read path gets from the storage, to see afterwards whether anyone parsed it.
  const handed: VersionRecord[] = [];
  const read = h.storage.read.bind(h.storage);
  h.storage.read = async (...args) => {
    const record = await read(...args);
    if (record) handed.push(record);
    return record;
  };
  const doctor = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/d1', client_id: 'ehr' });
  const response = await h.as(doctor, { url: '/fhir/Observation/o1' });
  t.equal(response.statusCode, 200);
  await h.app.auditTrail.flush();
  const record = handed.find((r) => r.resourceType === 'Observation');
  t.ok(record && storedBody(record) !== undefined, 'the record’s body was never parsed: sent as bytes, audited from the record');
  t.same(record?.patients, ['p1'], 'the stored patients');
  t.same(JSON.parse(response.body), written.record.resource);
});

t.test('the audit names the patients stored with the row, and falls back to the body where none were stored', async (t) => {
  const h = await startSecureHarness({ fileDatabase: true });
  t.teardown(h.close);
  const path = join(h.dir, 'concord.db');
  const ctx = systemContext(BASE_URL);
  for (const id of ['p1', 'p2']) await h.storage.update(ctx, { resourceType: 'Patient', id } as AnyResource);
  await h.storage.update(ctx, observation('stored', 'p1'));
  await h.storage.update(ctx, observation('legacy', 'p1'));
  // The row says p2 while the body says p1: the audit must follow the row.
  const stored = await h.storage.read(ctx, 'Observation', 'stored');
  rewriteStored(path, 'Observation', 'stored', JSON.stringify(stored!.resource), '["p2"]');
  // A row from before the column: no patients kept, the body decides.
  const legacy = await h.storage.read(ctx, 'Observation', 'legacy');
  rewriteStored(path, 'Observation', 'legacy', JSON.stringify(legacy!.resource), null);

  const doctor = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/d1', client_id: 'ehr' });
  t.equal((await h.as(doctor, { url: '/fhir/Observation/stored' })).statusCode, 200);
  t.equal((await h.as(doctor, { url: '/fhir/Observation/legacy' })).statusCode, 200);
  await h.app.auditTrail.flush();
  const events = (await h.storage.search(ctx, { types: ['AuditEvent'], where: [], sort: [], count: 100, offset: 0, total: 'none' })).records.map(
    (r) => r.resource as unknown as { entity?: Array<{ what: { reference: string } }> },
  );
  const named = (id: string) =>
    events
      .filter((e) => e.entity?.some((x) => x.what.reference === `Observation/${id}`))
      .flatMap((e) => (e.entity ?? []).map((x) => x.what.reference).filter((r) => r.startsWith('Patient/')));
  t.same(named('stored'), ['Patient/p2'], 'the stored patients, not the body’s');
  t.same(named('legacy'), ['Patient/p1'], 'no stored patients: taken from the body');
});

t.test('a database from before the patients column opens, reads as before, and keeps patients for new writes', async (t) => {
  const path = tempDatabase(t);
  const ctx = systemContext(BASE_URL);
  const first = await startHarness({ sqlitePath: path });
  await first.storage.create(ctx, { resourceType: 'Patient', id: 'p1' } as AnyResource);
  const old = await first.storage.create(ctx, observation('o1', 'p1'));
  await first.close();
  const db = new Database(path);
  db.exec('ALTER TABLE resources DROP COLUMN patients; ALTER TABLE history DROP COLUMN patients;');
  db.close();

  const h = await startHarness({ sqlitePath: path });
  t.teardown(h.close);
  const again = await h.storage.read(ctx, 'Observation', 'o1');
  t.same(again?.resource, old.resource, 'the old row reads as it was written');
  t.equal(again?.patients, undefined, 'with no patients kept');
  t.equal((await h.request({ url: '/fhir/Observation/o1' })).body, JSON.stringify(old.resource), 'and is served as its stored bytes');
  t.equal((await h.request({ url: '/fhir/Observation/o1/_history/1' })).statusCode, 200, 'vread of an old history row');
  await h.storage.update(ctx, observation('o1', 'p1', 'amended'));
  t.same((await h.storage.read(ctx, 'Observation', 'o1'))?.patients, ['p1'], 'the next write keeps them');
  t.same((await h.storage.vread(ctx, 'Observation', 'o1', 2))?.patients, ['p1'], 'in its history row too');
});
