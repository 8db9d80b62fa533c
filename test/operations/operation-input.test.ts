/**
 * An operation's input from the query string and from a form
 * (src/operations/operation-input.ts): the declared parameters are checked
 * against their types and cardinalities as a Parameters body is, and a form
 * POST is read into Parameters from the descriptor, over HTTP and in a bundle.
 */
import t from 'tap';
import type { Bundle, Parameters } from '../../src/fhir/types';
import { fhirJson, startHarness, type Harness } from '../http/harness';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

async function seeded(t: { teardown(fn: () => unknown): void }): Promise<Harness> {
  const h = await startHarness();
  t.teardown(h.close);
  const put = (resource: Record<string, unknown>) =>
    h.request({ method: 'PUT', url: `/fhir/${resource.resourceType}/${resource.id}`, headers: fhirJson, payload: JSON.stringify(resource) });
  await put({ resourceType: 'Patient', id: 'p1' });
  await put({ resourceType: 'Practitioner', id: 'd1' });
  await put({ resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p1' } });
  return h;
}

const issueOf = (body: string) => (JSON.parse(body) as { issue: Array<{ diagnostics?: string; expression?: string[] }> }).issue[0];

t.test('query string parameters get the declared-type check: a bad one is 400 naming it', async (t) => {
  const h = await seeded(t);
  const badCount = await h.request({ url: '/fhir/Patient/p1/$everything?_count=many' });
  t.equal(badCount.statusCode, 400);
  t.equal(badCount.json().resourceType, 'OperationOutcome');
  t.match(issueOf(badCount.body), { diagnostics: '$everything: parameter "_count" must be of type integer', expression: ['_count'] });
  const twice = await h.request({ url: '/fhir/Patient/p1/$everything?_since=2020-01-01T00:00:00Z&_since=2021-01-01T00:00:00Z' });
  t.equal(twice.statusCode, 400, 'the declared cardinality too');
  t.match(issueOf(twice.body), { diagnostics: /parameter "_since" may occur at most 1 time/, expression: ['_since'] });
  const fine = await h.request({ url: '/fhir/Patient/p1/$everything?_count=5&_type=Observation' });
  t.equal(fine.statusCode, 200, 'well-typed parameters pass');
  t.ok((fine.json() as Bundle).entry?.some((e) => e.resource?.id === 'o1'));
});

t.test('a form POST to an operation is read into Parameters from its declaration', async (t) => {
  const h = await seeded(t);
  const asJson = await h.request({
    method: 'POST',
    url: '/fhir/Consent/$evaluate',
    headers: fhirJson,
    payload: JSON.stringify({
      resourceType: 'Parameters',
      parameter: [
        { name: 'actor', valueReference: { reference: 'Practitioner/d1' } },
        { name: 'resource', valueReference: { reference: 'Observation/o1' } },
        { name: 'purpose', valueCode: 'TREAT' },
      ],
    }),
  });
  t.equal(asJson.statusCode, 200);
  const asForm = await h.request({
    method: 'POST',
    url: '/fhir/Consent/$evaluate',
    headers: FORM,
    payload: 'actor=Practitioner%2Fd1&resource=Observation/o1&purpose=TREAT',
  });
  t.equal(asForm.statusCode, 200, asForm.body);
  t.equal((asForm.json() as Parameters).resourceType, 'Parameters');
  t.same(asForm.json(), asJson.json(), 'the same answer as the Parameters body');

  const badCode = await h.request({
    method: 'POST',
    url: '/fhir/Consent/$evaluate',
    headers: FORM,
    payload: 'actor=Practitioner/d1&resource=Observation/o1&purpose=TR%20%20EAT',
  });
  t.equal(badCode.statusCode, 400, 'a form field of the wrong type');
  t.match(issueOf(badCode.body), { diagnostics: /parameter "purpose" must be of type code/, expression: ['purpose'] });
  const missing = await h.request({ method: 'POST', url: '/fhir/Consent/$evaluate', headers: FORM, payload: 'actor=Practitioner/d1' });
  t.equal(missing.statusCode, 400);
  t.match(issueOf(missing.body), { diagnostics: /parameter "resource" is required/, expression: ['resource'] });
  const resourceParam = await h.request({ method: 'POST', url: '/fhir/Patient/$match', headers: FORM, payload: 'count=2' });
  t.equal(resourceParam.statusCode, 400, 'a form cannot carry a resource parameter: the required one is missing');
  t.match(issueOf(resourceParam.body), { diagnostics: /parameter "resource" is required/ });
  const other = await h.request({ method: 'POST', url: '/fhir/Consent/$evaluate', headers: { 'content-type': 'text/plain' }, payload: 'actor=x' });
  t.equal(other.statusCode, 415, 'any other body type is still 415');
});

t.test('in a bundle, an operation entry may carry its form as a Binary', async (t) => {
  const h = await seeded(t);
  const form = Buffer.from('actor=Practitioner/d1&resource=Observation/o1&purpose=TREAT').toString('base64');
  const bundle = {
    resourceType: 'Bundle',
    type: 'batch',
    entry: [
      {
        request: { method: 'POST', url: 'Consent/$evaluate' },
        resource: { resourceType: 'Binary', contentType: 'application/x-www-form-urlencoded', data: form },
      },
      { request: { method: 'GET', url: 'Patient/p1/$everything?_count=none' } },
    ],
  };
  const res = await h.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: JSON.stringify(bundle) });
  t.equal(res.statusCode, 200);
  const [evaluated, everything] = (res.json() as Bundle).entry ?? [];
  t.equal(evaluated?.response?.status, '200 OK');
  t.ok(
    (evaluated?.resource as Parameters | undefined)?.parameter?.some((p) => p.name === 'decision'),
    'the form was read as Parameters',
  );
  t.match(everything?.response?.status, /^400/, 'a bad query parameter of an entry is that entry’s 400');
});
