/**
 * Differential test of the MongoDB adapter's queries, runnable without a
 * MongoDB server: the documents the adapter would hold are built with its
 * own builders (documents.ts, version-writer.ts's stampVersion), and the
 * adapter's search code (mongo-search.ts: sub-queries, filter, sort, keyset
 * paging, capped totals, includes) runs unchanged over a ResourceReader
 * backed by mingo, an independent implementation of MongoDB's query
 * language. Answers are compared with the ids written by hand in the
 * engine-neutral cases (search-cases.ts) and with the SQLite adapter's.
 *
 * What it does not check: the write protocol (version-conditional writes,
 * history rows, locks), which needs a server (mongo-contract.test.ts), and
 * differences between mingo and MongoDB themselves.
 */
import { Query } from 'mingo';
import type { Document } from 'mongodb';
import t, { type Test } from 'tap';
import type { AccessFilter } from '../../src/context';
import { FhirError } from '../../src/errors';
import { storedBody } from '../../src/fhir/stored-body';
import type { AnyResource } from '../../src/fhir/types';
import type { Indexer } from '../../src/search/index-entry';
import type { Condition, SearchQuery } from '../../src/search/query';
import {
  historyDocument,
  sortKeyFields,
  versionDocument,
  type HistoryDocument,
  type VersionDocument,
} from '../../src/storage/mongo/documents';
import { compileHistory } from '../../src/storage/mongo/history-filter';
import { defaultIncludeLimits } from '../../src/storage/mongo/includes';
import { visibleHistoryFilter, visibleResourceFilter } from '../../src/storage/mongo/visibility';
import type { HistoryQuery, SearchResult, Storage, StorageOps, VersionRecord } from '../../src/storage/port';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { contextAt, contractFixtures, contractIndexer, fixtureTime, genderSystem, loinc, manyPatients, mrn, onlyFemale, otherSystem, searchOf, token, uncompilableSearches } from './contract-fixtures';
import { MingoImage } from './mingo-image';
import { parsed, searchCases, searchContext, searchIndexer, writeSearchFixtures, type SearchCase } from './search-cases';

const t0Many = '2024-05-01T00:00:00.000Z';

const idsOf = (records: VersionRecord[] | undefined) => (records ?? []).map((r) => `${r.resourceType}/${r.id}`);

async function outcomeOf<T>(run: () => Promise<T>): Promise<T | { status: number; code: string | undefined }> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof FhirError)) throw error;
    return { status: error.status, code: error.issues[0]?.code };
  }
}

// ---------------------------------------------------------------------------
// The engine-neutral cases: hand-written ids, and SQLite's answers.

t.test('search cases: the MongoDB queries give the expected ids (evaluated by mingo)', async (t) => {
  const image = new MingoImage(searchIndexer);
  await writeSearchFixtures(image);
  const sqlite = await sqliteWith(t, writeSearchFixtures, searchIndexer);
  for (const searchCase of searchCases) {
    t.test(searchCase.name, async (t) => {
      const result = await image.search(searchContext(searchCase), searchCase.query);
      t.same(idsOf(result.records), searchCase.expectedIds);
      t.equal(result.total, searchCase.expectedIds.length, 'total');
      await compareWithSqlite(t, sqlite, searchCase, result);
    });
  }
});

/** SQLite, or undefined (with a visible comment) while its adapter cannot be loaded: the hand-written ids still decide. */
async function sqliteWith(t: Test, write: (s: Storage) => Promise<void>, indexer: Indexer): Promise<Storage | undefined> {
  try {
    const sqlite = createSqliteStorage({ path: ':memory:', indexer });
    t.teardown(() => sqlite.close());
    await write(sqlite);
    return sqlite;
  } catch (error) {
    t.comment(`SQLite adapter unavailable, comparing with the hand-written ids only: ${String(error)}`);
    return undefined;
  }
}

/** Only for the cases SQLite already passes: a case it fails is SQLite's gap, reported, not a MongoDB failure. */
async function compareWithSqlite(t: Test, sqlite: Storage | undefined, searchCase: SearchCase, mongo: SearchResult): Promise<void> {
  if (!sqlite) return;
  const answer = await outcomeOf(() => sqlite.search(searchContext(searchCase), searchCase.query));
  if (!('records' in answer) || JSON.stringify(idsOf(answer.records)) !== JSON.stringify(searchCase.expectedIds)) {
    t.comment(`SQLite does not pass "${searchCase.name}" yet: not compared`);
    return;
  }
  t.same({ ids: idsOf(mongo.records), total: mongo.total }, { ids: idsOf(answer.records), total: answer.total }, 'same answer as SQLite');
}

