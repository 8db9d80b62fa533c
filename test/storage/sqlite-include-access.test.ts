/**
 * SQLite `_include` / `_revinclude`, and the access filter on everything a
 * request touches (search, totals, includes, read, vread, history).
 */
import t from 'tap';
import type { AccessFilter } from '../../src/context';
import type { Condition } from '../../src/search/query';
import type { VersionRecord } from '../../src/storage/port';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { parsed, searchContext, searchIndexer, writeSearchFixtures } from './search-cases';

const storage = createSqliteStorage({ path: ':memory:', indexer: searchIndexer });
t.teardown(() => storage.close());
t.before(() => writeSearchFixtures(storage));
const ctx = searchContext({});
const refs = (records: VersionRecord[] = []) => records.map((r) => `${r.resourceType}/${r.id}`).sort();
const search = (request: string, access?: AccessFilter) => storage.search(access ? searchContext({ access }) : ctx, parsed(request));

t.test('_include: the targets of the parameter, each once, none of the page', async (t) => {
  const result = await search('Observation?_id=obs1,obs3&_include=Observation:subject');
  t.same(refs(result.records), ['Observation/obs1', 'Observation/obs3']);
  t.same(refs(result.included), ['Patient/pat-peter'], 'both point at pat-peter: included once');
  const self = await search('Encounter?_id=enc1&_include=Encounter:part-of');
  t.same(refs(self.included), [], 'nothing to include');
});

t.test('_include: a target type narrows; * follows every reference parameter', async (t) => {
  t.same(refs((await search('Encounter?_id=enc1&_include=Encounter:participant:RelatedPerson')).included), []);
  t.same(refs((await search('Encounter?_id=enc1&_include=Encounter:participant:Practitioner')).included), ['Practitioner/pr1']);
  t.same(refs((await search('Encounter?_id=enc1&_include=*')).included), ['Organization/org1', 'Patient/pat-peter', 'Practitioner/pr1']);
});

t.test('_include: a deleted target is not included', async (t) => {
  t.same(refs((await search('Encounter?_id=enc-of-deleted&_include=Encounter:subject')).included), []);
});

t.test('_revinclude: the current resources pointing at the page', async (t) => {
  const result = await search('Patient?_id=pat-zoe&_revinclude=Encounter:subject');
  t.same(refs(result.included), ['Encounter/enc3'], 'the deleted enc-del is not included');
  t.same(refs((await search('Patient?_id=pat-peter&_revinclude=Observation:*')).included), ['Observation/obs1', 'Observation/obs3']);
});

t.test('_include:iterate follows included resources; without :iterate it stops', async (t) => {
  const once = await search('Observation?_id=obs1&_include=Observation:encounter&_include=Encounter:subject');
  t.same(refs(once.included), ['Encounter/enc1'], 'Encounter:subject applies to the page only');
  const iterated = await search('Observation?_id=obs1&_include=Observation:encounter&_include:iterate=Encounter:subject');
  t.same(refs(iterated.included), ['Encounter/enc1', 'Patient/pat-peter']);
  const mixed = await search('Patient?_id=pat-zoe&_revinclude=Observation:subject&_include:iterate=Observation:subject');
  t.same(refs(mixed.included), ['Observation/obs2'], 'the page itself is never included again');
});

const tagged = (code: string): Condition => ({ kind: 'param', code: '_tag', type: 'token', values: [{ kind: 'token', system: 'urn:example:tag', code }] });
/** Only Patient/pat-peter's compartment: the patient itself, and resources whose subject is that patient. */
const peterOnly: AccessFilter = {
  conditionsFor: (type) =>
    type === 'Patient'
      ? [{ kind: 'param', code: '_id', type: 'token', values: [{ kind: 'token', code: 'pat-peter' }] }]
      : [
          {
            kind: 'any',
            of: [
              [{ kind: 'param', code: 'subject', type: 'reference', values: [{ kind: 'reference', ref: 'Patient/pat-peter' }] }],
              [{ kind: 'param', code: 'patient', type: 'reference', values: [{ kind: 'reference', ref: 'Patient/pat-peter' }] }],
            ],
          },
        ],
};
const vipOnly: AccessFilter = { conditionsFor: (type) => (type === 'Patient' ? [tagged('vip')] : []) };

t.test('access: search matches and totals only count visible resources', async (t) => {
  const observations = await search('Observation?status=final', peterOnly);
  t.same(refs(observations.records), ['Observation/obs1', 'Observation/obs3']);
  t.equal(observations.total, 2);
  t.same(refs((await search('Patient?gender=male,female', peterOnly)).records), ['Patient/pat-peter']);
  t.same(refs((await search('Organization?', peterOnly)).records), [], 'an Organization has no subject: hidden');
});

t.test('access: several types are each filtered by their own conditions', async (t) => {
  const result = await storage.search(searchContext({ access: vipOnly }), parsed('?_id=pat-peter,pat-zoe,org1', ['Patient', 'Organization']));
  t.same(refs(result.records), ['Organization/org1', 'Patient/pat-peter']);
});

t.test('access: includes and revincludes only bring visible resources', async (t) => {
  const included = await search('Observation?_include=Observation:subject', vipOnly);
  t.same(refs(included.included), ['Patient/pat-peter']);
  const rev = await search('Patient?_revinclude=Observation:subject', peterOnly);
  t.same(refs(rev.included), ['Observation/obs1', 'Observation/obs3']);
});

t.test('access: a hidden resource reads, vreads and lists in history as if it did not exist', async (t) => {
  const access = searchContext({ access: vipOnly });
  t.equal(await storage.read(access, 'Patient', 'pat-zoe'), undefined);
  t.match(await storage.read(access, 'Patient', 'pat-peter'), { id: 'pat-peter' });
  t.match(await storage.read(access, 'Observation', 'obs2'), { id: 'obs2' }, 'types without conditions are visible');
  t.equal(await storage.vread(access, 'Patient', 'pat-zoe', 1), undefined);
  t.match(await storage.vread(access, 'Patient', 'pat-peter', 1), { versionId: 1 });
  const typeHistory = await storage.history(access, { resourceType: 'Patient', count: 100, offset: 0 });
  t.same(refs(typeHistory.records), ['Patient/pat-peter']);
  t.equal(typeHistory.total, 1);
  const instance = await storage.history(access, { resourceType: 'Patient', id: 'pat-zoe', count: 100, offset: 0 });
  t.same(instance, { records: [], total: 0 });
  const system = await storage.history(access, { count: 1000, offset: 0 });
  const unfiltered = await storage.history(ctx, { count: 1000, offset: 0 });
  t.equal(system.total, unfiltered.total - unfiltered.records.filter((r) => r.resourceType === 'Patient' && r.id !== 'pat-peter').length);
});

t.test('access: chain targets and _has sources are filtered (compartment filter)', async (t) => {
  t.same(refs((await search('Observation?subject:Patient.gender=female', peterOnly)).records), []);
  t.same(refs((await search('Patient?_has:Observation:subject:status=final', peterOnly)).records), ['Patient/pat-peter']);
});
