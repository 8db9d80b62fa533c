import t, { type Test } from 'tap';
import { fhirJson, minimalPatient, startHarness } from './harness';

function isOutcome(t: Test, body: string, status: number, actual: number, what: string) {
  t.equal(actual, status, `${what}: status ${status}`);
  const parsed = JSON.parse(body);
  t.equal(parsed.resourceType, 'OperationOutcome', `${what}: an OperationOutcome`);
  t.ok(parsed.issue?.length > 0, `${what}: with an issue`);
  t.notMatch(body, /at .*\.(ts|js):\d+/, `${what}: no stack trace`);
}

t.test('every client error is an OperationOutcome with the right status', async (t) => {
  const h = await startHarness({ maxBodyBytes: 4096 });
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Patient/p1', headers: fhirJson, payload: minimalPatient({ id: 'p1' }) });
  await h.request({ method: 'DELETE', url: '/fhir/Patient/p1' });

  const cases: Array<[string, Parameters<typeof h.request>[0], number]> = [
    ['unknown type', { method: 'GET', url: '/fhir/Spaceship/1' }, 404],
    ['unknown type search', { method: 'GET', url: '/fhir/Spaceship' }, 404],
    ['unknown id', { method: 'GET', url: '/fhir/Patient/nope' }, 404],
    ['deleted', { method: 'GET', url: '/fhir/Patient/p1' }, 410],
    ['malformed JSON', { method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: '{"resourceType": "Patient",' }, 400],
    ['empty body', { method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: '' }, 400],
    ['body is not an object', { method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: '[1,2]' }, 400],
    ['body type does not match URL', { method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Observation' } }, 400],
    ['body id does not match URL', { method: 'PUT', url: '/fhir/Patient/a', headers: fhirJson, payload: minimalPatient({ id: 'b' }) }, 400],
    ['update without id in body', { method: 'PUT', url: '/fhir/Patient/a', headers: fhirJson, payload: minimalPatient() }, 400],
    ['invalid id in URL', { method: 'PUT', url: '/fhir/Patient/a_b!', headers: fhirJson, payload: minimalPatient({ id: 'a_b!' }) }, 400],
    ['body too large', { method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: minimalPatient({ text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(5000)}</div>` } }) }, 413],
    ['unsupported media type', { method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'text/plain' }, payload: 'hello' }, 415],
    ['no content type', { method: 'POST', url: '/fhir/Patient', payload: 'hello' }, 415],
    ['method not allowed on instance', { method: 'POST', url: '/fhir/Patient/p2' }, 405],
    ['method not allowed on metadata', { method: 'PATCH', url: '/fhir/metadata' }, 405],
    ['method not allowed on history', { method: 'POST', url: '/fhir/Patient/_history' }, 405],
    ['unknown endpoint', { method: 'GET', url: '/elsewhere' }, 404],
    ['invalid resource', { method: 'POST', url: '/fhir/Encounter', headers: fhirJson, payload: { resourceType: 'Encounter', class: { code: 'AMB' } } }, 422],
    ['prototype pollution in body', { method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: '{"resourceType":"Patient","__proto__":{"x":1}}' }, 400],
  ];
  for (const [what, options, status] of cases) {
    const res = await h.request(options);
    isOutcome(t, res.body, status, res.statusCode, what);
  }
  const notAllowed = await h.request({ method: 'POST', url: '/fhir/Patient/p2' });
  t.match(notAllowed.headers.allow, /GET/, '405 says which methods are allowed');
});

t.test('validation failures name the element', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const res = await h.request({ method: 'POST', url: '/fhir/Encounter', headers: fhirJson, payload: { resourceType: 'Encounter', class: { code: 'AMB' } } });
  t.equal(res.statusCode, 422);
  const expressions = res.json().issue.flatMap((i: { expression?: string[] }) => i.expression ?? []);
  t.ok(expressions.includes('Encounter.status'), 'the missing Encounter.status is named');
  const claim = await h.request({ method: 'POST', url: '/fhir/Claim', headers: fhirJson, payload: { resourceType: 'Claim', status: 'active' } });
  t.equal(claim.statusCode, 422);
  t.ok(claim.json().issue.some((i: { expression?: string[] }) => i.expression?.includes('Claim.patient')), 'the missing Claim.patient is named');
});

t.test('an unexpected error is a 500 OperationOutcome with the request id, logged, no internals', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  h.storage.read = async () => {
    throw new Error('disk on fire at /secret/path');
  };
  const res = await h.request({ method: 'GET', url: '/fhir/Patient/p1' });
  t.equal(res.statusCode, 500);
  t.equal(res.json().resourceType, 'OperationOutcome');
  t.notMatch(res.body, /disk on fire|secret/, 'the body does not leak the error');
  t.match(res.body, res.headers['x-request-id'] as string, 'the body names the request id');
  const logged = h.logs.find((l) => l.msg === 'unexpected error');
  t.ok(logged, 'the error is logged');
  t.equal(logged?.reqId, res.headers['x-request-id'], 'with the request id');
});