t.test('totals above 10,000: accurate counts every match, also under the access filter; estimate stops at the cap', async (t) => {
  const write = async (ops: StorageOps) => {
    for (let i = 0; i < manyPatients.count; i++) await ops.create(contextAt(t0Many), manyPatients.resource(i));
  };
  const image = new MingoImage(contractIndexer);
  await write(image);
  const sqlite = await sqliteWith(t, (s) => s.unitOfWork(write), contractIndexer);
  const female = token('gender', { code: 'female' });
  const cases: Array<[string, Partial<SearchQuery>, AccessFilter | undefined, number | string]> = [
    ['no condition', {}, undefined, manyPatients.count],
    ['one condition', { where: [female] }, undefined, manyPatients.female],
    ['estimate', { where: [female], total: 'estimate' }, undefined, 'more than 10000'],
    ['the access filter', {}, onlyFemale, manyPatients.female],
    ['a condition and the filter', { where: [token('identifier', { system: mrn })] }, onlyFemale, manyPatients.femaleWithMrn],
    ['only hidden matches', { where: [token('gender', { code: 'male' })] }, onlyFemale, 0],
  ];
  for (const [name, query, access, expected] of cases) {
    const ctx = access ? { ...contextAt(t0Many), access } : contextAt(t0Many);
    const full = searchOf(['Patient'], { count: 0, ...query });
    const totalOf = (result: SearchResult) => (result.totalExceeds === undefined ? result.total : `more than ${result.totalExceeds}`);
    const mongo = totalOf(await image.search(ctx, full));
    t.equal(mongo, expected, name);
    if (sqlite) t.equal(totalOf(await sqlite.search(ctx, full)), mongo, `${name}: same as SQLite`);
  }
});

// ---------------------------------------------------------------------------
// Paging, totals, includes, limits: the same fixtures, hand-written answers.

