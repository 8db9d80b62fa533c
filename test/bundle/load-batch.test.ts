/**
 * The loader's batch path (scripts/load-pipeline.ts): several bundles per
 * transaction, validated ahead on a worker thread. What it stores must be
 * what REST writes store, row for row; a failing bundle is reported and
 * leaves nothing behind, the rest of its group loads.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { AheadValidator, BatchWriter, type BundleResult } from '../../scripts/load-pipeline';
import { systemContext } from '../../src/context';
import type { Bundle } from '../../src/fhir/types';
import { parseSearch } from '../../src/search/parse';
import { createIndexer } from '../../src/search/indexer';
import type { Storage } from '../../src/storage/port';
import { buildSecondaryIndexes, deferSecondaryIndexes } from '../../src/storage/sqlite/schema';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { createValidator } from '../../src/validation/validator';
import { BASE_URL, startHarness } from '../http/harness';

const indexer = createIndexer({ baseUrl: BASE_URL });
const ctx = systemContext(BASE_URL);

const patient = (id: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  id,
  identifier: [{ system: 'urn:example:mrn', value: `mrn-${id}` }],
  name: [{ family: `Family-${id}`, given: ['Ann'] }],
  gender: 'female',
  birthDate: '1970-02-03',
  ...extra,
});
const observation = (id: string, subject: string) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  subject: { reference: subject },
  effectiveDateTime: '2020-05-01T10:00:00Z',
  valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 120, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }],
});
const put = (resource: { resourceType: string; id: string }, fullUrl?: string) => ({
  ...(fullUrl ? { fullUrl } : {}),
  resource,
  request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` },
});
const transaction = (entry: unknown[]): Bundle => ({ resourceType: 'Bundle', type: 'transaction', entry } as Bundle);

function freshPath(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'concord-load-batch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'load.db');
}

async function loadBatched(storage: Storage, bundles: Bundle[], validateAhead = true): Promise<{ results: BundleResult[]; writer: BatchWriter }> {
  const writer = new BatchWriter({ storage, validator: createValidator() }, BASE_URL, { validateAhead });
  try {
    const done = [...(await writer.send(bundles, bundles.map((b) => JSON.stringify(b)))), ...(await writer.drain())];
    return { results: done.map((d) => d.result), writer };
  } finally {
    await writer.close();
  }
}

/**
 * Every index row of a resource, without the pk (which differs between databases) and the write's instant (`_lastUpdated`, from the clock);
 * the parameter by its code, since ids are numbered per database in the order first written.
 */
function rowsOf(path: string, type: string, id: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    const tables = ['idx_token', 'idx_string', 'idx_reference', 'idx_date', 'idx_number', 'idx_quantity', 'idx_uri', 'idx_composite'];
    return tables
      .flatMap((table) =>
        (
          db
            .prepare(`SELECT x.*, p.code AS code_of_param FROM ${table} x JOIN resources r ON r.pk = x.resource JOIN search_params p ON p.id = x.param WHERE r.type = ? AND r.id = ? AND p.code <> '_lastUpdated'`)
            .all(type, id) as Array<Record<string, unknown>>
        ).map(({ resource: _pk, param: _id, ...row }) => `${table} ${JSON.stringify(row)}`),
      )
      .sort();
  } finally {
    db.close();
  }
}

t.test('a resource loaded on the batch path is stored and indexed exactly as one written over REST', async (t) => {
  const batchPath = freshPath(t);
  const batched = createSqliteStorage({ path: batchPath, indexer });
  const bundles = [
    transaction([put(patient('p1'), 'urn:uuid:11111111-1111-4111-8111-111111111111'), put(observation('o1', 'urn:uuid:11111111-1111-4111-8111-111111111111'))]),
    transaction([put(patient('p2')), put(observation('o2', 'Patient/p2'))]),
  ];
  const { results, writer } = await loadBatched(batched, bundles);
  t.same(results.map((r) => r.status), [200, 200]);
  t.same(writer.stats, { validatedAhead: 4, validatedInline: 0 }, 'every body validated on the worker, none twice');
  await batched.close();

  // The same resources over HTTP, one REST call each.
  const restPath = freshPath(t);
  const h = await startHarness({ sqlitePath: restPath });
  t.teardown(h.close);
  for (const resource of [patient('p1'), observation('o1', 'Patient/p1'), patient('p2'), observation('o2', 'Patient/p2')]) {
    const response = await h.request({ method: 'PUT', url: `/fhir/${resource.resourceType}/${resource.id}`, payload: resource, headers: { 'content-type': 'application/fhir+json' } });
    t.equal(response.statusCode, 201);
  }
  for (const [type, id] of [['Patient', 'p1'], ['Observation', 'o1'], ['Patient', 'p2'], ['Observation', 'o2']] as const) {
    const rows = rowsOf(batchPath, type, id);
    t.ok(rows.length > 5, `${type}/${id} has index rows`);
    t.same(rows, rowsOf(restPath, type, id), `${type}/${id}: the same index rows as the REST write`);
  }

  const reopened = createSqliteStorage({ path: batchPath, indexer });
  t.teardown(() => reopened.close());
  const find = async (type: string, query: string) =>
    (await reopened.search(ctx, parseSearch([type], [...new URLSearchParams(query)], { strict: true, baseUrl: BASE_URL }).query)).records.map((r) => r.id).sort();
  t.same(await find('Observation', 'subject=Patient/p1'), ['o1'], 'the fullUrl reference was resolved');
  t.same(await find('Observation', 'code=http://loinc.org|8867-4&date=2020-05&value-quantity=72'), ['o1', 'o2']);
  t.same(await find('Observation', 'component-code-value-quantity=http://loinc.org|8480-6$120'), ['o1', 'o2']);
  t.same(await find('Patient', 'family=family-p2&birthdate=1970&identifier=urn:example:mrn|mrn-p2'), ['p2']);
});

