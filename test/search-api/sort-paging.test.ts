/** `_sort`, `_count`, paging links (keyset cursors, `__offset`) and `_total` over HTTP. */
import t from 'tap';
import { ALL_PATIENTS, searchDeletions, searchFixtures } from './fixtures';
import { allPages, get, harnessWith, link, matchIds, put, remove, searchBundle, type BundleJson, type Harness } from './helpers';

let h: Harness;
t.before(async () => {
  h = await harnessWith(searchFixtures, searchDeletions);
});
t.teardown(() => h.close());

const order = async (url: string) => matchIds(await searchBundle(h, url));

t.test('_sort on a date: ascending by the start, descending by the end, missing values last', async (t) => {
  t.same(await order('/fhir/Patient?_sort=birthdate'), ['pat-peter', 'pat-jose', 'pat-anna', 'pat-link', 'pat-updated', 'pat-nobirth']);
  t.same(await order('/fhir/Patient?_sort=-birthdate'), ['pat-updated', 'pat-link', 'pat-jose', 'pat-anna', 'pat-peter', 'pat-nobirth']);
  t.same(await order('/fhir/Encounter?_sort=-date'), ['enc-2', 'enc-4', 'enc-1', 'enc-3'], 'an open period ends last of all');
});

t.test('_sort on a string with several values: the smallest ascending, the largest descending', async (t) => {
  t.same(await order('/fhir/Patient?_sort=family'), ['pat-anna', 'pat-peter', 'pat-nobirth', 'pat-link', 'pat-updated', 'pat-jose']);
  t.same(await order('/fhir/Patient?_sort=-family'), ['pat-anna', 'pat-jose', 'pat-updated', 'pat-link', 'pat-nobirth', 'pat-peter']);
});

t.test('_sort on several keys, token first', async (t) => {
  t.same(await order('/fhir/Patient?_sort=gender,-birthdate'), ['pat-updated', 'pat-anna', 'pat-jose', 'pat-peter', 'pat-link', 'pat-nobirth']);
});

t.test('_sort on a reference and a quantity; ties broken by id', async (t) => {
  t.same(await order('/fhir/Observation?_sort=subject'), ['obs-4', 'obs-3', 'obs-1', 'obs-2', 'obs-5']);
  t.same(await order('/fhir/Observation?_sort=-value-quantity'), ['obs-3', 'obs-2', 'obs-1', 'obs-4', 'obs-5']);
});

t.test('_sort on _id and _lastUpdated', async (t) => {
  t.same(await order('/fhir/Patient?_sort=_id'), ALL_PATIENTS);
  t.same(await order('/fhir/Patient?_sort=-_id'), [...ALL_PATIENTS].reverse());
  const bundle = await searchBundle(h, '/fhir/Patient?_sort=-_lastUpdated');
  const keys = (bundle.entry ?? []).map((e) => `${e.resource.meta?.lastUpdated}`);
  t.same(keys, [...keys].sort().reverse(), 'newest first');
  t.equal(matchIds(bundle)[0], 'pat-updated', 'the last write (version 2 of pat-updated) first');
});

t.test('_count pages through everything once, with self/first/next/previous links', async (t) => {
  t.same(await allPages(h, '/fhir/Patient?_sort=_id&_count=2'), ALL_PATIENTS);
  t.same(await allPages(h, '/fhir/Patient?_sort=-birthdate&_count=4'), ['pat-updated', 'pat-link', 'pat-jose', 'pat-anna', 'pat-peter', 'pat-nobirth']);
  const first = await searchBundle(h, '/fhir/Patient?_sort=_id&_count=2');
  t.ok(link(first, 'self'), 'self');
  t.ok(link(first, 'first'), 'first');
  t.notOk(link(first, 'previous'), 'no page before the first');
  const second = await searchBundle(h, link(first, 'next')!);
  t.same(matchIds(second), ['pat-link', 'pat-nobirth']);
  t.same(matchIds(await searchBundle(h, link(second, 'previous')!)), ['pat-anna', 'pat-jose']);
  t.same(matchIds(await searchBundle(h, link(second, 'first')!)), ['pat-anna', 'pat-jose']);
  t.same(matchIds(await searchBundle(h, link(second, 'self')!)), ['pat-link', 'pat-nobirth'], 'self reads the same page again');
  const last = await searchBundle(h, '/fhir/Patient?_sort=_id&_count=3&_id=pat-anna,pat-jose,pat-link');
  t.notOk(link(last, 'next'), 'no next after the last match');
});

