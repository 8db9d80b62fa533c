import t from 'tap';
import { fhirJson, minimalPatient, startHarness } from './harness';

t.test('optimistic locking with If-Match', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Patient/p1', headers: fhirJson, payload: minimalPatient({ id: 'p1' }) });
  const ok = await h.request({ method: 'PUT', url: '/fhir/Patient/p1', headers: { ...fhirJson, 'if-match': 'W/"1"' }, payload: minimalPatient({ id: 'p1' }) });
  t.equal(ok.statusCode, 200);
  const stale = await h.request({ method: 'PUT', url: '/fhir/Patient/p1', headers: { ...fhirJson, 'if-match': 'W/"1"' }, payload: minimalPatient({ id: 'p1' }) });
  t.equal(stale.statusCode, 412, 'a stale version is 412');
  t.equal(stale.json().resourceType, 'OperationOutcome');
  const malformed = await h.request({ method: 'PUT', url: '/fhir/Patient/p1', headers: { ...fhirJson, 'if-match': 'yesterday' }, payload: minimalPatient({ id: 'p1' }) });
  t.equal(malformed.statusCode, 400, 'a malformed If-Match is 400');
  const delStale = await h.request({ method: 'DELETE', url: '/fhir/Patient/p1', headers: { 'if-match': 'W/"1"' } });
  t.equal(delStale.statusCode, 412, 'If-Match applies to delete');
  const delOk = await h.request({ method: 'DELETE', url: '/fhir/Patient/p1', headers: { 'if-match': 'W/"2"' } });
  t.equal(delOk.statusCode, 204);
});

t.test('conditional read answers 304 when the client copy is current', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const created = await h.request({ method: 'PUT', url: '/fhir/Patient/p1', headers: fhirJson, payload: minimalPatient({ id: 'p1' }) });
  const lastModified = created.headers['last-modified'] as string;

  const same = await h.request({ method: 'GET', url: '/fhir/Patient/p1', headers: { 'if-none-match': 'W/"1"' } });
  t.equal(same.statusCode, 304);
  t.equal(same.body, '');
  t.equal(same.headers.etag, 'W/"1"');
  const other = await h.request({ method: 'GET', url: '/fhir/Patient/p1', headers: { 'if-none-match': 'W/"0"' } });
  t.equal(other.statusCode, 200);

  const notModified = await h.request({ method: 'GET', url: '/fhir/Patient/p1', headers: { 'if-modified-since': lastModified } });
  t.equal(notModified.statusCode, 304);
  const modified = await h.request({ method: 'GET', url: '/fhir/Patient/p1', headers: { 'if-modified-since': 'Thu, 01 Jan 2015 00:00:00 GMT' } });
  t.equal(modified.statusCode, 200);
  const vread = await h.request({ method: 'GET', url: '/fhir/Patient/p1/_history/1', headers: { 'if-none-match': 'W/"1"' } });
  t.equal(vread.statusCode, 304, 'vread honours If-None-Match too');
});

t.test('Prefer: return=', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const minimal = await h.request({ method: 'POST', url: '/fhir/Patient', headers: { ...fhirJson, prefer: 'return=minimal' }, payload: minimalPatient() });
  t.equal(minimal.statusCode, 201);
  t.equal(minimal.body, '', 'minimal: no body');
  t.ok(minimal.headers.location, 'minimal: still a Location');
  t.equal(minimal.headers.etag, 'W/"1"');

  const outcome = await h.request({ method: 'POST', url: '/fhir/Patient', headers: { ...fhirJson, prefer: 'return=OperationOutcome' }, payload: minimalPatient() });
  t.equal(outcome.statusCode, 201);
  t.equal(outcome.json().resourceType, 'OperationOutcome');
  t.equal(outcome.json().issue[0].severity, 'information');

  const representation = await h.request({ method: 'POST', url: '/fhir/Patient', headers: { ...fhirJson, prefer: 'return=representation' }, payload: minimalPatient() });
  t.equal(representation.json().resourceType, 'Patient');

  const update = await h.request({ method: 'PUT', url: '/fhir/Patient/x', headers: { ...fhirJson, prefer: 'return=minimal' }, payload: minimalPatient({ id: 'x' }) });
  t.equal(update.statusCode, 201);
  t.equal(update.body, '');
});

t.test('formats: _format, Accept, _pretty', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Patient/p1', headers: fhirJson, payload: minimalPatient({ id: 'p1' }) });

  const plainJson = await h.request({ method: 'GET', url: '/fhir/Patient/p1', headers: { accept: 'application/json' } });
  t.match(plainJson.headers['content-type'], /^application\/json/);
  const formatJson = await h.request({ method: 'GET', url: '/fhir/Patient/p1?_format=json' });
  t.equal(formatJson.statusCode, 200);
  t.match(formatJson.headers['content-type'], /^application\/fhir\+json/);
  const anything = await h.request({ method: 'GET', url: '/fhir/Patient/p1', headers: { accept: 'text/html, */*;q=0.8' } });
  t.equal(anything.statusCode, 200);

  const xmlAccept = await h.request({ method: 'GET', url: '/fhir/Patient/p1', headers: { accept: 'application/fhir+xml' } });
  t.equal(xmlAccept.statusCode, 406, 'XML is not acceptable');
  t.equal(xmlAccept.json().resourceType, 'OperationOutcome', 'the 406 is an OperationOutcome in JSON');
  t.equal((await h.request({ method: 'GET', url: '/fhir/Patient/p1?_format=xml' })).statusCode, 406);

  const xmlBody = await h.request({ method: 'POST', url: '/fhir/Patient', headers: { 'content-type': 'application/fhir+xml' }, payload: '<Patient xmlns="http://hl7.org/fhir"/>' });
  t.equal(xmlBody.statusCode, 415, 'an XML body is 415');
  t.equal(xmlBody.json().resourceType, 'OperationOutcome');

  const pretty = await h.request({ method: 'GET', url: '/fhir/Patient/p1?_pretty=true' });
  t.match(pretty.body, /\n {2}"resourceType"/, '_pretty indents');
  const compact = await h.request({ method: 'GET', url: '/fhir/Patient/p1' });
  t.notMatch(compact.body, /\n/);
});