t.test('search mechanics over the search fixtures', async (t) => {
  const image = new MingoImage(searchIndexer);
  await writeSearchFixtures(image);
  const ctx = searchContext({});
  const search = (query: SearchQuery, access?: AccessFilter) => image.search(access ? { ...ctx, access } : ctx, query);

  const patientsByBirthdate = ['Patient/pat-peter', 'Patient/pat-anna', 'Patient/pat-zoe', 'Patient/pat-nobirth', 'Patient/pat-updated'];

  t.test('keyset paging forwards visits every row once, in order, with the right flags', async (t) => {
    const query = { ...parsed('Patient?_sort=birthdate'), count: 2 };
    const pages: string[][] = [];
    let result = await search(query);
    t.equal(result.hasPrevious, false, 'the first page has nothing before it');
    pages.push(idsOf(result.records));
    while (result.hasMore) {
      result = await search({ ...query, after: result.last! });
      t.equal(result.hasPrevious, true, 'a later page has rows before it');
      pages.push(idsOf(result.records));
    }
    t.same(pages, [patientsByBirthdate.slice(0, 2), patientsByBirthdate.slice(2, 4), patientsByBirthdate.slice(4)]);
    t.same(result.last, { values: [null, 'pat-updated'], resourceType: 'Patient', id: 'pat-updated' }, 'a missing sort value is null in the position');
  });

  t.test('keyset paging backwards gives the same pages, each in the query order', async (t) => {
    const query = { ...parsed('Patient?_sort=-birthdate'), count: 2 };
    const forward = idsOf((await search({ ...query, count: 100 })).records);
    const last = await search({ ...query, after: (await search({ ...query, count: 4 })).last! });
    t.same(idsOf(last.records), forward.slice(4));
    const previous = await search({ ...query, before: last.first! });
    t.same(idsOf(previous.records), forward.slice(2, 4));
    t.equal(previous.hasMore, true, 'rows after a page read backwards');
    t.equal(previous.hasPrevious, true);
    const first = await search({ ...query, before: previous.first! });
    t.same(idsOf(first.records), forward.slice(0, 2));
    t.equal(first.hasPrevious, false, 'nothing before the first page');
  });

  t.test('keyset paging over several types: ties of the keys broken by type, then id', async (t) => {
    const query: SearchQuery = { ...parsed('?_sort=-_lastUpdated', ['Organization', 'Practitioner', 'ValueSet']), count: 1 };
    const seen: string[] = [];
    let result = await search(query);
    seen.push(...idsOf(result.records));
    while (result.hasMore) {
      result = await search({ ...query, after: result.last! });
      seen.push(...idsOf(result.records));
    }
    t.same(seen, ['ValueSet/vs2', 'ValueSet/vs1', 'Organization/org1', 'Practitioner/pr1']);
  });

  t.test('a position from another search is refused, not misread', async (t) => {
    const wrong = { values: ['x', 'y', 'z'], resourceType: 'Patient', id: 'x' };
    t.match(await outcomeOf(() => search({ ...parsed('Patient?_sort=birthdate'), after: wrong })), { status: 400 });
  });

  t.test('offset paging', async (t) => {
    const result = await search({ ...parsed('Patient?_sort=birthdate'), count: 2, offset: 2 });
    t.same(idsOf(result.records), patientsByBirthdate.slice(2, 4));
    t.same([result.hasPrevious, result.hasMore], [true, true]);
    const end = await search({ ...parsed('Patient?_sort=birthdate'), count: 2, offset: 4 });
    t.same([end.hasPrevious, end.hasMore], [true, false]);
  });

  t.test('totals: exact up to the cap, `totalExceeds` above it, none when not asked', async (t) => {
    const query = parsed('Patient?_sort=birthdate');
    t.match(await search({ ...query, totalCap: 5 }), { total: 5 });
    const capped = await search({ ...query, totalCap: 4 });
    t.equal(capped.total, undefined);
    t.equal(capped.totalExceeds, 4);
    t.equal(capped.records.length, 5, 'the cap bounds the count, not the page');
    t.equal((await search({ ...query, total: 'none' })).total, undefined);
    const countOnly = await search({ ...query, count: 0 });
    t.same([countOnly.records.length, countOnly.total], [0, 5]);
  });

  t.test('_include: the targets of the page, each once, never a match again', async (t) => {
    const result = await search(parsed('Encounter?_id=enc1,enc2&_include=Encounter:subject&_include=Encounter:patient'));
    t.same(idsOf(result.records), ['Encounter/enc1', 'Encounter/enc2']);
    t.same(idsOf(result.included), ['Patient/pat-peter']);
    const all = await search(parsed('Encounter?_id=enc1&_include=Encounter:*'));
    t.same(idsOf(all.included), ['Organization/org1', 'Patient/pat-peter', 'Practitioner/pr1']);
    const typed = await search(parsed('Encounter?_id=enc1&_include=Encounter:participant:Practitioner'));
    t.same(idsOf(typed.included), ['Practitioner/pr1']);
  });

  t.test('matches and included resources carry their stored bytes, unparsed, with the patients kept at write time', async (t) => {
    const result = await search(parsed('Encounter?_id=enc1&_include=Encounter:subject'));
    const records = [...result.records, ...(result.included ?? [])];
    t.ok(records.length === 2 && records.every((record) => storedBody(record) !== undefined), 'the bytes of each, not a parsed body');
    t.same(records.map((record) => JSON.parse(storedBody(record)!).id), ['enc1', 'pat-peter']);
    t.same(records.map((record) => record.patients), [['pat-peter'], ['pat-peter']], 'the patients stored with the document');
  });

  t.test('_include: a deleted target is not included', async (t) => {
    const result = await search(parsed('Encounter?_id=enc-of-deleted&_include=Encounter:subject'));
    t.same(idsOf(result.included), []);
  });

  t.test('_revinclude, and :iterate on what was included', async (t) => {
    const rev = await search(parsed('Patient?_id=pat-peter&_revinclude=Observation:subject'));
    t.same(idsOf(rev.included), ['Observation/obs1', 'Observation/obs3']);
    const noIterate = await search(parsed('Observation?_id=obs1&_include=Observation:encounter&_include=Encounter:service-provider'));
    t.same(idsOf(noIterate.included), ['Encounter/enc1'], 'without :iterate a spec applies to the matches only');
    const iterate = await search(parsed('Observation?_id=obs1&_include=Observation:encounter&_include:iterate=Encounter:service-provider'));
    t.same(idsOf(iterate.included), ['Encounter/enc1', 'Organization/org1']);
    const both = await search(parsed('Patient?_id=pat-zoe&_revinclude=Encounter:subject&_revinclude:iterate=Observation:encounter'));
    t.same(idsOf(both.included), ['Encounter/enc3'], 'a deleted encounter is not included; enc3 has no observations');
  });

  t.test('access: included resources follow the access conditions of their type', async (t) => {
    const hidePeter: AccessFilter = { conditionsFor: (type) => (type === 'Patient' ? [notId('pat-peter')] : []) };
    const result = await search(parsed('Observation?_id=obs1,obs2&_include=Observation:subject'), hidePeter);
    t.same(idsOf(result.included), ['Patient/pat-zoe']);
    const hideObs1: AccessFilter = { conditionsFor: (type) => (type === 'Observation' ? [notId('obs1')] : []) };
    t.same(idsOf((await search(parsed('Patient?_id=pat-peter&_revinclude=Observation:subject'), hideObs1)).included), ['Observation/obs3']);
  });

  t.test('access: the total counts visible resources only; several types each get their own conditions', async (t) => {
    const onlyFemale: AccessFilter = { conditionsFor: (type) => (type === 'Patient' ? [genderIs('female')] : [{ kind: 'constant', value: false }]) };
    const result = await search(parsed('?_sort=_id', ['Patient', 'Organization']), onlyFemale);
    t.same(idsOf(result.records), ['Patient/pat-anna', 'Patient/pat-zoe']);
    t.equal(result.total, 2);
  });

  t.test('access with a _has inside the access conditions (the access layer may use any condition)', async (t) => {
    const withHeartRate: AccessFilter = {
      conditionsFor: (type) =>
        type === 'Patient' ? [{ kind: 'has', resourceType: 'Observation', referenceParam: 'subject', where: parsed('Observation?code=8867-4').where[0]! }] : [],
    };
    t.same(idsOf((await search(parsed('Patient?_sort=_id'), withHeartRate)).records), ['Patient/pat-peter', 'Patient/pat-zoe']);
  });

  t.test('limits: a chain or a _has too broad to resolve is refused with too-costly, never truncated', async (t) => {
    const tight = { ...defaultIncludeLimits, maxRefs: 1 };
    const run = (request: string) => outcomeOf(() => image.search(ctx, parsed(request), tight));
    t.match(await run('Encounter?subject:Patient.name=chalmers'), { status: 400, code: 'too-costly' }, 'two patients named chalmers');
    t.match(await run('Patient?_has:Observation:patient:code=8867-4'), { status: 400, code: 'too-costly' });
    t.match(await run('Encounter?subject:Patient.name=windsor'), { records: [{ id: 'enc1' }, { id: 'enc2' }] }, 'one target is within the bound');
  });

  t.test('limits: includes are cut at maxIncluded per page, and :iterate after maxRounds rounds (as SQLite)', async (t) => {
    const run = (request: string, limits: Partial<typeof defaultIncludeLimits>) =>
      image.search(ctx, parsed(request), { ...defaultIncludeLimits, ...limits });
    t.same(idsOf((await run('Encounter?_id=enc1&_include=Encounter:*', { maxIncluded: 2 })).included), ['Organization/org1', 'Patient/pat-peter']);
    const chain = 'Observation?_id=obs1&_include=Observation:encounter&_include:iterate=Encounter:service-provider';
    t.same(idsOf((await run(chain, { maxRounds: 1 })).included), ['Encounter/enc1'], 'one round: no iteration');
  });

  t.test('refused: malformed IR never becomes a 500 or a silently wider match', async (t) => {
    const refused = (where: Condition[], extra: Partial<SearchQuery> = {}) => outcomeOf(() => search({ ...parsed('Patient'), where, ...extra }));
    t.match(await refused([{ kind: 'bogus' } as unknown as Condition]), { status: 400, code: 'not-supported' });
    t.match(await refused([{ ...genderIs('x'), modifier: 'bogus' } as Condition]), { status: 400, code: 'not-supported' });
    t.match(await refused([{ kind: 'param', code: 'birthdate', type: 'date', values: [{ kind: 'token', code: 'x' }] }]), { status: 400 });
    t.match(await refused([{ kind: 'param', code: 'gender', type: 'special', values: [{ kind: 'token', code: 'x' }] }]), { status: 400 });
    t.match(await refused([], { sort: [{ code: 'a.b', descending: false }] }), { status: 400 });
    t.match(await refused([], { types: [] }), { status: 400 });
  });
});

