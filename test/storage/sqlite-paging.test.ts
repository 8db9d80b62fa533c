/**
 * SQLite search paging and totals: keyset cursors in both directions, offset
 * paging, the paging flags and positions, and the capped count.
 */
import t from 'tap';
import type { SearchQuery } from '../../src/search/query';
import type { VersionRecord } from '../../src/storage/port';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { contextAt } from './contract-fixtures';
import { parsed, searchContext, searchIndexer, writeSearchFixtures } from './search-cases';

const storage = createSqliteStorage({ path: ':memory:', indexer: searchIndexer });
t.teardown(() => storage.close());
t.before(() => writeSearchFixtures(storage));
const ctx = searchContext({});
const ids = (records: VersionRecord[]) => records.map((r) => r.id);

/** Follows `next` positions from the first page to the end; returns the pages' ids. */
async function pagesForward(query: SearchQuery): Promise<string[][]> {
  const pages: string[][] = [];
  let result = await storage.search(ctx, query);
  pages.push(ids(result.records));
  while (result.hasMore) {
    result = await storage.search(ctx, { ...query, after: result.last! });
    pages.push(ids(result.records));
  }
  return pages;
}

t.test('keyset: next positions walk the whole order once, with every sort shape', async (t) => {
  for (const request of ['Patient?_count=2', 'Patient?_count=2&_sort=-birthdate', 'Patient?_count=2&_sort=family', 'Observation?_count=2&_sort=-value-quantity', 'Patient?_count=1&_sort=-_lastUpdated']) {
    const query = parsed(request);
    const all = ids((await storage.search(ctx, { ...query, count: 100 })).records);
    const pages = await pagesForward(query);
    t.same(pages.flat(), all, `${request}: pages concatenate to the full order`);
    t.ok(pages.slice(0, -1).every((page) => page.length === query.count), `${request}: only the last page is short`);
  }
});

t.test('keyset: previous positions walk back, each page in the query order', async (t) => {
  const query = parsed('Patient?_count=2&_sort=birthdate');
  const all = ids((await storage.search(ctx, { ...query, count: 100 })).records);
  t.same(all, ['pat-peter', 'pat-anna', 'pat-zoe', 'pat-nobirth', 'pat-updated'], 'missing birth dates last');
  const third = await storage.search(ctx, { ...query, after: (await storage.search(ctx, { ...query, count: 4 })).last! });
  t.same(ids(third.records), ['pat-updated']);
  const second = await storage.search(ctx, { ...query, before: third.first! });
  t.same(ids(second.records), ['pat-zoe', 'pat-nobirth'], 'rows right before, in the query order');
  t.equal(second.hasMore, true, 'rows exist after a previous page');
  t.equal(second.hasPrevious, true);
  const first = await storage.search(ctx, { ...query, before: second.first! });
  t.same(ids(first.records), ['pat-peter', 'pat-anna']);
  t.equal(first.hasPrevious, undefined, 'nothing before the first page');
});

t.test('keyset: positions hold the sort values, then type and id', async (t) => {
  const result = await storage.search(ctx, parsed('Patient?_count=2&_sort=-birthdate'));
  t.same(result.first, { values: [Date.parse('1980-12-31T23:59:59.999Z'), 'pat-anna'], resourceType: 'Patient', id: 'pat-anna' });
  t.same(result.last?.id, 'pat-zoe');
  t.equal(result.hasMore, true);
  t.equal(result.hasPrevious, undefined);
});

t.test('keyset: a row deleted between pages neither shifts nor repeats the rest', async (t) => {
  const scratch = createSqliteStorage({ path: ':memory:', indexer: searchIndexer });
  t.teardown(() => scratch.close());
  await writeSearchFixtures(scratch);
  const query = parsed('Patient?_count=2');
  const first = await scratch.search(ctx, query);
  t.same(ids(first.records), ['pat-anna', 'pat-nobirth']);
  await scratch.delete(contextAt('2024-07-01T00:00:00.000Z'), 'Patient', 'pat-anna');
  const next = await scratch.search(ctx, { ...query, after: first.last! });
  t.same(ids(next.records), ['pat-peter', 'pat-updated']);
  t.equal(next.hasPrevious, true, 'pat-nobirth is still before');
});

t.test('keyset: several types are ordered by type, then id', async (t) => {
  const query = parsed('?_count=2&_id=org1,pr1,pat-zoe,enc1', ['Patient', 'Organization', 'Practitioner', 'Encounter']);
  const all = await storage.search(ctx, { ...query, count: 100 });
  t.same(all.records.map((r) => `${r.resourceType}/${r.id}`), ['Encounter/enc1', 'Organization/org1', 'Patient/pat-zoe', 'Practitioner/pr1']);
  const pages = await pagesForward(query);
  t.same(pages, [['enc1', 'org1'], ['pat-zoe', 'pr1']]);
});

t.test('offset paging: hasMore from one extra row; hasPrevious when the offset is past the start', async (t) => {
  const query = parsed('Patient?_count=2');
  const middle = await storage.search(ctx, { ...query, offset: 2 });
  t.same(ids(middle.records), ['pat-peter', 'pat-updated']);
  t.equal(middle.hasMore, true);
  t.equal(middle.hasPrevious, true);
  const last = await storage.search(ctx, { ...query, offset: 4 });
  t.same(ids(last.records), ['pat-zoe']);
  t.equal(last.hasMore, undefined);
});