t.test('links stay correct while data changes between pages: no repeats, no drops', async (t) => {
  const own = await harnessWith(searchFixtures, searchDeletions);
  t.teardown(() => own.close());
  const page1 = await searchBundle(own, '/fhir/Patient?_sort=_id&_count=2');
  t.same(matchIds(page1), ['pat-anna', 'pat-jose']);
  await put(own, { resourceType: 'Patient', id: 'pat-aaa', name: [{ family: 'Inserted' }] });
  await remove(own, 'Patient', 'pat-jose');
  await remove(own, 'Patient', 'pat-link');
  const page2 = await searchBundle(own, link(page1, 'next')!);
  t.same(matchIds(page2), ['pat-nobirth', 'pat-peter'], 'continues after pat-jose: nothing shifted by the insert and the deletes');
  const page3 = await searchBundle(own, link(page2, 'next')!);
  t.same(matchIds(page3), ['pat-updated']);
  t.notOk(link(page3, 'next'));
  t.same(matchIds(await searchBundle(own, link(page2, 'previous')!)), ['pat-aaa', 'pat-anna'], 'the rows now right before pat-nobirth');
});

t.test('__offset still pages by position', async (t) => {
  const bundle = await searchBundle(h, '/fhir/Patient?_sort=_id&_count=2&__offset=2');
  t.same(matchIds(bundle), ['pat-link', 'pat-nobirth']);
  t.match(link(bundle, 'next'), /__offset=4/);
  t.match(link(bundle, 'previous'), /_count=2/);
});

t.test('a malformed or foreign cursor is a 400 naming __cursor', async (t) => {
  for (const cursor of ['garbage!', 'eyJ4IjoxfQ', Buffer.from('{"after":{"values":[{"$gt":""}],"resourceType":"Patient","id":"x"}}').toString('base64url')]) {
    const res = await get(h, `/fhir/Patient?__cursor=${cursor}`);
    t.equal(res.statusCode, 400, cursor);
    t.same(res.json().issue[0].expression, ['__cursor']);
  }
  const sortedByDate = await searchBundle(h, '/fhir/Patient?_sort=birthdate&_count=2');
  const cursor = new URL(link(sortedByDate, 'next')!).searchParams.get('__cursor')!;
  const res = await get(h, `/fhir/Patient?_sort=_id&_count=2&__cursor=${cursor}`);
  t.equal(res.statusCode, 400, 'a cursor of a search sorted otherwise');
});

t.test('_total: accurate by default, none, estimate', async (t) => {
  t.equal((await searchBundle(h, '/fhir/Patient?_count=1')).total, 6);
  t.equal((await searchBundle(h, '/fhir/Patient?_total=accurate&_count=1')).total, 6);
  t.equal((await searchBundle(h, '/fhir/Patient?_total=none')).total, undefined);
  const estimate: BundleJson = await searchBundle(h, '/fhir/Patient?_total=estimate');
  t.ok(estimate.total === undefined || estimate.total >= 0);
  const bad = await get(h, '/fhir/Patient?_total=some');
  t.equal(bad.statusCode, 400);
  t.same(bad.json().issue[0].expression, ['_total']);
});

t.test('_count=0 gives the total only; above the maximum it is limited', async (t) => {
  const zero = await searchBundle(h, '/fhir/Patient?_count=0');
  t.equal(zero.total, 6);
  t.same(matchIds(zero), []);
  const big = await searchBundle(h, '/fhir/Patient?_count=5000');
  t.equal(matchIds(big).length, 6);
});
