/**
 * The shape of a search's answer over HTTP: `_summary`, `_elements`, GET vs
 * POST, system and compartment search, unknown and malformed parameters,
 * and what the CapabilityStatement says about search.
 */
import t, { type Test } from 'tap';
import { searchDeletions, searchFixtures } from './fixtures';
import { get, harnessWith, ids, link, matchRefs, outcomeIssues, searchBundle, type BundleJson, type Harness } from './helpers';

let h: Harness;
t.before(async () => {
  h = await harnessWith(searchFixtures, searchDeletions);
});
t.teardown(() => h.close());

const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };
const onlyResource = (bundle: BundleJson) => {
  const matches = (bundle.entry ?? []).filter((e) => e.search?.mode === 'match');
  if (matches.length !== 1) throw new Error(`expected one match, got ${matches.length}`);
  return matches[0]!.resource as Record<string, unknown> & { meta?: { tag?: Array<{ system?: string; code?: string }> } };
};
const keysOf = (resource: Record<string, unknown>) => Object.keys(resource).sort();
const isSubsetted = (resource: { meta?: { tag?: Array<{ system?: string; code?: string }> } }) =>
  (resource.meta?.tag ?? []).some((tag) => tag.system === SUBSETTED.system && tag.code === SUBSETTED.code);

t.test('_summary=true keeps the summary elements of the definition, marked SUBSETTED', async (t) => {
  const patient = onlyResource(await searchBundle(h, '/fhir/Patient?_id=pat-peter&_summary=true'));
  t.same(keysOf(patient), ['active', 'birthDate', 'gender', 'id', 'identifier', 'managingOrganization', 'meta', 'name', 'resourceType']);
  t.ok(isSubsetted(patient));
});

t.test('_summary=text: narrative, id, meta and mandatory elements', async (t) => {
  t.same(keysOf(onlyResource(await searchBundle(h, '/fhir/Patient?_id=pat-peter&_summary=text'))), ['id', 'meta', 'resourceType', 'text']);
  const observation = onlyResource(await searchBundle(h, '/fhir/Observation?_id=obs-1&_summary=text'));
  t.same(keysOf(observation), ['code', 'id', 'meta', 'resourceType', 'status'], 'status and code are mandatory');
});

t.test('_summary=data: everything but the narrative; _summary=false: the whole resource', async (t) => {
  const data = onlyResource(await searchBundle(h, '/fhir/Patient?_id=pat-peter&_summary=data'));
  t.notOk('text' in data);
  t.ok('communication' in data && 'generalPractitioner' in data);
  t.ok(isSubsetted(data));
  const full = onlyResource(await searchBundle(h, '/fhir/Patient?_id=pat-peter&_summary=false'));
  t.ok('text' in full);
  t.notOk(isSubsetted(full));
});

t.test('_summary=count: the total and no entries', async (t) => {
  const bundle = await searchBundle(h, '/fhir/Patient?gender=male&_summary=count');
  t.equal(bundle.total, 2);
  t.same(bundle.entry ?? [], []);
  t.notOk(link(bundle, 'next'));
});

t.test('_elements: the listed elements plus the mandatory ones; includes stay whole', async (t) => {
  const patient = onlyResource(await searchBundle(h, '/fhir/Patient?_id=pat-peter&_elements=gender,birthDate'));
  t.same(keysOf(patient), ['birthDate', 'gender', 'id', 'meta', 'resourceType']);
  t.ok(isSubsetted(patient));
  const bundle = await searchBundle(h, '/fhir/Observation?_id=obs-1&_elements=subject&_include=Observation:subject');
  t.same(keysOf(onlyResource(bundle)), ['code', 'id', 'meta', 'resourceType', 'status', 'subject']);
  const included = (bundle.entry ?? []).find((e) => e.search?.mode === 'include')!.resource as Record<string, unknown>;
  t.ok('text' in included && 'communication' in included, 'the included Patient is not subsetted');
});

t.test('POST /Type/_search (form body) answers exactly what GET does', async (t) => {
  const queries = [
    'family=chalmers',
    'birthdate=ge1980&birthdate=lt1995&_sort=-birthdate',
    '_has:Observation:subject:code=8867-4&_revinclude=Observation:subject',
    'gender=male&_summary=count',
    `identifier=${encodeURIComponent('urn:other|X\\,1')}`,
    '_sort=_id&_count=2',
  ];
  for (const query of queries) {
    const viaGet = await get(h, `/fhir/Patient?${query}`);
    const viaPost = await h.request({
      method: 'POST',
      url: '/fhir/Patient/_search',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: query,
    });
    t.equal(viaPost.statusCode, 200, query);
    t.same(viaPost.json(), viaGet.json(), query);
  }
  const split = await h.request({
    method: 'POST',
    url: '/fhir/Patient/_search?gender=male',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'birthdate=1980',
  });
  t.same(matchRefs(split.json()), ['Patient/pat-jose'], 'URL and body parameters combine (AND)');
});