t.test('total: capped count sets totalExceeds; none gives no total; estimate counts like accurate', async (t) => {
  const query = parsed('Patient?_count=1');
  t.equal((await storage.search(ctx, { ...query, totalCap: 5 })).total, 5, 'exactly at the cap is counted');
  const capped = await storage.search(ctx, { ...query, totalCap: 4 });
  t.equal(capped.total, undefined);
  t.equal(capped.totalExceeds, 4);
  t.equal((await storage.search(ctx, { ...query, total: 'none' })).total, undefined);
  t.equal((await storage.search(ctx, { ...query, total: 'estimate' })).total, 5);
  const countOnly = await storage.search(ctx, { ...query, count: 0 });
  t.same(countOnly, { records: [], total: 5 }, 'count 0: no page, no flags');
});

t.test('a cursor of another sort is refused with 400', async (t) => {
  const query = parsed('Patient?_count=2&_sort=family');
  const outcome = await storage.search(ctx, { ...query, after: { values: [], resourceType: 'Patient', id: 'x' } }).catch((error: unknown) => error);
  t.match(outcome, { status: 400 });
});

t.test('a broad condition with an _id or _lastUpdated order pages the same through the index walk', async (t) => {
  const { contractIndexer, token } = await import('./contract-fixtures');
  const broad = createSqliteStorage({ path: ':memory:', indexer: contractIndexer });
  t.teardown(() => broad.close());
  // More matches than the driving-set probe allows (2000), so the page walks the (type, id) index.
  await broad.unitOfWork(async (tx) => {
    for (let i = 0; i < 2100; i++) {
      const id = `p${String(i).padStart(4, '0')}`;
      await tx.create(contextAt(new Date(Date.UTC(2024, 0, 1, 0, 0, 0, i)).toISOString()), { resourceType: 'Patient', id, gender: i % 50 === 0 ? 'male' : 'female' });
    }
  });
  const base = { types: ['Patient'], where: [token('gender', { code: 'female' })], count: 3, offset: 0, total: 'accurate' as const };
  const byId = await broad.search(ctx, { ...base, sort: [{ code: '_id', descending: false }] });
  t.same(ids(byId.records), ['p0001', 'p0002', 'p0003']);
  t.equal(byId.total, 2058);
  t.equal(byId.hasMore, true);
  const next = await broad.search(ctx, { ...base, sort: [{ code: '_id', descending: false }], after: byId.last!, offset: 0 });
  t.same(ids(next.records), ['p0004', 'p0005', 'p0006']);
  const around = await broad.search(ctx, { ...base, sort: [{ code: '_id', descending: false }], offset: 47 });
  t.same(ids(around.records), ['p0048', 'p0049', 'p0051'], 'a non-matching row is skipped');
  const newest = await broad.search(ctx, { ...base, sort: [{ code: '_lastUpdated', descending: true }, { code: '_id', descending: false }] });
  t.same(ids(newest.records), ['p2099', 'p2098', 'p2097']);
});

t.test('total: a lone indexed condition is counted from its index rows, per type, without deleted resources', async (t) => {
  const Database = (await import('better-sqlite3')).default;
  const { CompiledSearch } = await import('../../src/storage/sqlite/search-sql');
  const { createSchema } = await import('../../src/storage/sqlite/schema');
  const shared = createSqliteStorage({ path: ':memory:', indexer: searchIndexer });
  t.teardown(() => shared.close());
  // `date` is a parameter of Encounter and of Observation: the rows of the other type must not count.
  const at = contextAt('2024-01-01T00:00:00.000Z');
  for (let i = 0; i < 3; i++) await shared.create(at, { resourceType: 'Encounter', id: `e${i}`, status: 'finished', class: { code: 'AMB' }, period: { start: '2020-05-01', end: '2020-05-02' } });
  for (let i = 0; i < 4; i++) await shared.create(at, { resourceType: 'Observation', id: `o${i}`, status: 'final', code: { text: 'x' }, effectiveDateTime: '2020-05-02' });
  await shared.delete(at, 'Observation', 'o0');
  await shared.delete(at, 'Encounter', 'e0');
  const query = parsed('Observation?date=2020&_count=2');
  const observations = await shared.search(ctx, query);
  t.equal(observations.total, 3, 'deleted and other-type rows do not count');
  t.equal((await shared.search(ctx, parsed('Encounter?date=2020'))).total, 2);
  t.equal((await shared.search(ctx, { ...query, totalCap: 2 })).totalExceeds, 2, 'the cap still applies');
  t.equal((await shared.search(ctx, parsed('Observation?date=2020&_id=o1,o2'))).total, 2, 'with other conditions the rows are read');
  t.equal((await shared.search(ctx, parsed('Observation?date=2020&status=final'))).total, 3);

  // The statement itself: the count never reads `resources`, the page does.
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  createSchema(db);
  const compiled = new CompiledSearch(parsed('Observation?category=vital-signs'), undefined);
  const plan = (statement: { text: string; params: readonly unknown[] }) =>
    (db.prepare(`EXPLAIN QUERY PLAN ${statement.text}`).all(...statement.params) as Array<{ detail: string }>).map((row) => row.detail).join('\n');
  t.notMatch(plan(compiled.count(10_000)), /\bresources\b|INTEGER PRIMARY KEY/, 'count: index rows only');
  t.match(plan(compiled.page({ offset: 0 }, 10)), /INTEGER PRIMARY KEY/, 'page: reads the resources');
  const twoConditions = new CompiledSearch(parsed('Observation?category=vital-signs&status=final'), undefined);
  t.match(plan(twoConditions.count(10_000)), /INTEGER PRIMARY KEY/, 'a second condition is tested on the resource row');
});
