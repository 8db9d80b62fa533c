import t from 'tap';
import { parseScope, parseScopes } from '../../src/security/scopes/parse-scopes';
import { BASE_URL, startSecureHarness, type SecureHarness } from './auth-kit';

const letters = (text: string) => [...(parseScope(text, BASE_URL)?.permissions ?? [])].join('');

t.test('v2 and v1 scope syntax', async (t) => {
  t.equal(letters('patient/Observation.rs'), 'rs');
  t.equal(letters('user/*.cruds'), 'cruds');
  t.equal(letters('system/Patient.cud'), 'cud');
  t.equal(parseScope('user/Observation.sr', BASE_URL), undefined, 'letters out of order grant nothing');
  t.equal(parseScope('user/Observation.rr', BASE_URL), undefined, 'a repeated letter grants nothing');
  t.equal(parseScope('user/Observation.', BASE_URL), undefined);
  t.equal(parseScope('user/Unicorn.rs', BASE_URL), undefined, 'an unknown resource type grants nothing');
  t.equal(parseScope('group/Patient.rs', BASE_URL), undefined, 'an unknown context grants nothing');
  t.equal(letters('patient/Observation.read'), 'rs', 'v1 read = rs');
  t.equal(letters('patient/Observation.write'), 'cud', 'v1 write = cud');
  t.equal(letters('user/*.*'), 'cruds', 'v1 * = cruds');
  t.same(parseScopes('openid fhirUser launch/patient offline_access patient/Patient.r', BASE_URL).map((s) => s.text), ['patient/Patient.r'], 'non-clinical scopes are skipped');
});

t.test('granular scopes: token queries become conditions; anything that could widen them grants nothing', async (t) => {
  const lab = parseScope('patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory', BASE_URL);
  t.match(lab?.where, [{ kind: 'param', code: 'category', type: 'token', values: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }]);
  t.equal(parseScope('patient/Observation.rs?nonsense=1', BASE_URL), undefined, 'an unknown parameter');
  t.equal(parseScope('patient/Observation.rs?_count=1', BASE_URL), undefined, 'a result-shaping parameter');
  t.equal(parseScope('patient/*.rs?category=laboratory', BASE_URL), undefined, 'a query on *');
});

/** p1 and p2 each with a laboratory and a vital-signs Observation, written as the operator. */
async function world(h: SecureHarness): Promise<{ operator: string; ids: Record<string, string> }> {
  const operator = await h.token({ scope: 'system/*.cruds', client_id: 'admin' });
  const ids: Record<string, string> = {};
  for (const patient of ['p1', 'p2']) {
    const put = await h.as(operator, { method: 'PUT', url: `/fhir/Patient/${patient}`, payload: { resourceType: 'Patient', id: patient } });
    if (put.statusCode !== 201) throw new Error(`seed failed: ${put.body}`);
    for (const category of ['laboratory', 'vital-signs']) {
      const observation = {
        resourceType: 'Observation',
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
        code: { text: category },
        subject: { reference: `Patient/${patient}` },
      };
      const created = await h.as(operator, { method: 'POST', url: '/fhir/Observation', payload: observation });
      ids[`${patient}-${category}`] = created.json().id;
    }
  }
  return { operator, ids };
}

const entryIds = (body: { entry?: Array<{ resource: { id: string } }> }) => (body.entry ?? []).map((e) => e.resource.id).sort();

