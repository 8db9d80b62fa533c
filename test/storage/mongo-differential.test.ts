/**
 * Differential test of the MongoDB adapter's query documents, runnable
 * without a MongoDB server: the same writes go to the SQLite adapter, the
 * documents MongoDB would hold are built from SQLite's versions with the
 * adapter's own document builders, and every compiled filter/sort/skip/limit
 * is evaluated by mingo (an implementation of MongoDB's query language) and
 * must give SQLite's answer.
 *
 * What it does not check: the write protocol (version-conditional writes,
 * history rows, locks), which needs a server (mongo-contract.test.ts), and
 * differences between mingo and MongoDB themselves.
 */
import { Query } from 'mingo';
import t from 'tap';
import { FhirError } from '../../src/errors';
import type { AnyResource } from '../../src/fhir/types';
import type { SearchQuery } from '../../src/search/query';
import {
  historyDocument,
  resourceDocument,
  versionDocument,
  type HistoryDocument,
  type ResourceDocument,
  type VersionDocument,
} from '../../src/storage/mongo/documents';
import { compileHistory } from '../../src/storage/mongo/history-filter';
import { compileSearch } from '../../src/storage/mongo/search-filter';
import type { HistoryQuery, Storage, VersionRecord } from '../../src/storage/port';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { contextAt, contractFixtures, contractIndexer, fixtureTime, genderSystem, loinc, mrn, otherSystem, searchOf, token } from './contract-fixtures';

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
async function writeScenario(storage: Storage): Promise<void> {
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

interface MongoImage {
  resources: ResourceDocument[];
  history: HistoryDocument[];
}

/**
 * The documents the adapter would hold after the scenario, from SQLite's
 * versions and the adapter's builders. `seq` follows SQLite's write order.
 */
async function mongoImageOf(storage: Storage): Promise<MongoImage> {
  const ctx = contextAt(at(59));
  const everyVersion = (await storage.history(ctx, { count: 1000, offset: 0 })).records.reverse();
  const versions = everyVersion.map((record, i) => versionDocument(record, i.toString(16).padStart(24, '0')));
  const latest = new Map<string, VersionDocument>();
  for (const version of versions) latest.set(`${version.type}/${version.id}`, version);
  const resources = [...latest.values()].map((version) =>
    resourceDocument(version, version.resource ? contractIndexer(version.resource) : []),
  );
  return { resources, history: versions.map(historyDocument) };
}

type Page = { ids: string[]; total?: number };

const key = (record: { resourceType?: string; type?: string; id: string; versionId?: number }) =>
  `${record.resourceType ?? record.type}/${record.id}${record.versionId !== undefined ? `/${record.versionId}` : ''}`;

/** Runs a compiled find as the adapter does: no find at all for a page size of 0 (MongoDB reads limit 0 as "none"). */
function runWithMingo(
  documents: object[],
  compiled: { filter: object; sort: Record<string, 1 | -1>; skip: number; limit: number },
  withTotal: boolean,
  versioned: boolean,
): Page {
  const found = () => new Query(compiled.filter).find<VersionDocument>(documents);
  const page = compiled.limit > 0 ? found().sort(compiled.sort).skip(compiled.skip).limit(compiled.limit).all() : [];
  const ids = page.map((doc) => key(versioned ? doc : { type: doc.type, id: doc.id }));
  return withTotal ? { ids, total: found().all().length } : { ids };
}

const pageOf = (records: VersionRecord[], total: number | undefined, versioned: boolean): Page => {
  const ids = records.map((r) => key(versioned ? r : { resourceType: r.resourceType, id: r.id }));
  return total === undefined ? { ids } : { ids, total };
};

const searches: Array<[string, SearchQuery]> = [
  ['every patient', searchOf(['Patient'])],
  ['system search over two types', searchOf(['Patient', 'Observation'])],
  ['_id, one', searchOf(['Patient'], { where: [token('_id', { code: 'p2' })] })],
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
  ['observation code', searchOf(['Observation'], { where: [token('code', { system: loinc, code: '8867-4' })] })],
  ['nothing matches', searchOf(['Patient'], { where: [token('identifier', { system: otherSystem, code: '200' })] })],
  ['_id descending', searchOf(['Patient'], { sort: [{ code: '_id', descending: true }] })],
  ['_lastUpdated ascending, ties by id', searchOf(['Patient', 'Observation'], { sort: [{ code: '_lastUpdated', descending: false }, { code: '_id', descending: false }] })],
  ['_lastUpdated descending, ties by id', searchOf(['Patient', 'Observation'], { sort: [{ code: '_lastUpdated', descending: true }, { code: '_id', descending: false }] })],
  ['_lastUpdated without the id tie-breaker', searchOf(['Patient'], { sort: [{ code: '_lastUpdated', descending: true }] })],
  ['ids shared across types sort by type', searchOf(['Patient', 'Observation'], { sort: [{ code: '_id', descending: true }] })],
  ['a middle page', searchOf(['Patient', 'Observation'], { count: 3, offset: 2 })],
  ['a page past the end', searchOf(['Patient'], { count: 3, offset: 20 })],
  ['the total only', searchOf(['Patient'], { count: 0 })],
  ['no total', searchOf(['Patient'], { count: 2, total: 'none' })],
  ['estimated total', searchOf(['Patient'], { where: [token('identifier', { system: mrn })], count: 1, total: 'estimate' })],
];

const histories: Array<[string, HistoryQuery]> = [
  ['system', { count: 1000, offset: 0 }],
  ['type', { resourceType: 'Patient', count: 1000, offset: 0 }],
  ['instance with a delete and a revival', { resourceType: 'Patient', id: 'p6', count: 1000, offset: 0 }],
  ['instance never written', { resourceType: 'Patient', id: 'nobody', count: 10, offset: 0 }],
  ['since', { since: at(3), count: 1000, offset: 0 }],
  ['at', { at: at(3), count: 1000, offset: 0 }],
  ['since and at, type', { resourceType: 'Patient', since: at(1), at: at(6), count: 1000, offset: 0 }],
  ['since spelled with an offset and no ms', { since: '2024-06-01T14:00:04+02:00', count: 1000, offset: 0 }],
  ['a page through same-instant versions', { count: 2, offset: 1 }],
  ['a page past the end', { count: 5, offset: 100 }],
  ['the total only', { resourceType: 'Observation', count: 0, offset: 0 }],
];

/** Queries both adapters must refuse, with the same status and issue code. */
const refused: Array<[string, SearchQuery]> = [
  ['no type', searchOf([])],
  ['an unknown condition kind', searchOf(['Patient'], { where: [{ kind: 'bogus', code: 'x' } as unknown as ReturnType<typeof token>] })],
  ['an unknown sort', searchOf(['Patient'], { sort: [{ code: 'birthdate', descending: false }] })],
  ['a token with neither system nor code', searchOf(['Patient'], { where: [token('identifier', { system: null })] })],
  ['a parameter without values', searchOf(['Patient'], { where: [{ kind: 'param', code: 'identifier', type: 'token', values: [] }] })],
  ['an unknown modifier', searchOf(['Patient'], { where: [{ ...token('identifier', { code: '1' }), modifier: 'bogus' }] })],
];

t.test('MongoDB query documents agree with SQLite (evaluated by mingo)', async (t) => {
  const sqlite = createSqliteStorage({ path: ':memory:', indexer: contractIndexer });
  t.teardown(() => sqlite.close());
  await writeScenario(sqlite);
  const image = await mongoImageOf(sqlite);
  const ctx = contextAt(at(59));

  t.test('the image holds what the scenario wrote', async (t) => {
    t.equal(image.resources.length, 8, 'one current document per resource');
    t.equal(image.history.length, 15, 'one history document per version');
    t.ok(image.resources.some((doc) => doc.deleted), 'deleted resources are present as tombstones');
  });

  for (const [name, query] of searches) {
    t.test(`search: ${name}`, async (t) => {
      const expected = await sqlite.search(ctx, query);
      const actual = runWithMingo(image.resources, compileSearch(query), query.total !== 'none', false);
      t.same(actual, pageOf(expected.records, expected.total, false));
    });
  }

  for (const [name, query] of histories) {
    t.test(`history: ${name}`, async (t) => {
      const expected = await sqlite.history(ctx, query);
      const actual = runWithMingo(image.history, compileHistory(query), true, true);
      t.same(actual, pageOf(expected.records, expected.total, true));
    });
  }

  for (const [name, query] of refused) {
    t.test(`refused: ${name}`, async (t) => {
      const expected = await sqlite.search(ctx, query).then(() => 'accepted', describeError);
      const actual = await Promise.resolve()
        .then(() => compileSearch(query))
        .then(() => 'accepted', describeError);
      t.not(expected, 'accepted', 'SQLite refuses it');
      t.same(actual, expected);
    });
  }

  t.test('refused: a history bound that is not an instant', async (t) => {
    const query: HistoryQuery = { since: 'yesterday', count: 10, offset: 0 };
    const expected = await sqlite.history(ctx, query).then(() => 'accepted', describeError);
    const actual = await Promise.resolve()
      .then(() => compileHistory(query))
      .then(() => 'accepted', describeError);
    t.not(expected, 'accepted', 'SQLite refuses it');
    t.same(actual, expected);
  });

  t.test('the answers compared are not trivial', async (t) => {
    const answers = await Promise.all(searches.map(([, query]) => sqlite.search(ctx, query)));
    const distinct = new Set(answers.map((answer) => JSON.stringify(pageOf(answer.records, answer.total, false).ids)));
    // Agreement on a handful of empty pages would prove nothing: most searches must select something, and something different.
    t.ok(distinct.size >= 15, `${distinct.size} distinct answers for ${searches.length} searches`);
    t.ok(answers.filter((answer) => answer.total === 0).length <= 3, 'at most three searches select nothing');
    t.ok(answers.every((answer, i) => searches[i]![1].total === 'none' || answer.total !== undefined));
  });

  t.test('the comparison catches a filter that loses the one-entry rule (negative control)', async (t) => {
    // What a naive compiler would write: each field matched in ANY entry, not all in the same one.
    const query = searchOf(['Patient'], { where: [token('identifier', { system: mrn, code: '100' })] });
    const compiled = compileSearch(query);
    const naive = {
      ...compiled,
      filter: { type: 'Patient', deleted: false, 'idx.token.param': 'identifier', 'idx.token.system': mrn, 'idx.token.code': '100' },
    };
    const expected = await sqlite.search(ctx, query);
    t.notSame(runWithMingo(image.resources, naive, true, false), pageOf(expected.records, expected.total, false));
    t.same(runWithMingo(image.resources, compiled, true, false), pageOf(expected.records, expected.total, false));
  });
});

function describeError(error: unknown): object {
  if (!(error instanceof FhirError)) throw error;
  return { status: error.status, code: error.issues[0]?.code };
}