const notId = (id: string): Condition => ({ kind: 'not', condition: { kind: 'param', code: '_id', type: 'token', values: [{ kind: 'token', code: id }] } });
const genderIs = (code: string): Condition => ({ kind: 'param', code: 'gender', type: 'token', values: [{ kind: 'token', code }] });

t.test('access on reads other than search (visibility.ts)', async (t) => {
  const image = new MingoImage(searchIndexer);
  await writeSearchFixtures(image);
  const reader = image.reader;
  const hidePeter: AccessFilter = { conditionsFor: (type) => (type === 'Patient' ? [notId('pat-peter')] : []) };
  const readable = async (type: string, id: string) =>
    new Query(await visibleResourceFilter(reader, hidePeter, type, id)).find([...image.resources.values()]).all().length === 1;
  t.equal(await readable('Patient', 'pat-zoe'), true);
  t.equal(await readable('Patient', 'pat-peter'), false, 'hidden');
  t.equal(await readable('Encounter', 'enc1'), true, 'other types follow their own (empty) conditions');

  const historyIds = async (query: HistoryQuery) => {
    const compiled = compileHistory(query);
    const filter = await visibleHistoryFilter(reader, hidePeter, query, compiled.filter);
    if (filter === undefined) return [];
    return new Query(filter).find<HistoryDocument>(image.versions).sort(compiled.sort).all().map((doc) => `${doc.type}/${doc.id}/${doc.versionId}`);
  };
  t.same(await historyIds({ resourceType: 'Patient', id: 'pat-peter', count: 10, offset: 0 }), [], 'instance history of a hidden resource');
  t.same(await historyIds({ resourceType: 'Patient', id: 'pat-updated', count: 10, offset: 0 }), ['Patient/pat-updated/2', 'Patient/pat-updated/1']);
  const typeHistory = await historyIds({ resourceType: 'Patient', count: 100, offset: 0 });
  t.notOk(typeHistory.some((key) => key.startsWith('Patient/pat-peter/')), 'type history leaves hidden resources out');
  t.ok(typeHistory.includes('Patient/pat-zoe/1'));
  const systemHistory = await historyIds({ count: 100, offset: 0 });
  t.ok(systemHistory.includes('Encounter/enc1/1') && !systemHistory.includes('Patient/pat-peter/1'), 'system history too');
});