/** The same search sent as a form body to `url` (POST .../_search). */
async function postForm(url: string, form: string) {
  return h.request({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form });
}

t.test('POST compartment search (form body) answers exactly what GET does, for one type and for *', async (t) => {
  const cases: Array<[string, string]> = [
    ['/fhir/Patient/pat-peter/Encounter', ''],
    ['/fhir/Patient/pat-peter/Observation', 'code=29463-7'],
    ['/fhir/Patient/pat-peter/Patient', '_sort=_id'],
    ['/fhir/Patient/pat-peter/*', '_count=100'],
    ['/fhir/Patient/pat-jose/*', '_count=2'],
    ['/fhir/Patient/pat-nobody/Encounter', ''],
  ];
  for (const [path, query] of cases) {
    const viaGet = await get(h, query === '' ? path : `${path}?${query}`);
    const viaPost = await postForm(`${path}/_search`, query);
    t.equal(viaPost.statusCode, 200, `${path} ${query}`);
    t.same(viaPost.json(), viaGet.json(), `${path} ${query}`);
  }
  t.ok(matchRefs((await postForm('/fhir/Patient/pat-peter/Encounter/_search', '')).json()).length > 0, 'the compared answers are not empty');
  const split = await postForm('/fhir/Patient/pat-peter/Observation/_search?code=29463-7', 'code=8867-4');
  t.same(matchRefs(split.json()), [], 'URL and body parameters combine (AND)');
  t.equal((await postForm('/fhir/Patient/pat-peter/Organization/_search', '')).statusCode, 400, 'not in the Patient compartment');
  t.equal((await postForm('/fhir/Practitioner/prac-1/Encounter/_search', '')).statusCode, 404, 'no Practitioner compartment');
  const json = await h.request({ method: 'POST', url: '/fhir/Patient/pat-peter/Encounter/_search', headers: { 'content-type': 'application/fhir+json' }, payload: '{}' });
  t.equal(json.statusCode, 415, 'a search body is a form');
});

t.test('an operation or _search that only takes POST answers other methods 405 with Allow and an OperationOutcome', async (t) => {
  const cases: Array<[string, string]> = [
    ['GET', '/fhir/Patient/$match'],
    ['DELETE', '/fhir/Patient/$match'],
    ['GET', '/fhir/Patient/_search'],
    ['GET', '/fhir/Patient/$validate'],
    ['PUT', '/fhir/Consent/$evaluate'],
    ['GET', '/fhir/Patient/pat-peter/Encounter/_search'],
  ];
  for (const [method, url] of cases) {
    const res = await h.request({ method: method as 'GET', url });
    t.equal(res.statusCode, 405, `${method} ${url}`);
    t.equal(res.headers.allow, 'POST', `${method} ${url}`);
    t.equal(res.json().resourceType, 'OperationOutcome', `${method} ${url}`);
  }
  t.equal((await get(h, '/fhir/Patient/pat-peter')).statusCode, 200, 'reads still reach the read route');
});

t.test('system search with _type', async (t) => {
  const both = await searchBundle(h, '/fhir?_type=Patient,Encounter&_id=pat-peter,enc-1');
  t.same(matchRefs(both).sort(), ['Encounter/enc-1', 'Patient/pat-peter']);
  const shared = await searchBundle(h, '/fhir?_type=Observation,Encounter&patient=pat-peter');
  t.same(matchRefs(shared).sort(), ['Encounter/enc-1', 'Encounter/enc-2', 'Observation/obs-1', 'Observation/obs-2']);
  t.same(matchRefs(await searchBundle(h, '/fhir?_id=vs-1')), ['ValueSet/vs-1'], 'every type without _type');
  const bad = await get(h, '/fhir?_type=Spaceship');
  t.equal(bad.statusCode, 400);
  t.same(bad.json().issue[0].expression, ['_type']);
});

t.test('compartment search: one type, with criteria, and * (Patient CompartmentDefinition)', async (t) => {
  t.same(await ids(h, '/fhir/Patient/pat-peter/Encounter'), ['enc-1', 'enc-2']);
  t.same(await ids(h, '/fhir/Patient/pat-peter/Observation?code=29463-7'), ['obs-2']);
  t.same(await ids(h, '/fhir/Patient/pat-peter/Patient'), ['pat-link', 'pat-peter'], 'itself, and the patient that links to it');
  const all = await searchBundle(h, '/fhir/Patient/pat-peter/*');
  t.same(matchRefs(all).sort(), ['Encounter/enc-1', 'Encounter/enc-2', 'Observation/obs-1', 'Observation/obs-2', 'Patient/pat-link', 'Patient/pat-peter']);
  const jose = await searchBundle(h, '/fhir/Patient/pat-jose/*?_count=2');
  t.match(link(jose, 'self'), /\/fhir\/Patient\/pat-jose\/\*\?/, 'links keep the compartment');
  const joseAll = await searchBundle(h, '/fhir/Patient/pat-jose/*?_count=100');
  t.same(matchRefs(joseAll).sort(), ['Encounter/enc-3', 'Observation/obs-3', 'Patient/pat-jose', 'RiskAssessment/risk-1']);
  t.same(await ids(h, '/fhir/Patient/pat-nobody/Encounter'), [], 'an unknown patient has an empty compartment');
});

