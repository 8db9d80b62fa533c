/**
 * The storage port's contract, one subtest per rule, run against every adapter
 * (test/storage/<adapter>.test.ts). Engine-neutral: it uses only the port.
 */
import type { Test } from 'tap';
import type { AccessFilter } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import type { SearchQuery } from '../../src/search/query';
import type { Storage, VersionRecord } from '../../src/storage/port';
import { auditLogCaseEvents, auditLogCases, auditLogQuery } from './audit-log-cases';
import { rulesOfCommitHooks } from './contract-commit-hooks';
import { contextAt, contractFixtures, fixtureTime, genderSystem, loinc, manyPatients, mrn, onlyFemale, otherSystem, searchOf, token, uncompilableSearches } from './contract-fixtures';

export * from './contract-fixtures';

type MakeStorage = () => Promise<Storage>;

const t0 = '2024-03-01T09:00:00.000Z';
const t1 = '2024-03-01T09:00:01.000Z';
const t2 = '2024-03-01T09:00:02.000Z';
const t3 = '2024-03-01T09:00:03.000Z';
const t4 = '2024-03-01T09:00:04.000Z';
const t5 = '2024-03-01T09:00:05.000Z';

const patient = (id: string, extra: Record<string, unknown> = {}): AnyResource => ({ resourceType: 'Patient', id, ...extra });

export function storageContract(t: Test, name: string, makeStorage: MakeStorage): Promise<unknown> {
  return t.test(`storage contract: ${name}`, async (group) => {
    /** Each rule gets a fresh, empty storage, closed when the rule ends. */
    const rule: Rule = (title, body) =>
      group.test(title, async (t) => {
        const storage = await makeStorage();
        t.teardown(() => storage.close());
        await body(t, storage);
      });
    rulesOfVersioning(rule);
    rulesOfDelete(rule);
    rulesOfExists(rule);
    rulesOfHistory(rule);
    rulesOfSearch(rule);
    rulesOfTotals(rule);
    rulesOfUnitOfWork(rule);
    rulesOfChangeStamps(rule);
    rulesOfCommitHooks(rule);
    rulesOfAuditLog(rule);
  });
}

/** The access log: AuditEvents in the engine's own log, the same answers on every engine (audit-log-cases.ts). */
function rulesOfAuditLog(rule: Rule): void {
  rule('the access log: created events are read, searched by every parameter, counted exactly and never changed', async (t, storage) => {
    const ctx = contextAt(t0);
    for (const event of auditLogCaseEvents()) await storage.create(ctx, event);
    for (const [text, expected] of auditLogCases) t.same((await storage.search(ctx, auditLogQuery(text))).records.map((r) => r.id), expected, text);
    t.match(await storage.read(ctx, 'AuditEvent', 'e1'), { versionId: 1, resource: { meta: { versionId: '1', lastUpdated: t0 } } });
    t.equal((await storage.search(ctx, auditLogQuery('_summary=count'))).total, 4);
    await rejectsWith(t, storage.create(ctx, auditLogCaseEvents()[0]!), { status: 409 }, 'a taken id');
    await rejectsWith(t, storage.update(ctx, auditLogCaseEvents()[0]!), { status: 405 }, 'no update');
    await rejectsWith(t, storage.delete(ctx, 'AuditEvent', 'e1'), { status: 405 }, 'no delete');
    const onlyP1: AccessFilter = { conditionsFor: () => [{ kind: 'param', code: 'entity', type: 'reference', values: [{ kind: 'reference', ref: 'Patient/p1' }] }] };
    t.same((await storage.search({ ...ctx, access: onlyP1 }, auditLogQuery('_sort=date'))).records.map((r) => r.id), ['e1', 'e3'], 'the access filter applies');
    t.equal(await storage.read({ ...ctx, access: onlyP1 }, 'AuditEvent', 'e2'), undefined, 'a hidden event reads as missing');
    const everything = await storage.search(ctx, searchOf(['Patient', 'AuditEvent']));
    t.same(everything.records, [], 'a search of several types covers the resources, not the log');
  });
}

/**
 * Totals above the estimate's cap: `accurate` (and a count-only search) count
 * every match, whether one condition drives from its index rows or the access
 * filter is tested per row; a hidden resource is never counted.
 */