t.test('access conditions kept across requests: compiled once, a _has still resolved per query', async (t) => {
  const image = new MingoImage(searchIndexer);
  await writeSearchFixtures(image);
  // The consent layer hands out the same condition objects while its data is unchanged (consent-source.ts).
  const kept: Condition = { ...notId('pat-peter'), rowTest: true };
  const keeping: AccessFilter = { conditionsFor: (type) => (type === 'Patient' ? [kept] : []) };
  const first = await visibleResourceFilter(image.reader, keeping, 'Patient', 'pat-zoe');
  const again = await visibleResourceFilter(image.reader, keeping, 'Patient', 'pat-zoe');
  t.equal(again.$and[1].$and[0], first.$and[1].$and[0], 'the same compiled filter for the same condition object');
  t.same(idsOf((await image.search(contextAt(fixtureTime(0)), parsed('Patient?_sort=_id'))).records).includes('Patient/pat-peter'), true);
  t.notOk(idsOf((await image.search({ ...contextAt(fixtureTime(0)), access: keeping }, parsed('Patient?_sort=_id'))).records).includes('Patient/pat-peter'));
  const other = await visibleResourceFilter(image.reader, { conditionsFor: () => [{ ...kept }] }, 'Patient', 'pat-zoe');
  t.not(other.$and[1].$and[0], first.$and[1].$and[0], 'another condition object is compiled afresh');

  const has: Condition = { kind: 'has', resourceType: 'Observation', referenceParam: 'subject', where: parsed('Observation?code=8867-4').where[0]!, rowTest: true };
  const withHeartRate: AccessFilter = { conditionsFor: (type) => (type === 'Patient' ? [has] : []) };
  const heartRate = async () => idsOf((await image.search({ ...contextAt(fixtureTime(0)), access: withHeartRate }, parsed('Patient?_sort=_id'))).records);
  t.notOk((await heartRate()).includes('Patient/pat-anna'));
  await image.create(contextAt(fixtureTime(0)), {
    resourceType: 'Observation', id: 'anna-hr', status: 'final', subject: { reference: 'Patient/pat-anna' },
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  } as AnyResource);
  t.ok((await heartRate()).includes('Patient/pat-anna'), 'the same _has condition object sees the new Observation');
});