t.test('an interaction the scopes do not cover is 403 forbidden', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  const { ids } = await world(h);
  const reader = await h.token({ scope: 'user/Observation.r', fhirUser: 'Practitioner/d1' });
  t.equal((await h.as(reader, { url: `/fhir/Observation/${ids['p1-laboratory']}` })).statusCode, 200, 'r allows read');
  t.equal((await h.as(reader, { url: `/fhir/Observation/${ids['p1-laboratory']}/_history/1` })).statusCode, 200, 'r allows vread');
  t.equal((await h.as(reader, { url: `/fhir/Observation/${ids['p1-laboratory']}/_history` })).statusCode, 200, 'r allows instance history');
  const cases: Array<[string, { method?: string; url: string; payload?: unknown }]> = [
    ['search needs s', { url: '/fhir/Observation' }],
    ['type history needs s', { url: '/fhir/Observation/_history' }],
    ['create needs c', { method: 'POST', url: '/fhir/Observation', payload: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } }],
    ['update needs u', { method: 'PUT', url: `/fhir/Observation/${ids['p1-laboratory']}`, payload: { resourceType: 'Observation', id: ids['p1-laboratory'], status: 'final', code: { text: 'x' } } }],
    ['delete needs d', { method: 'DELETE', url: `/fhir/Observation/${ids['p1-laboratory']}` }],
    ['another type needs its own scope', { url: '/fhir/Patient/p1' }],
  ];
  for (const [name, request] of cases) {
    const response = await h.as(reader, request);
    t.equal(response.statusCode, 403, name);
    t.match(response.json(), { resourceType: 'OperationOutcome', issue: [{ code: 'forbidden' }] });
  }
  const limitedOperator = await h.token({ scope: 'system/Patient.rs' });
  t.equal((await h.as(limitedOperator, { method: 'DELETE', url: '/fhir/Patient/p1' })).statusCode, 403, "the operator's token scopes apply too");
});

t.test('patient/ scopes confine reads and searches to the patient compartment', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  const { ids } = await world(h);
  const app = await h.token({ scope: 'patient/Observation.rs patient/Patient.r', fhirUser: 'Patient/p1', patient: 'p1' });
  const mine = await h.as(app, { url: '/fhir/Observation' });
  t.equal(mine.statusCode, 200);
  t.same(entryIds(mine.json()), [ids['p1-laboratory'], ids['p1-vital-signs']].sort(), "a search returns only the patient's own data");
  t.equal(mine.json().total, 2, 'the total counts only visible resources');
  const theirs = await h.as(app, { url: '/fhir/Observation?subject=Patient/p2' });
  t.equal(theirs.statusCode, 200, "searching another patient's data is not an error");
  t.same(entryIds(theirs.json()), [], '... and finds nothing');
  t.equal((await h.as(app, { url: `/fhir/Observation/${ids['p2-laboratory']}` })).statusCode, 404, "another patient's resource reads as missing");
  t.equal((await h.as(app, { url: '/fhir/Patient/p2' })).statusCode, 404, "another patient's Patient resource reads as missing");
  t.equal((await h.as(app, { url: '/fhir/Patient/p1' })).statusCode, 200, 'the own Patient resource is readable');
});

t.test('granular scopes narrow to their query', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  const { ids } = await world(h);
  const labOnly = await h.token({
    scope: 'patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory',
    fhirUser: 'Patient/p1',
    patient: 'p1',
  });
  t.same(entryIds((await h.as(labOnly, { url: '/fhir/Observation' })).json()), [ids['p1-laboratory']], 'only laboratory results of p1');
  t.equal((await h.as(labOnly, { url: `/fhir/Observation/${ids['p1-vital-signs']}` })).statusCode, 404, 'a vital sign reads as missing');
  const both = await h.token({
    scope: 'patient/Observation.rs?category=laboratory patient/Observation.rs?category=vital-signs',
    fhirUser: 'Patient/p1',
    patient: 'p1',
  });
  t.same(entryIds((await h.as(both, { url: '/fhir/Observation' })).json()), [ids['p1-laboratory'], ids['p1-vital-signs']].sort(), 'two granular scopes add up');
});

