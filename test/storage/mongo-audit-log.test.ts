/**
 * The access log on MongoDB (src/storage/mongo/audit-log.ts) without a
 * server: documents built by the adapter's own builder, its filter, sort,
 * keyset paging and counts run unchanged over mingo (an independent
 * implementation of MongoDB's query language), against the same cases as
 * SQLite (audit-log-cases.ts); the idempotent append of a standalone server
 * and the 409 of a taken id with a fake collection.
 */
import type { Collection, Document } from 'mongodb';
import t from 'tap';
import type { AccessFilter } from '../../src/context';
import { FhirError } from '../../src/errors';
import type { AnyResource } from '../../src/fhir/types';
import { createIndexer } from '../../src/search/indexer';
import type { Condition } from '../../src/search/query';
import { appendIdempotently } from '../../src/storage/mongo/append-records';
import { auditDocument, MongoAuditLog, searchAuditLog, type AuditDocument } from '../../src/storage/mongo/audit-log';
import { stampResource } from '../../src/storage/versioning';
import { auditLogCaseEvents, auditLogCases, auditLogQuery as query, event } from './audit-log-cases';
import { contextAt } from './contract-fixtures';
import { mingoReader } from './mingo-image';

const indexer = createIndexer({ baseUrl: 'http://localhost/fhir' });

const stored = (events: AnyResource[]) => events.map((e) => auditDocument(indexer, stampResource(e, 1, '2024-06-01T00:00:00.000Z')) as unknown as Document);

t.test('every case of the log’s search gives the same ids as on SQLite', async (t) => {
  const reader = mingoReader(stored(auditLogCaseEvents()));
  for (const [text, expected] of auditLogCases) t.same((await searchAuditLog(reader, query(text), undefined)).records.map((r) => r.id), expected, text);
  const counted = await searchAuditLog(reader, query('patient=Patient/p1&_summary=count'), undefined);
  t.same([counted.records.length, counted.total], [0, 2], '_summary=count');
  await t.rejects(searchAuditLog(reader, query('patient:missing=true'), undefined), FhirError, 'a modifier the log does not answer');
});

t.test('the access filter is part of the filter: hidden events are neither found nor counted', async (t) => {
  const reader = mingoReader(stored([event('own', { patient: 'p1' }), event('other', { patient: 'p2' }), event('agent-only', { agent: 'Patient/p1', patient: 'p2' })]));
  const entityIsP1: Condition = { kind: 'param', code: 'entity', type: 'reference', values: [{ kind: 'reference', ref: 'Patient/p1' }] };
  const access: AccessFilter = { conditionsFor: () => [entityIsP1] };
  t.same((await searchAuditLog(reader, query(''), access)).records.map((r) => r.id), ['own']);
  t.equal((await searchAuditLog(reader, query('_summary=count'), access)).total, 1);
  t.same((await searchAuditLog(reader, query('patient=Patient/p2'), access)).records, [], 'another patient’s events stay hidden');
  const labels: Condition = { kind: 'not', condition: { kind: 'param', code: '_security', type: 'token', values: [{ kind: 'token', code: 'PSY' }] } };
  const consentLike: AccessFilter = { conditionsFor: () => [labels, { kind: 'any', of: [[entityIsP1], [{ kind: 'constant', value: false }]] }] };
  t.same((await searchAuditLog(reader, query(''), consentLike)).records.map((r) => r.id), ['own'], 'not, any and constants');
});

t.test('pages by keyset newest first, without repeats or gaps, and counts every match', async (t) => {
  const start = Date.parse('2024-01-01T00:00:00.000Z');
  const events = Array.from({ length: 30 }, (_, i) => event(`n${String(i).padStart(2, '0')}`, { patient: 'p', recorded: new Date(start + i * 1000).toISOString() }));
  const reader = mingoReader(stored(events));
  const seen: string[] = [];
  let page = await searchAuditLog(reader, query('_sort=-date&_count=7'), undefined);
  t.equal(page.total, 30);
  while (true) {
    seen.push(...page.records.map((r) => r.id));
    if (!page.hasMore) break;
    page = await searchAuditLog(reader, { ...query('_sort=-date&_count=7'), after: page.last! }, undefined);
    t.ok(page.hasPrevious);
  }
  t.same(seen, events.map((e) => e.id).reverse());
  const back = await searchAuditLog(reader, { ...query('_sort=-date&_count=7'), before: page.first! }, undefined);
  t.same(back.records.map((r) => r.id), seen.slice(21, 28), 'and back');
});

/** A collection that keeps documents by `_id` and answers a taken id like MongoDB (E11000); `failAfter` inserts then fails once. */
function fakeCollection(failAfter = Infinity) {
  const docs = new Map<string, AuditDocument>();
  let inserts = 0;
  const collection = {
    async insertOne(doc: AuditDocument) {
      if (inserts++ === failAfter) throw new Error('connection reset');
      if (docs.has(doc._id)) throw Object.assign(new Error('E11000 duplicate key error'), { code: 11000 });
      docs.set(doc._id, doc);
    },
  };
  return { docs, collection: collection as unknown as Collection<AuditDocument> };
}

t.test('standalone: a batch retried after a partial write stores the rest and duplicates nothing', async (t) => {
  const { docs, collection } = fakeCollection(2);
  const log = new MongoAuditLog(collection, indexer);
  const ops = { create: (ctx: ReturnType<typeof contextAt>, resource: AnyResource) => log.create(ctx.now, resource) };
  const ctx = contextAt('2024-06-01T00:00:00.000Z');
  const batch = ['a', 'b', 'c', 'd'].map((id) => event(id, { patient: 'p' }));
  await t.rejects(appendIdempotently(ops, ctx, batch), { message: 'connection reset' }, 'the first attempt fails part way');
  t.same([...docs.keys()], ['a', 'b']);
  await appendIdempotently(ops, ctx, batch);
  t.same([...docs.keys()], ['a', 'b', 'c', 'd'], 'the retry completes it, each event once');
  const taken = await log.create(ctx.now, event('a')).then(() => undefined, (error: unknown) => error);
  t.match(taken, { status: 409 }, 'a taken id is a 409 for a plain create');
});