t.test('exists (visibility.ts): current, not deleted, visible, in one find', async (t) => {
  const image = new MingoImage(searchIndexer);
  await writeSearchFixtures(image);
  const keys = [
    { resourceType: 'Patient', id: 'pat-peter' },
    { resourceType: 'Patient', id: 'pat-zoe' },
    { resourceType: 'Patient', id: 'nobody' },
    { resourceType: 'Encounter', id: 'enc1' },
    { resourceType: 'Patient', id: 'pat-deleted' },
    { resourceType: 'Encounter', id: 'pat-zoe' },
  ];
  const found = async (access?: AccessFilter) => [...(await image.exists({ ...contextAt(fixtureTime(0)), ...(access && { access }) }, keys))].sort();
  t.same(await found(), ['Encounter/enc1', 'Patient/pat-peter', 'Patient/pat-zoe'], 'the deleted pat-deleted and unknown ids are absent; ids are per type');
  const hidePeter: AccessFilter = { conditionsFor: (type) => (type === 'Patient' ? [notId('pat-peter')] : []) };
  t.same(await found(hidePeter), ['Encounter/enc1', 'Patient/pat-zoe'], 'a hidden resource is absent');
  t.same([...(await image.exists(contextAt(fixtureTime(0)), []))], [], 'no keys');
});

t.test('sort keys stored at write time: smallest and largest value per parameter', async (t) => {
  const keys = sortKeyFields([
    { param: 'birthdate', kind: 'date', low: 10, high: 19 },
    { param: 'birthdate', kind: 'date', low: 5, high: 7 },
    { param: 'name', kind: 'string', norm: 'windsor', exact: 'Windsor' },
    { param: 'name', kind: 'string', norm: 'chalmers', exact: 'Chalmers' },
    { param: 'code', kind: 'token', system: null, code: null, text: 'only text' },
    { param: 'subject', kind: 'reference', ref: null, targetType: null, targetId: null, identifierValue: 'x' },
    { param: 'combo', kind: 'composite', components: [] },
    { param: '__proto__', kind: 'uri', value: 'u' },
    { param: 'a.b', kind: 'uri', value: 'u' },
  ]);
  t.same(keys.birthdate, { has: true, min: 5, max: 19 });
  t.same(keys.name, { has: true, min: 'chalmers', max: 'windsor' });
  t.same(Object.keys(keys).sort(), ['__proto__', 'birthdate', 'name'], 'no key without a sortable value, nor for a code that is not a field name');
  t.equal(Object.getPrototypeOf(keys), Object.prototype, '__proto__ stays an ordinary key');
});

// ---------------------------------------------------------------------------
// The contract fixtures: token and _id searches and history against SQLite.

const at = (second: number) => new Date(Date.UTC(2024, 5, 1, 12, 0, second)).toISOString();
const patient = (id: string, extra: Record<string, unknown> = {}): AnyResource => ({ resourceType: 'Patient', id, ...extra });

/**
 * The contract fixtures, plus resources that separate right from almost
 * right: p4's system and code are in DIFFERENT identifiers (a filter that
 * does not keep both in one entry finds it for mrn|100); p5 has an
 * identifier whose value is a gender code (a filter that forgets the
 * parameter finds it for gender=female). Then updates, deletes, a revival
 * and several writes in one instant, so that history, deleted exclusion and
 * sort ties have something to show.
 */