t.test('writes that would put a resource outside the compartment or query are 403', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  const { ids } = await world(h);
  const app = await h.token({ scope: 'patient/Observation.cruds', fhirUser: 'Patient/p1', patient: 'p1' });
  const observation = (patient: string, id?: string) => ({ resourceType: 'Observation', ...(id ? { id } : {}), status: 'final', code: { text: 'steps' }, subject: { reference: `Patient/${patient}` } });
  t.equal((await h.as(app, { method: 'POST', url: '/fhir/Observation', payload: observation('p1') })).statusCode, 201, 'own compartment');
  const foreign = await h.as(app, { method: 'POST', url: '/fhir/Observation', payload: observation('p2') });
  t.equal(foreign.statusCode, 403, "creating in another patient's compartment");
  t.match(foreign.json(), { issue: [{ code: 'forbidden' }] });
  const target = ids['p1-laboratory'];
  t.equal((await h.as(app, { method: 'PUT', url: `/fhir/Observation/${target}`, payload: observation('p2', target) })).statusCode, 403, 'moving an own resource out');
  const theirs = ids['p2-laboratory'];
  t.equal((await h.as(app, { method: 'PUT', url: `/fhir/Observation/${theirs}`, payload: observation('p1', theirs) })).statusCode, 403, "taking over another patient's resource");
  t.equal((await h.as(app, { method: 'DELETE', url: `/fhir/Observation/${theirs}` })).statusCode, 403, "deleting another patient's resource");
  const patch = [{ op: 'replace', path: '/subject/reference', value: 'Patient/p2' }];
  const patched = await h.as(app, { method: 'PATCH', url: `/fhir/Observation/${target}`, payload: patch, headers: { 'content-type': 'application/json-patch+json' } });
  t.equal(patched.statusCode, 403, 'a patch that moves the resource out');
  t.equal((await h.as(app, { method: 'DELETE', url: `/fhir/Observation/${target}` })).statusCode, 204, 'deleting an own resource');
});

t.test('compartment search is a search of the named type, narrowed like any other', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  const { ids } = await world(h);
  const app = await h.token({ scope: 'patient/Observation.rs', fhirUser: 'Patient/p1', patient: 'p1' });
  const own = await h.as(app, { url: '/fhir/Patient/p1/Observation' });
  t.equal(own.statusCode, 200);
  t.same(entryIds(own.json()), [ids['p1-laboratory'], ids['p1-vital-signs']].sort());
  const other = await h.as(app, { url: '/fhir/Patient/p2/Observation' });
  t.equal(other.statusCode, 200, "another patient's compartment is not an error");
  t.same(entryIds(other.json()), [], '... and shows nothing');
  t.equal((await h.as(app, { url: '/fhir/Patient/p1/Condition' })).statusCode, 403, 'a type without a scope');
  const readOnly = await h.token({ scope: 'patient/Observation.r', fhirUser: 'Patient/p1', patient: 'p1' });
  t.equal((await h.as(readOnly, { url: '/fhir/Patient/p1/Observation' })).statusCode, 403, 'needs s');
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const posted = await h.as(app, { method: 'POST', url: '/fhir/Patient/p1/Observation/_search', payload: '', headers: form });
  t.equal(posted.statusCode, 200, 'the POST form is a search too, not an operation needing every right');
  t.same(entryIds(posted.json()), [ids['p1-laboratory'], ids['p1-vital-signs']].sort());
  const postedOther = await h.as(app, { method: 'POST', url: '/fhir/Patient/p2/Observation/_search', payload: '', headers: form });
  t.same(entryIds(postedOther.json()), [], "... narrowed like the GET form");
});

t.test('HEAD needs what GET needs', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  const { ids } = await world(h);
  const app = await h.token({ scope: 'patient/Observation.r', fhirUser: 'Patient/p1', patient: 'p1' });
  t.equal((await h.as(app, { method: 'HEAD', url: `/fhir/Observation/${ids['p1-laboratory']}` })).statusCode, 200, 'r allows HEAD of a read');
  t.equal((await h.as(app, { method: 'HEAD', url: `/fhir/Observation/${ids['p2-laboratory']}` })).statusCode, 404, "another patient's resource is missing for HEAD too");
  t.equal((await h.as(app, { method: 'HEAD', url: '/fhir/Observation' })).statusCode, 403, 'HEAD of a search needs s');
});

t.test('a URL that takes POST only answers 405 to another method whatever the scopes, not 403', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  const app = await h.token({ scope: 'patient/*.rs', fhirUser: 'Patient/p1', patient: 'p1' });
  for (const url of ['/fhir/Patient/$match', '/fhir/Patient/_search', '/fhir/Patient/$validate', '/fhir/Consent/$evaluate', '/fhir/Patient/p1/Observation/_search']) {
    const response = await h.as(app, { url });
    t.equal(response.statusCode, 405, url);
    t.equal(response.headers.allow, 'POST', `${url}: Allow`);
  }
  t.equal((await h.request({ method: 'GET', url: '/fhir/Patient/$match' })).statusCode, 401, 'still no answer without a token');
});