t.test('POST entries: the ids chosen before validation are the ones created, references follow them', async (t) => {
  const storage = createSqliteStorage({ path: freshPath(t), indexer });
  t.teardown(() => storage.close());
  const fullUrl = 'urn:uuid:22222222-2222-4222-8222-222222222222';
  const bundle = transaction([
    { fullUrl, resource: patient('ignored'), request: { method: 'POST', url: 'Patient' } },
    { fullUrl: 'urn:uuid:33333333-3333-4333-8333-333333333333', resource: observation('ignored-too', fullUrl), request: { method: 'POST', url: 'Observation' } },
    // Without a fullUrl the write picks its own id: the worker cannot know the body, the write validates it.
    { resource: patient('no-full-url'), request: { method: 'POST', url: 'Patient' } },
  ]);
  const { results, writer } = await loadBatched(storage, [bundle]);
  t.equal(results[0]!.status, 200);
  t.same(writer.stats, { validatedAhead: 2, validatedInline: 1 });
  const [observationEntry] = (await storage.search(ctx, parseSearch(['Observation'], [], { strict: true, baseUrl: BASE_URL }).query)).records;
  const subject = (observationEntry!.resource as unknown as { subject: { reference: string } }).subject.reference;
  t.match(subject, /^Patient\/[0-9a-f-]{36}$/);
  t.ok(await storage.read(ctx, 'Patient', subject.slice('Patient/'.length)), 'the patient exists under that id');
});

t.test('an invalid resource fails its bundle only: reported, nothing of its bundle stored, the rest of the group loaded', async (t) => {
  for (const validateAhead of [true, false]) {
    const storage = createSqliteStorage({ path: freshPath(t), indexer });
    const bundles = [
      transaction([put(patient('good1'))]),
      transaction([put(patient('half')), put(patient('bad', { birthDate: 'yesterday' }))]),
      transaction([put(patient('good2'))]),
    ];
    const { results, writer } = await loadBatched(storage, bundles, validateAhead);
    t.same(results.map((r) => r.status), [200, 422, 200], `statuses (validated ahead: ${validateAhead})`);
    t.match(JSON.stringify(results[1]!.body), /birthDate/, 'the outcome names the invalid element');
    for (const id of ['good1', 'good2']) t.ok(await storage.read(ctx, 'Patient', id), `${id} loaded`);
    for (const id of ['half', 'bad']) t.equal(await storage.read(ctx, 'Patient', id), undefined, `${id}: nothing of the failed bundle`);
    if (validateAhead) t.ok(writer.stats.validatedAhead > 0, 'the invalid body was judged on the worker, with the same verdict');
    await storage.close();
  }
});

t.test('a body taken as valid before the worker answered is checked before its unit commits', (t) => {
  const validator = createValidator();
  const ahead = new AheadValidator(validator);
  const good = patient('s1');
  const bad = patient('s2', { birthDate: 'yesterday' });
  ahead.speculate();
  t.same(ahead.validate(good), [], 'no answer yet: taken as valid');
  t.same(ahead.validate(bad), [], 'even an invalid one, meanwhile');
  ahead.add([
    [JSON.stringify(good), []],
    [JSON.stringify(bad), validator.validate(bad)],
  ]);
  t.equal(ahead.settle(), false, "the worker's verdict on the invalid body fails the unit");

  ahead.speculate();
  ahead.validate(patient('s3', { gender: 'sometimes' }));
  t.equal(ahead.settle(), false, 'a body the worker did not validate is validated when the unit settles');
  ahead.speculate();
  ahead.validate(patient('s4'));
  t.equal(ahead.settle(), true, 'valid bodies: the unit may commit');

  t.not(ahead.validate(bad).length, 0, 'outside a unit the answer is the real one');
  ahead.speculate();
  ahead.validate(bad);
  ahead.abandon();
  t.not(ahead.validate(bad).length, 0, 'abandoned: no longer taking bodies as valid');
  t.end();
});

t.test('deferred index maintenance: an empty database loads without its secondary indexes, builds them after, and searches the same', async (t) => {
  const path = freshPath(t);
  const storage = createSqliteStorage({ path, indexer });
  const indexes = () => {
    const db = new Database(path, { readonly: true });
    try {
      return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
    } finally {
      db.close();
    }
  };
  const all = indexes();
  const side = new Database(path);
  t.equal(deferSecondaryIndexes(side), true, 'empty: deferred');
  side.close();
  const during = indexes();
  t.ok(all.includes('idx_token_by_value') && during.length === 0, 'every secondary index dropped (no statement names one)');
  const { results } = await loadBatched(storage, [transaction([put(patient('d1')), put(observation('d2', 'Patient/d1'))])]);
  t.same(results.map((r) => r.status), [200]);
  const search = async () => (await storage.search(ctx, parseSearch(['Observation'], [['subject', 'Patient/d1'], ['code', '8867-4']], { strict: true, baseUrl: BASE_URL }).query)).records.map((r) => r.id);
  t.same(await search(), ['d2'], 'searches answer meanwhile');
  const again = new Database(path);
  t.equal(deferSecondaryIndexes(again), false, 'not empty any more: nothing dropped');
  t.equal(buildSecondaryIndexes(again), all.length - during.length, 'every dropped index built');
  again.close();
  t.same(indexes(), all);
  t.same(await search(), ['d2']);
  await storage.close();
});