async function writeScenario(storage: StorageOps): Promise<void> {
  for (const [i, resource] of contractFixtures.entries()) await storage.create(contextAt(fixtureTime(i)), resource);
  await storage.create(contextAt(at(0)), patient('p4', { identifier: [{ system: mrn, value: '999' }, { system: otherSystem, value: '100' }] }));
  await storage.create(contextAt(at(1)), patient('p5', { gender: 'male', identifier: [{ value: 'female' }] }));
  await storage.update(contextAt(at(2)), patient('p2', { gender: 'female', identifier: [{ system: mrn, value: '201' }] }));
  await storage.delete(contextAt(at(3)), 'Patient', 'p3');
  await storage.create(contextAt(at(4)), patient('p6', { gender: 'female', identifier: [{ system: mrn, value: '100' }] }));
  await storage.delete(contextAt(at(5)), 'Patient', 'p6');
  await storage.update(contextAt(at(6)), patient('p6', { gender: 'other' }));
  // Three versions in the same millisecond: ties for _lastUpdated and for history.
  await storage.update(contextAt(at(7)), patient('p1', { gender: 'female', identifier: [{ system: mrn, value: '100' }] }));
  await storage.update(contextAt(at(7)), { resourceType: 'Observation', id: 'o1', status: 'amended', code: { coding: [{ system: loinc, code: '8867-4' }] } });
  await storage.update(contextAt(at(7)), patient('p5', { gender: 'male', identifier: [{ value: 'female' }, { system: mrn, value: '100' }] }));
}

/** History documents from SQLite's versions, so that `seq` follows SQLite's write order and ties compare. */
async function historyImageOf(storage: Storage): Promise<HistoryDocument[]> {
  const everyVersion = (await storage.history(contextAt(at(59)), { count: 1000, offset: 0 })).records.reverse();
  return everyVersion.map((record, i) => historyDocument(versionDocument(record, i.toString(16).padStart(24, '0'))));
}

const searches: Array<[string, SearchQuery]> = [
  ['every patient', searchOf(['Patient'])],
  ['system search over two types', searchOf(['Patient', 'Observation'])],
  ['_id, several, other types ignored', searchOf(['Patient'], { where: [token('_id', { code: 'p1' }, { code: 'o1' }, { code: 'p4' })] })],
  ['_id of a deleted resource', searchOf(['Patient'], { where: [token('_id', { code: 'p3' })] })],
  ['system|code', searchOf(['Patient'], { where: [token('identifier', { system: mrn, code: '100' })] })],
  ['system|code over two types', searchOf(['Patient', 'Observation'], { where: [token('identifier', { system: mrn, code: '100' })] })],
  ['code in any system', searchOf(['Patient'], { where: [token('identifier', { code: '100' })] })],
  ['|code: no system', searchOf(['Patient'], { where: [token('identifier', { system: null, code: 'female' })] })],
  ['|code against a value with a system', searchOf(['Patient'], { where: [token('identifier', { system: null, code: '100' })] })],
  ['system|: any code', searchOf(['Patient'], { where: [token('identifier', { system: mrn })] })],
  ['the parameter is part of the match', searchOf(['Patient'], { where: [token('gender', { code: 'female' })] })],
  ['gender with its system', searchOf(['Patient'], { where: [token('gender', { system: genderSystem, code: 'male' })] })],
  ['values ORed', searchOf(['Patient'], { where: [token('identifier', { system: mrn, code: '201' }, { system: otherSystem, code: '100' })] })],
  ['conditions ANDed', searchOf(['Patient'], { where: [token('identifier', { code: '100' }), token('gender', { code: 'female' })] })],
  ['ANDed on the same parameter', searchOf(['Patient'], { where: [token('identifier', { code: 'female' }), token('identifier', { system: mrn })] })],
  ['_id ANDed with a token', searchOf(['Patient'], { where: [token('gender', { code: 'female' }), token('_id', { code: 'p2' }, { code: 'p5' })] })],
  ['_id descending', searchOf(['Patient'], { sort: [{ code: '_id', descending: true }] })],
  ['_lastUpdated ascending, ties by id', searchOf(['Patient', 'Observation'], { sort: [{ code: '_lastUpdated', descending: false }, { code: '_id', descending: false }] })],
  ['_lastUpdated descending, ties by id', searchOf(['Patient', 'Observation'], { sort: [{ code: '_lastUpdated', descending: true }, { code: '_id', descending: false }] })],
  ['ids shared across types sort by type', searchOf(['Patient', 'Observation'], { sort: [{ code: '_id', descending: true }] })],
  ['a middle page', searchOf(['Patient', 'Observation'], { count: 3, offset: 2 })],
  ['a page past the end', searchOf(['Patient'], { count: 3, offset: 20 })],
  ['the total only', searchOf(['Patient'], { count: 0 })],
  ['no total', searchOf(['Patient'], { count: 2, total: 'none' })],
];