t.test('compartment routes leave _history and $validate alone; unknown compartments and types are refused', async (t) => {
  const history = await get(h, '/fhir/Patient/pat-peter/_history');
  t.equal(history.statusCode, 200);
  t.equal(history.json().type, 'history');
  const validate = await get(h, '/fhir/Patient/pat-peter/$validate');
  t.equal(validate.statusCode, 200);
  t.equal(validate.json().resourceType, 'OperationOutcome');
  t.equal((await get(h, '/fhir/Patient/pat-peter/Organization')).statusCode, 400, 'not in the Patient compartment');
  t.equal((await get(h, '/fhir/Practitioner/prac-1/Encounter')).statusCode, 404, 'no Practitioner compartment');
  t.equal((await get(h, '/fhir/Patient/pat-peter/Spaceship')).statusCode, 404, 'unknown type');
  const post = await h.request({ method: 'POST', url: '/fhir/Patient/pat-peter/Encounter', headers: { 'content-type': 'application/fhir+json' }, payload: '{}' });
  t.equal(post.statusCode, 405);
});

t.test('unknown parameters: ignored with a warning by default, 400 under handling=strict', async (t) => {
  const lenient = await searchBundle(h, '/fhir/Patient?family=doe&foo=bar');
  t.same(matchRefs(lenient), ['Patient/pat-nobirth']);
  const issues = outcomeIssues(lenient);
  t.equal(issues.length, 1);
  t.equal(issues[0]!.severity, 'warning');
  t.same(issues[0]!.expression, ['foo']);
  const strict = await get(h, '/fhir/Patient?family=doe&foo=bar', { prefer: 'handling=strict' });
  t.equal(strict.statusCode, 400);
  t.same(strict.json().issue[0].expression, ['foo']);
  const explicitLenient = await get(h, '/fhir/Patient?family=doe&foo=bar', { prefer: 'handling=lenient' });
  t.equal(explicitLenient.statusCode, 200);
});

async function rejects(t: Test, query: string, param: string) {
  const res = await get(h, `/fhir/${query}`);
  t.equal(res.statusCode, 400, query);
  t.equal(res.json().resourceType, 'OperationOutcome');
  t.same(res.json().issue[0].expression, [param], `${query} names ${param}`);
}

t.test('malformed values answer 400 naming the parameter, never 500 nor an empty result', async (t) => {
  await rejects(t, 'Patient?birthdate=not-a-date', 'birthdate');
  await rejects(t, 'Patient?birthdate=xx2020', 'birthdate');
  await rejects(t, 'Patient?birthdate=2020-13', 'birthdate');
  await rejects(t, 'Patient?family:fuzzy=x', 'family:fuzzy');
  await rejects(t, 'Patient?gender:missing=maybe', 'gender:missing');
  await rejects(t, 'Observation?value-quantity=abc', 'value-quantity');
  await rejects(t, 'RiskAssessment?probability=gt', 'probability');
  await rejects(t, 'Patient?_count=abc', '_count');
  await rejects(t, 'Patient?_summary=maybe', '_summary');
  await rejects(t, 'Patient?_include=Spaceship:subject', '_include');
  await rejects(t, 'Patient?_has:Observation:code:code=1', '_has:Observation:code:code');
  await rejects(t, 'Observation?subject:Spaceship=1', 'subject:Spaceship');
});

t.test('CapabilityStatement: supported parameters with type and documentation, include and revinclude values', async (t) => {
  const statement = (await get(h, '/fhir/metadata')).json();
  const rest = statement.rest[0];
  t.same(rest.compartment, ['http://hl7.org/fhir/CompartmentDefinition/patient']);
  for (const promised of [/token :text :not :of-type :in :not-in :above :below/, /uri :above :below/, /at most 5000 codes/, /POST Patient\/\[id\]/]) {
    t.match(rest.documentation, promised, `the search documentation says ${promised}`);
  }
  const byType = (type: string) => rest.resource.find((r: { type: string }) => r.type === type);
  const patient = byType('Patient');
  const family = patient.searchParam.find((p: { name: string }) => p.name === 'family');
  t.equal(family.type, 'string');
  t.match(family.documentation, /family/i);
  const names = patient.searchParam.map((p: { name: string }) => p.name);
  for (const unsupported of ['_text', '_content', '_query']) t.notOk(names.includes(unsupported), `${unsupported} is not promised`);
  t.notOk(byType('Location').searchParam.some((p: { name: string }) => p.name === 'near'), 'near (special) is not promised');
  t.ok(patient.searchInclude.includes('Patient:organization'));
  t.ok(patient.searchRevInclude.includes('Observation:subject'));
  t.ok(patient.searchRevInclude.includes('Encounter:subject'));
  t.notOk(patient.searchRevInclude.includes('Organization:partof'), 'Organization.partOf cannot point at a Patient');
});