function rulesOfTotals(rule: Rule): void {
  rule('totals: accurate counts every match above 10,000, estimate stops at the cap, hidden resources never count', async (t, storage) => {
    const ctx = contextAt(t0);
    await storage.unitOfWork(async (tx) => {
      for (let i = 0; i < manyPatients.count; i++) await tx.create(ctx, manyPatients.resource(i));
    });
    const female = token('gender', { code: 'female' });
    const withMrn = token('identifier', { system: mrn });
    const total = async (query: Partial<SearchQuery>, access?: AccessFilter) => {
      const result = await storage.search(access ? { ...ctx, access } : ctx, searchOf(['Patient'], { count: 0, ...query }));
      return result.totalExceeds === undefined ? result.total : `more than ${result.totalExceeds}`;
    };
    t.equal(await total({}), manyPatients.count, 'no condition');
    t.equal(await total({ count: 10 }), manyPatients.count, 'with a page');
    t.equal(await total({ where: [female] }), manyPatients.female, 'one condition: its index rows');
    t.equal(await total({ where: [female, withMrn] }), manyPatients.femaleWithMrn, 'two conditions');
    t.equal(await total({ where: [female], total: 'estimate' }), 'more than 10000', 'estimate: capped');
    t.equal(await total({ where: [withMrn], total: 'estimate' }), 1_500, 'estimate: exact below the cap');
    t.equal(await total({ where: [female], total: 'none' }), undefined, 'none');
    t.equal(await total({}, onlyFemale), manyPatients.female, 'the access filter: the hidden males are not counted');
    t.equal(await total({ where: [female] }, onlyFemale), manyPatients.female, 'a condition and the access filter');
    t.equal(await total({ where: [token('gender', { code: 'male' })] }, onlyFemale), 0, 'only hidden resources match');
    t.equal(await total({ where: [withMrn] }, onlyFemale), manyPatients.femaleWithMrn, 'a driving condition tested against the filter');
    t.equal(await total({}, { conditionsFor: () => [{ ...female, rowTest: true }] }), manyPatients.female, 'a row-test filter');
    t.equal(await total({ total: 'estimate' }, onlyFemale), 'more than 10000', 'estimate under the filter');
    await storage.delete(ctx, 'Patient', 'many-1');
    t.equal(await total({ where: [female] }), manyPatients.female - 1, 'a deleted resource is not counted');
  });
}

type Rule = (title: string, body: (t: Test, storage: Storage) => Promise<void>) => unknown;

async function loadFixtures(storage: Storage): Promise<void> {
  for (const [i, resource] of contractFixtures.entries()) await storage.create(contextAt(fixtureTime(i)), resource);
}

