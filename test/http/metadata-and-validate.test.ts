import t from 'tap';
import { fhirJson, minimalPatient, startHarness } from './harness';

t.test('the CapabilityStatement describes what the server does', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const res = await h.request({ method: 'GET', url: '/fhir/metadata' });
  t.equal(res.statusCode, 200);
  const cs = res.json();
  t.equal(cs.resourceType, 'CapabilityStatement');
  t.equal(cs.fhirVersion, '4.0.1');
  t.same(cs.format, ['application/fhir+json', 'application/json']);
  const resources = cs.rest[0].resource;
  t.ok(resources.length >= 140, 'every R4 resource type is listed');
  const types = resources.map((r: { type: string }) => r.type);
  for (const type of ['Patient', 'Appointment', 'Encounter', 'ServiceRequest', 'Consent', 'Claim', 'Observation']) t.ok(types.includes(type), type);
  const patient = resources.find((r: { type: string }) => r.type === 'Patient');
  const interactions = patient.interaction.map((i: { code: string }) => i.code).sort();
  t.same(interactions, ['create', 'delete', 'history-instance', 'history-type', 'patch', 'read', 'search-type', 'update', 'vread']);
  t.ok(patient.searchParam.some((p: { name: string; type: string }) => p.name === 'identifier' && p.type === 'token'));
  t.ok(patient.operation.some((o: { name: string }) => o.name === 'validate'));
  const validation = await h.request({ method: 'POST', url: '/fhir/CapabilityStatement/$validate', headers: fhirJson, payload: cs });
  t.same(validation.json().issue.filter((i: { severity: string }) => i.severity === 'error'), [], 'the CapabilityStatement is itself valid');
});

t.test('$validate answers 200 with an OperationOutcome either way', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const valid = await h.request({ method: 'POST', url: '/fhir/Patient/$validate', headers: fhirJson, payload: minimalPatient() });
  t.equal(valid.statusCode, 200);
  t.equal(valid.json().resourceType, 'OperationOutcome');
  t.same(valid.json().issue.map((i: { severity: string }) => i.severity), ['information']);

  const invalid = await h.request({ method: 'POST', url: '/fhir/Patient/$validate', headers: fhirJson, payload: minimalPatient({ birthDate: '1990-13-45' }) });
  t.equal(invalid.statusCode, 200, 'an invalid resource is still 200');
  const issue = invalid.json().issue.find((i: { severity: string }) => i.severity === 'error');
  t.ok(issue, 'with an error issue');
  t.ok(issue.expression.includes('Patient.birthDate'), 'naming the element');

  const asParameters = await h.request({
    method: 'POST', url: '/fhir/Patient/$validate', headers: fhirJson,
    payload: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: minimalPatient({ birthDate: 'soon' }) }] },
  });
  t.equal(asParameters.statusCode, 200);
  t.ok(asParameters.json().issue.some((i: { severity: string }) => i.severity === 'error'), 'a Parameters-wrapped resource is validated');

  const wrongType = await h.request({ method: 'POST', url: '/fhir/Patient/$validate', headers: fhirJson, payload: { resourceType: 'Organization' } });
  t.ok(wrongType.json().issue.some((i: { severity: string }) => i.severity === 'error'), 'a resource of another type is reported');

  await h.request({ method: 'PUT', url: '/fhir/Patient/p1', headers: fhirJson, payload: minimalPatient({ id: 'p1' }) });
  const stored = await h.request({ method: 'GET', url: '/fhir/Patient/p1/$validate' });
  t.equal(stored.statusCode, 200);
  t.same(stored.json().issue.map((i: { severity: string }) => i.severity), ['information'], 'the stored resource is valid');
  const instance = await h.request({ method: 'POST', url: '/fhir/Patient/p1/$validate', headers: fhirJson, payload: minimalPatient({ id: 'p2' }) });
  t.ok(instance.json().issue.some((i: { severity: string }) => i.severity === 'error'), 'instance-level validation checks the id');
  t.equal((await h.request({ method: 'GET', url: '/fhir/Patient/none/$validate' })).statusCode, 404);
  t.equal((await h.request({ method: 'POST', url: '/fhir/Patient/$validate', headers: fhirJson, payload: '"text"' })).statusCode, 400);
});

t.test('search by _id and identifier', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Patient/a', headers: fhirJson, payload: minimalPatient({ id: 'a', identifier: [{ system: 'urn:x', value: '1' }] }) });
  await h.request({ method: 'PUT', url: '/fhir/Patient/b', headers: fhirJson, payload: minimalPatient({ id: 'b' }) });
  await h.request({ method: 'PUT', url: '/fhir/Patient/c', headers: fhirJson, payload: minimalPatient({ id: 'c' }) });
  await h.request({ method: 'DELETE', url: '/fhir/Patient/c' });

  const byId = (await h.request({ method: 'GET', url: '/fhir/Patient?_id=a,c' })).json();
  t.equal(byId.type, 'searchset');
  t.same(byId.entry.map((e: { resource: { id: string } }) => e.resource.id), ['a'], 'deleted resources do not match');
  t.equal(byId.entry[0].fullUrl, 'http://localhost:8080/fhir/Patient/a');
  t.equal(byId.entry[0].search.mode, 'match');
  t.equal(byId.total, 1);
  const self = byId.link.find((l: { relation: string }) => l.relation === 'self');
  t.match(self.url, /^http:\/\/localhost:8080\/fhir\/Patient\?_id=a%2Cc$/);
  const byIdentifier = (await h.request({ method: 'GET', url: '/fhir/Patient?identifier=urn:x|1' })).json();
  t.same(byIdentifier.entry.map((e: { resource: { id: string } }) => e.resource.id), ['a']);
  const paged = (await h.request({ method: 'GET', url: '/fhir/Patient?_count=1&_sort=_id' })).json();
  t.equal(paged.entry.length, 1);
  t.ok(paged.link.find((l: { relation: string }) => l.relation === 'next'), 'a next link');
});