const histories: Array<[string, HistoryQuery]> = [
  ['system', { count: 1000, offset: 0 }],
  ['type', { resourceType: 'Patient', count: 1000, offset: 0 }],
  ['instance with a delete and a revival', { resourceType: 'Patient', id: 'p6', count: 1000, offset: 0 }],
  ['since', { since: at(3), count: 1000, offset: 0 }],
  ['since and at, type', { resourceType: 'Patient', since: at(1), at: at(6), count: 1000, offset: 0 }],
  ['since spelled with an offset and no ms', { since: '2024-06-01T14:00:04+02:00', count: 1000, offset: 0 }],
  ['a page through same-instant versions', { count: 2, offset: 1 }],
];

t.test('contract fixtures: token and _id searches and history agree with SQLite', async (t) => {
  const image = new MingoImage(contractIndexer);
  await writeScenario(image);
  const sqlite = await sqliteWith(t, writeScenario, contractIndexer);
  if (!sqlite) return;
  const ctx = contextAt(at(59));
  const page = (result: SearchResult) => ({ ids: idsOf(result.records), total: result.total });

  for (const [name, query] of searches) {
    t.test(`search: ${name}`, async (t) => {
      t.same(page(await image.search(ctx, query)), page(await sqlite.search(ctx, query)));
    });
  }

  const historyImage = await historyImageOf(sqlite);
  for (const [name, query] of histories) {
    t.test(`history: ${name}`, async (t) => {
      const compiled = compileHistory(query);
      const found = () => new Query(compiled.filter).find<VersionDocument>(historyImage);
      const ids = found().sort(compiled.sort).skip(compiled.skip).limit(compiled.limit).all().map((doc) => `${doc.type}/${doc.id}/${doc.versionId}`);
      const expected = await sqlite.history(ctx, query);
      t.same({ ids, total: found().all().length }, { ids: expected.records.map((r) => `${r.resourceType}/${r.id}/${r.versionId}`), total: expected.total });
    });
  }

  t.test('the answers compared are not trivial', async (t) => {
    const answers = await Promise.all(searches.map(([, query]) => sqlite.search(ctx, query)));
    const distinct = new Set(answers.map((answer) => JSON.stringify(idsOf(answer.records))));
    t.ok(distinct.size >= 15, `${distinct.size} distinct answers for ${searches.length} searches`);
  });

  t.test('the comparison catches a filter that loses the one-entry rule (negative control)', async (t) => {
    const query = searchOf(['Patient'], { where: [token('identifier', { system: mrn, code: '100' })] });
    const naive = { type: 'Patient', deleted: false, 'idx.token.param': 'identifier', 'idx.token.system': mrn, 'idx.token.code': '100' };
    const naiveIds = new Query(naive).find<Document>([...image.resources.values()]).sort({ id: 1 }).all().map((d) => `Patient/${d.id}`);
    t.notSame(naiveIds, idsOf((await sqlite.search(ctx, query)).records));
  });
});

// The contract's "cannot compile" rule, on MongoDB's compiler (the contract
// itself reaches MongoDB only with a replica set): both engines refuse the
// same searches with the same 400.
t.test('what cannot compile: MongoDB refuses it as SQLite does, 400 not-supported', async (t) => {
  const image = new MingoImage(contractIndexer);
  await writeScenario(image);
  const sqlite = await sqliteWith(t, writeScenario, contractIndexer);
  const ctx = contextAt(at(59));
  for (const { name, query } of uncompilableSearches) {
    t.test(name, async (t) => {
      const mongo = await outcomeOf(() => image.search(ctx, query));
      t.same(mongo, { status: 400, code: 'not-supported' }, 'MongoDB refuses it');
      if (sqlite) t.same(await outcomeOf(() => sqlite.search(ctx, query)), mongo, 'SQLite answers the same');
    });
  }
});