const ids = (records: VersionRecord[]) => records.map((r) => `${r.resourceType}/${r.id}`);
const versions = (records: VersionRecord[]) => records.map((r) => `${r.id}/${r.versionId}`);
/** Awaits a rejection and matches the error, e.g. a FhirError's status and issues. */
async function rejectsWith(t: Test, promise: Promise<unknown>, wanted: object, message = 'rejected as expected'): Promise<void> {
  const outcome = await promise.then(
    () => ({ resolved: true }),
    (error: unknown) => error,
  );
  t.match(outcome, wanted, message);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rulesOfExists(rule: Rule): void {
  rule('exists names the current, not deleted resources among the keys, per type', async (t, storage) => {
    await storage.create(contextAt(t0), patient('a', { gender: 'female' }));
    await storage.create(contextAt(t0), patient('b', { gender: 'male' }));
    await storage.create(contextAt(t0), patient('gone'));
    await storage.delete(contextAt(t1), 'Patient', 'gone');
    await storage.create(contextAt(t1), { resourceType: 'Observation', id: 'o', status: 'final', code: {} });
    const keys = [
      { resourceType: 'Patient', id: 'a' },
      { resourceType: 'Patient', id: 'b' },
      { resourceType: 'Patient', id: 'gone' },
      { resourceType: 'Patient', id: 'never' },
      { resourceType: 'Observation', id: 'o' },
      { resourceType: 'Observation', id: 'a' },
    ];
    t.same([...(await storage.exists(contextAt(t2), keys))].sort(), ['Observation/o', 'Patient/a', 'Patient/b'], 'deleted and unknown are absent; ids are per type');
    t.same([...(await storage.exists(contextAt(t2), []))], [], 'no keys, nothing found');
  });

  rule('exists applies the access filter: a hidden resource is absent, as for a read', async (t, storage) => {
    await storage.create(contextAt(t0), patient('a', { gender: 'female' }));
    await storage.create(contextAt(t0), patient('b', { gender: 'male' }));
    await storage.create(contextAt(t1), { resourceType: 'Observation', id: 'o', status: 'final', code: {} });
    const onlyFemale = {
      conditionsFor: (type: string) => (type === 'Patient' ? [token('gender', { code: 'female' })] : []),
    };
    const ctx = { ...contextAt(t2), access: onlyFemale };
    const keys = [
      { resourceType: 'Patient', id: 'a' },
      { resourceType: 'Patient', id: 'b' },
      { resourceType: 'Observation', id: 'o' },
    ];
    t.same([...(await storage.exists(ctx, keys))].sort(), ['Observation/o', 'Patient/a'], 'the male patient is hidden');
    t.equal(await storage.read(ctx, 'Patient', 'b'), undefined, 'read agrees');
  });
}

function rulesOfVersioning(rule: Rule): void {
  rule('create stores version 1 stamped with the request clock; read and vread return it', async (t, storage) => {
    const input = patient('a', { gender: 'female', meta: { profile: ['urn:p'] } });
    const created = await storage.create(contextAt(t0), input);
    t.match(created, { resourceType: 'Patient', id: 'a', versionId: 1, lastUpdated: t0, deleted: false });
    t.same(created.resource?.meta, { profile: ['urn:p'], versionId: '1', lastUpdated: t0 }, 'meta is stamped, other meta kept');
    t.equal(created.resource?.gender, 'female');
    t.same(input.meta, { profile: ['urn:p'] }, 'the caller’s object is not modified');
    t.same(await storage.read(contextAt(t1), 'Patient', 'a'), created);
    t.same(await storage.vread(contextAt(t1), 'Patient', 'a', 1), created);
    t.equal(await storage.vread(contextAt(t1), 'Patient', 'a', 2), undefined, 'no version 2');
    t.equal(await storage.read(contextAt(t1), 'Patient', 'b'), undefined, 'unknown id');
    t.equal(await storage.read(contextAt(t1), 'Observation', 'a'), undefined, 'ids are per type');
  });

  rule('create with an id that is taken fails with 409 and writes nothing', async (t, storage) => {
    await storage.create(contextAt(t0), patient('a', { gender: 'female' }));
    await rejectsWith(t, storage.create(contextAt(t1), patient('a', { gender: 'male' })), { status: 409 });
    const current = await storage.read(contextAt(t2), 'Patient', 'a');
    t.match(current, { versionId: 1, resource: { gender: 'female' } });
    await storage.create(contextAt(t1), { resourceType: 'Observation', id: 'a', status: 'final', code: {} });
    t.pass('the same id in another type is free');
  });

  rule('update numbers versions 1, 2, 3 without gaps and keeps each one', async (t, storage) => {
    await storage.create(contextAt(t0), patient('a', { gender: 'female' }));
    const second = await storage.update(contextAt(t1), patient('a', { gender: 'male' }));
    const third = await storage.update(contextAt(t2), patient('a', { gender: 'other' }));
    t.match(second, { created: false, record: { versionId: 2, lastUpdated: t1, resource: { meta: { versionId: '2' } } } });
    t.match(third, { created: false, record: { versionId: 3, lastUpdated: t2, resource: { meta: { versionId: '3' } } } });
    t.match(await storage.vread(contextAt(t3), 'Patient', 'a', 1), { resource: { gender: 'female' } });
    t.match(await storage.vread(contextAt(t3), 'Patient', 'a', 2), { resource: { gender: 'male' } });
    t.same(await storage.read(contextAt(t3), 'Patient', 'a'), third.record);
  });

  rule('a version never predates its predecessor, even when the request clock does', async (t, storage) => {
    await storage.create(contextAt(t2), patient('a'));
    const late = await storage.update(contextAt(t1), patient('a'));
    t.equal(late.record.versionId, 2);
    t.ok(late.record.lastUpdated >= t2, `lastUpdated ${late.record.lastUpdated} is not before ${t2}`);
  });

  rule('a rejected write (expectedVersion mismatch, 412) consumes no version', async (t, storage) => {
    await storage.create(contextAt(t0), patient('a', { gender: 'female' }));
    await rejectsWith(t, storage.update(contextAt(t1), patient('a', { gender: 'male' }), { expectedVersion: 2 }), { status: 412 });
    await rejectsWith(t, storage.delete(contextAt(t1), 'Patient', 'a', { expectedVersion: 7 }), { status: 412 });
    t.match(await storage.read(contextAt(t1), 'Patient', 'a'), { versionId: 1, deleted: false, resource: { gender: 'female' } });
    const good = await storage.update(contextAt(t2), patient('a', { gender: 'male' }), { expectedVersion: 1 });
    t.equal(good.record.versionId, 2, 'the next good write gets the next number');
    const deleted = await storage.delete(contextAt(t3), 'Patient', 'a', { expectedVersion: 2 });
    t.equal(deleted?.versionId, 3);
  });

  rule('update with expectedVersion on an unknown id fails with 412 and creates nothing', async (t, storage) => {
    await rejectsWith(t, storage.update(contextAt(t0), patient('a'), { expectedVersion: 1 }), { status: 412 });
    t.equal(await storage.read(contextAt(t1), 'Patient', 'a'), undefined);
  });

  rule('update of an unknown id creates version 1 (create-on-update)', async (t, storage) => {
    const first = await storage.update(contextAt(t0), patient('a'));
    t.match(first, { created: true, record: { versionId: 1, lastUpdated: t0, deleted: false } });
    const second = await storage.update(contextAt(t1), patient('a'));
    t.match(second, { created: false, record: { versionId: 2 } });
  });
}

function rulesOfDelete(rule: Rule): void {
  rule('delete writes a tombstone version; read returns it; history keeps every version', async (t, storage) => {
    await storage.create(contextAt(t0), patient('a', { gender: 'female' }));
    const tombstone = await storage.delete(contextAt(t1), 'Patient', 'a');
    t.match(tombstone, { resourceType: 'Patient', id: 'a', versionId: 2, lastUpdated: t1, deleted: true });
    t.equal(tombstone?.resource, undefined, 'a tombstone has no body');
    const read = await storage.read(contextAt(t2), 'Patient', 'a');
    t.match(read, { versionId: 2, deleted: true });
    t.equal(read?.resource, undefined);
    t.match(await storage.vread(contextAt(t2), 'Patient', 'a', 1), { deleted: false, resource: { gender: 'female' } });
    t.match(await storage.vread(contextAt(t2), 'Patient', 'a', 2), { deleted: true });
    const history = await storage.history(contextAt(t2), { resourceType: 'Patient', id: 'a', count: 10, offset: 0 });
    t.same(versions(history.records), ['a/2', 'a/1']);
    await rejectsWith(t, storage.create(contextAt(t2), patient('a')), { status: 409 }, 'a deleted id stays taken for create');
  });

  rule('update after delete continues the numbering and revives the resource', async (t, storage) => {
    await storage.create(contextAt(t0), patient('a'));
    await storage.delete(contextAt(t1), 'Patient', 'a');
    const revived = await storage.update(contextAt(t2), patient('a', { gender: 'male' }));
    t.match(revived, { created: true, record: { versionId: 3, deleted: false, resource: { meta: { versionId: '3' } } } });
    t.match(await storage.read(contextAt(t3), 'Patient', 'a'), { versionId: 3, deleted: false, resource: { gender: 'male' } });
  });

  rule('delete of an unknown or already deleted resource returns undefined and writes nothing', async (t, storage) => {
    t.equal(await storage.delete(contextAt(t0), 'Patient', 'nobody'), undefined);
    await storage.create(contextAt(t0), patient('a'));
    await storage.delete(contextAt(t1), 'Patient', 'a');
    t.equal(await storage.delete(contextAt(t2), 'Patient', 'a'), undefined);
    const history = await storage.history(contextAt(t3), { count: 10, offset: 0 });
    t.equal(history.total, 2, 'only the create and the first delete');
    t.equal(await storage.read(contextAt(t3), 'Patient', 'nobody'), undefined);
  });
}

function rulesOfHistory(rule: Rule): void {
  /** a@t0, o@t1, b@t2, a@t3 (v2), a deleted @t4 (v3). */
  const writeTimeline = async (storage: Storage) => {
    await storage.create(contextAt(t0), patient('a'));
    await storage.create(contextAt(t1), { resourceType: 'Observation', id: 'o', status: 'final', code: {} });
    await storage.create(contextAt(t2), patient('b'));
    await storage.update(contextAt(t3), patient('a', { gender: 'male' }));
    await storage.delete(contextAt(t4), 'Patient', 'a');
  };

  rule('history: instance, type and system levels, newest first, with totals', async (t, storage) => {
    await writeTimeline(storage);
    const ctx = contextAt(t5);
    const system = await storage.history(ctx, { count: 10, offset: 0 });
    t.same(versions(system.records), ['a/3', 'a/2', 'b/1', 'o/1', 'a/1']);
    t.equal(system.total, 5);
    t.match(system.records[0], { deleted: true, lastUpdated: t4 }, 'tombstones are in the history');
    const type = await storage.history(ctx, { resourceType: 'Patient', count: 10, offset: 0 });
    t.same(versions(type.records), ['a/3', 'a/2', 'b/1', 'a/1']);
    t.equal(type.total, 4);
    const instance = await storage.history(ctx, { resourceType: 'Patient', id: 'a', count: 10, offset: 0 });
    t.same(versions(instance.records), ['a/3', 'a/2', 'a/1']);
    t.equal(instance.total, 3);
    t.same(await storage.history(ctx, { resourceType: 'Patient', id: 'zz', count: 10, offset: 0 }), { records: [], total: 0 });
  });

  rule('history: since and at bound lastUpdated inclusively, whatever the instant’s spelling', async (t, storage) => {
    await writeTimeline(storage);
    const ctx = contextAt(t5);
    const since = await storage.history(ctx, { since: t2, count: 10, offset: 0 });
    t.same(versions(since.records), ['a/3', 'a/2', 'b/1']);
    t.equal(since.total, 3);
    const at = await storage.history(ctx, { at: t2, count: 10, offset: 0 });
    t.same(versions(at.records), ['b/1', 'o/1', 'a/1']);
    const window = await storage.history(ctx, { resourceType: 'Patient', since: t1, at: t3, count: 10, offset: 0 });
    t.same(versions(window.records), ['a/2', 'b/1']);
    const spelled = await storage.history(ctx, { since: '2024-03-01T10:00:02+01:00', count: 10, offset: 0 });
    t.same(versions(spelled.records), ['a/3', 'a/2', 'b/1'], 'an offset and no milliseconds name the same instant as t2');
  });

  rule('history: count and offset page through a stable order; total counts every match', async (t, storage) => {
    await writeTimeline(storage);
    const ctx = contextAt(t5);
    const page = (offset: number) => storage.history(ctx, { count: 2, offset });
    const pages = await Promise.all([page(0), page(2), page(4), page(6)]);
    t.same(pages.map((p) => versions(p.records)), [['a/3', 'a/2'], ['b/1', 'o/1'], ['a/1'], []]);
    t.same(pages.map((p) => p.total), [5, 5, 5, 5]);
  });

  rule('history: versions written in the same millisecond keep their order', async (t, storage) => {
    for (let i = 0; i < 4; i++) await storage.update(contextAt(t0), patient('a'));
    const history = await storage.history(contextAt(t0), { resourceType: 'Patient', id: 'a', count: 10, offset: 0 });
    t.same(versions(history.records), ['a/4', 'a/3', 'a/2', 'a/1']);
    const paged = await storage.history(contextAt(t0), { count: 2, offset: 1 });
    t.same(versions(paged.records), ['a/3', 'a/2']);
  });
}

function rulesOfSearch(rule: Rule): void {
  const searchRule = (title: string, body: (t: Test, storage: Storage) => Promise<void>) =>
    rule(title, async (t, storage) => {
      await loadFixtures(storage);
      await body(t, storage);
    });
  const ctx = contextAt(t5);

  searchRule('search: _id matches one id or any of several', async (t, storage) => {
    t.same(ids((await storage.search(ctx, searchOf(['Patient'], { where: [token('_id', { code: 'p2' })] }))).records), ['Patient/p2']);
    const several = await storage.search(ctx, searchOf(['Patient'], { where: [token('_id', { code: 'p3' }, { code: 'p1' }, { code: 'o1' })] }));
    t.same(ids(several.records), ['Patient/p1', 'Patient/p3'], 'ids of other types do not match');
    t.equal(several.total, 2);
  });

  searchRule('search: token forms system|code, |code, system| and code', async (t, storage) => {
    const find = async (value: Parameters<typeof token>[1]) =>
      ids((await storage.search(ctx, searchOf(['Patient'], { where: [token('identifier', value)] }))).records);
    t.same(await find({ system: mrn, code: '100' }), ['Patient/p1'], 'system|code');
    t.same(await find({ code: '100' }), ['Patient/p1', 'Patient/p3'], 'code in any system');
    t.same(await find({ system: null, code: 'no-system' }), ['Patient/p2'], '|code: no system');
    t.same(await find({ system: null, code: '100' }), [], '|code does not match a value that has a system');
    t.same(await find({ system: mrn }), ['Patient/p1', 'Patient/p2'], 'system|: any code');
    t.same(await find({ system: otherSystem, code: '200' }), []);
  });

  searchRule('search: values of one parameter are ORed, parameters are ANDed', async (t, storage) => {
    const or = await storage.search(ctx, searchOf(['Patient'], { where: [token('identifier', { system: mrn, code: '200' }, { system: otherSystem, code: '100' })] }));
    t.same(ids(or.records), ['Patient/p2', 'Patient/p3']);
    const and = await storage.search(
      ctx,
      searchOf(['Patient'], { where: [token('identifier', { code: '100' }), token('gender', { system: genderSystem, code: 'female' })] }),
    );
    t.same(ids(and.records), ['Patient/p1', 'Patient/p3']);
    const none = await storage.search(ctx, searchOf(['Patient'], { where: [token('identifier', { code: '100' }), token('gender', { code: 'male' })] }));
    t.same(none, { records: [], total: 0 });
    const withId = await storage.search(ctx, searchOf(['Patient'], { where: [token('gender', { code: 'female' }), token('_id', { code: 'p3' })] }));
    t.same(ids(withId.records), ['Patient/p3']);
  });

  searchRule('search: several types (system search)', async (t, storage) => {
    const result = await storage.search(ctx, searchOf(['Patient', 'Observation'], { where: [token('identifier', { system: mrn, code: '100' })] }));
    t.same(ids(result.records).sort(), ['Observation/o1', 'Patient/p1']);
    const byCode = await storage.search(ctx, searchOf(['Observation'], { where: [token('code', { system: loinc, code: '1234-5' })] }));
    t.same(ids(byCode.records), ['Observation/o2']);
  });

  searchRule('search: returns current versions with their bodies', async (t, storage) => {
    const [record] = (await storage.search(ctx, searchOf(['Patient'], { where: [token('_id', { code: 'p1' })] }))).records;
    t.match(record, { resourceType: 'Patient', id: 'p1', versionId: 1, deleted: false, lastUpdated: fixtureTime(0) });
    t.match(record?.resource, { resourceType: 'Patient', id: 'p1', gender: 'female', meta: { versionId: '1' } });
  });

  searchRule('search: sort by _id and _lastUpdated, ascending and descending, ties broken by id', async (t, storage) => {
    const sorted = async (code: string, descending: boolean) =>
      ids((await storage.search(ctx, searchOf(['Patient'], { sort: [{ code, descending }, { code: '_id', descending: false }] }))).records);
    t.same(await sorted('_id', true), ['Patient/p3', 'Patient/p2', 'Patient/p1']);
    await storage.update(contextAt(t0), patient('p1', { gender: 'female' }));
    // p1 is now the newest (t0 is after the fixture times); p2 and p3 are older in fixture order.
    t.same(await sorted('_lastUpdated', false), ['Patient/p2', 'Patient/p3', 'Patient/p1']);
    t.same(await sorted('_lastUpdated', true), ['Patient/p1', 'Patient/p3', 'Patient/p2']);
    await storage.update(contextAt(t0), patient('p3'));
    await storage.update(contextAt(t0), patient('p2'));
    t.same(await sorted('_lastUpdated', true), ['Patient/p1', 'Patient/p2', 'Patient/p3'], 'same instant: id decides');
  });

  searchRule('search: count and offset page; total per mode', async (t, storage) => {
    const all = searchOf(['Patient', 'Observation'], { sort: [{ code: '_id', descending: false }] });
    const page = await storage.search(ctx, { ...all, count: 2, offset: 1 });
    t.same(ids(page.records), ['Observation/o2', 'Patient/p1']);
    t.equal(page.total, 5);
    const last = await storage.search(ctx, { ...all, count: 2, offset: 4 });
    t.same(ids(last.records), ['Patient/p3']);
    const beyond = await storage.search(ctx, { ...all, count: 2, offset: 10 });
    // Paging flags and positions (SearchResult.hasPrevious...) may accompany the page.
    t.match(beyond, { records: [], total: 5 });
    t.same(beyond.records, []);
    const noTotal = await storage.search(ctx, { ...all, count: 2, offset: 0, total: 'none' });
    t.equal(noTotal.total, undefined);
    t.equal(noTotal.records.length, 2);
    const onlyTotal = await storage.search(ctx, { ...all, count: 0, offset: 0 });
    t.same(onlyTotal, { records: [], total: 5 });
  });

  searchRule('search: deleted resources never match; an update replaces the old index values', async (t, storage) => {
    await storage.delete(ctx, 'Patient', 'p1');
    await storage.update(ctx, patient('p3', { gender: 'male', identifier: [{ system: mrn, value: '300' }] }));
    const female = await storage.search(ctx, searchOf(['Patient'], { where: [token('gender', { code: 'female' })] }));
    t.same(female, { records: [], total: 0 });
    t.same(ids((await storage.search(ctx, searchOf(['Patient']))).records), ['Patient/p2', 'Patient/p3']);
    t.same(ids((await storage.search(ctx, searchOf(['Patient'], { where: [token('_id', { code: 'p1' })] }))).records), []);
    t.same(ids((await storage.search(ctx, searchOf(['Patient'], { where: [token('identifier', { code: '300' })] }))).records), ['Patient/p3']);
    t.same(ids((await storage.search(ctx, searchOf(['Patient'], { where: [token('identifier', { code: '100' })] }))).records), []);
    await storage.update(ctx, patient('p1', { gender: 'female' }));
    t.same(ids((await storage.search(ctx, searchOf(['Patient'], { where: [token('gender', { code: 'female' })] }))).records), ['Patient/p1'], 'revived');
  });

  searchRule('search: what the adapter cannot compile is refused with 400 not-supported', async (t, storage) => {
    for (const { name, query } of uncompilableSearches) await rejectsWith(t, storage.search(ctx, query), { status: 400, issues: [{ code: 'not-supported' }] }, name);
  });
}

function rulesOfUnitOfWork(rule: Rule): void {
  const ctx = contextAt(t1);
  const identifierSearch = (value: string) => searchOf(['Patient'], { where: [token('identifier', { system: mrn, code: value })] });

  rule('unitOfWork: commits every write; its own reads see its writes', async (t, storage) => {
    await storage.create(ctx, patient('b'));
    const result = await storage.unitOfWork(async (tx) => {
      await tx.create(ctx, patient('a', { identifier: [{ system: mrn, value: '1' }] }));
      await tx.update(ctx, patient('b', { gender: 'male' }));
      t.match(await tx.read(ctx, 'Patient', 'a'), { versionId: 1 }, 'read sees the unit’s create');
      t.same(ids((await tx.search(ctx, identifierSearch('1'))).records), ['Patient/a'], 'search sees it too');
      t.equal((await tx.history(ctx, { resourceType: 'Patient', id: 'b', count: 10, offset: 0 })).total, 2);
      return 'done';
    });
    t.equal(result, 'done', 'the work’s result is returned');
    t.match(await storage.read(ctx, 'Patient', 'a'), { versionId: 1 });
    t.match(await storage.read(ctx, 'Patient', 'b'), { versionId: 2, resource: { gender: 'male' } });
  });

  rule('unitOfWork: a throw rolls back every write and rethrows; numbering is untouched', async (t, storage) => {
    await storage.create(ctx, patient('b'));
    await storage.create(ctx, patient('c'));
    const failure = new Error('abort the unit');
    await t.rejects(
      storage.unitOfWork(async (tx) => {
        await tx.create(ctx, patient('a', { identifier: [{ system: mrn, value: '1' }] }));
        await tx.update(ctx, patient('b', { gender: 'male' }));
        await tx.delete(ctx, 'Patient', 'c');
        throw failure;
      }),
      failure,
    );
    t.equal(await storage.read(ctx, 'Patient', 'a'), undefined);
    t.match(await storage.read(ctx, 'Patient', 'b'), { versionId: 1 });
    t.match(await storage.read(ctx, 'Patient', 'c'), { versionId: 1, deleted: false });
    t.same((await storage.search(ctx, identifierSearch('1'))).records, [], 'no index entry survives');
    t.equal((await storage.history(ctx, { count: 10, offset: 0 })).total, 2);
    t.match(await storage.update(ctx, patient('b')), { record: { versionId: 2 } });
  });

  rule('unitOfWork: a rejected write inside it can be caught; the rest commits', async (t, storage) => {
    await storage.create(ctx, patient('a'));
    await storage.unitOfWork(async (tx) => {
      await rejectsWith(t, tx.create(ctx, patient('a')), { status: 409 });
      await rejectsWith(t, tx.update(ctx, patient('a'), { expectedVersion: 9 }), { status: 412 });
      await tx.update(ctx, patient('a', { gender: 'female' }));
    });
    t.match(await storage.read(ctx, 'Patient', 'a'), { versionId: 2, resource: { gender: 'female' } });
  });

  rule('unitOfWork: reads outside it never see its uncommitted writes', async (t, storage) => {
    let outside: Promise<unknown[]> | undefined;
    await t.rejects(
      storage.unitOfWork(async (tx) => {
        await tx.create(ctx, patient('a', { identifier: [{ system: mrn, value: '1' }] }));
        // Issued while the unit is open; an adapter may answer at once or after the unit ends, never with its data.
        outside = Promise.all([
          storage.read(ctx, 'Patient', 'a'),
          storage.search(ctx, identifierSearch('1')),
          storage.history(ctx, { count: 10, offset: 0 }),
        ]);
        await sleep(20);
        throw new Error('roll back');
      }),
    );
    const [read, search, history] = (await outside) ?? [];
    t.equal(read, undefined);
    t.same(search, { records: [], total: 0 });
    t.same(history, { records: [], total: 0 });
  });

  rule('unitOfWork: a write outside it is not swept into its rollback', async (t, storage) => {
    let outside: Promise<unknown> | undefined;
    await t.rejects(
      storage.unitOfWork(async (tx) => {
        await tx.create(ctx, patient('a'));
        outside = storage.create(ctx, patient('b'));
        await sleep(20);
        throw new Error('roll back');
      }),
    );
    await outside;
    t.equal(await storage.read(ctx, 'Patient', 'a'), undefined);
    t.match(await storage.read(ctx, 'Patient', 'b'), { versionId: 1 });
  });

  rule('unitOfWork: concurrent units serialize (search then create if none: exactly one)', async (t, storage) => {
    const createIfNone = (id: string) =>
      storage.unitOfWork(async (tx) => {
        const found = await tx.search(ctx, identifierSearch('42'));
        // Give the other unit every chance to interleave here.
        await sleep(10);
        if (found.total === 0) await tx.create(ctx, patient(id, { identifier: [{ system: mrn, value: '42' }] }));
        return found.total === 0 ? 'created' : 'found';
      });
    const outcomes = await Promise.all([createIfNone('x'), createIfNone('y'), createIfNone('z')]);
    t.same(outcomes.sort(), ['created', 'found', 'found']);
    t.equal((await storage.search(ctx, identifierSearch('42'))).total, 1);
  });
}


function rulesOfChangeStamps(rule: Rule): void {
  /** The adapter's stamp (both adapters have one: a storage without it fails here). */
  const stampOf = (storage: Storage, types: string[]) => {
    if (!storage.changeStamp) throw new Error('this storage has no changeStamp');
    return storage.changeStamp(types);
  };

  rule('the change stamp of some types moves with each committed create, update and delete of them, and only then', async (t, storage) => {
    const watched = ['Consent', 'Patient'];
    const seen = new Set([await stampOf(storage, watched)]);
    const moved = async (what: string) => {
      const stamp = await stampOf(storage, watched);
      t.notOk(seen.has(stamp), `${what} gives a new stamp`);
      seen.add(stamp);
    };
    await storage.create(contextAt(t0), patient('a'));
    await moved('a create');
    await storage.update(contextAt(t1), patient('a', { gender: 'male' }));
    await moved('an update');
    await storage.delete(contextAt(t2), 'Patient', 'a');
    await moved('a delete');
    await storage.create(contextAt(t2), { resourceType: 'Consent', id: 'c', status: 'active' } as AnyResource);
    await moved('a write to the other watched type');
    const before = await stampOf(storage, watched);
    await storage.create(contextAt(t3), { resourceType: 'AuditEvent', id: 'ae' } as AnyResource);
    await storage.read(contextAt(t3), 'Patient', 'a');
    await rejectsWith(t, storage.create(contextAt(t3), patient('a')), { status: 409 });
    t.equal(await stampOf(storage, watched), before, 'reads, a write of another type and a rejected write leave it alone');
  });

  rule('a unit of work moves the stamp when it commits, and not when it rolls back', async (t, storage) => {
    const before = await stampOf(storage, ['Encounter']);
    await rejectsWith(
      t,
      storage.unitOfWork(async (tx) => {
        await tx.create(contextAt(t0), { resourceType: 'Encounter', id: 'e1' } as AnyResource);
        throw new Error('roll back');
      }),
      { message: 'roll back' },
    );
    t.equal(await stampOf(storage, ['Encounter']), before, 'rolled back: same stamp');
    await storage.unitOfWork(async (tx) => {
      await tx.create(contextAt(t1), { resourceType: 'Encounter', id: 'e2' } as AnyResource);
    });
    t.not(await stampOf(storage, ['Encounter']), before, 'committed: a new stamp');
  });
}
