import t from 'tap';
import { BASE_URL, fhirJson, startHarness } from '../http/harness';
import { bundleOf, countOf, patient, postBundle, postEntry, putEntry, requestEntry } from './helpers';

t.test('urn:uuid and urn:oid fullUrls are replaced everywhere by the ids the server assigned', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const patientUrl = 'urn:uuid:4a7e5cd2-6b1f-4d8e-9f6a-2f1c0b8d9e11';
  const orgUrl = 'urn:oid:1.2.3.4.5';
  const response = await postBundle(
    h,
    bundleOf('transaction', [
      postEntry(
        {
          resourceType: 'Observation',
          status: 'final',
          code: { text: 'weight' },
          subject: { reference: patientUrl },
          performer: [{ reference: '#org' }],
          contained: [{ resourceType: 'Organization', id: 'org', name: 'Lab', partOf: { reference: orgUrl } }],
          extension: [{ url: 'http://example.org/source', valueReference: { reference: orgUrl } }],
        },
        'urn:uuid:0b7f4d3a-1111-4c2e-8a55-0123456789ab',
      ),
      postEntry(patient({ managingOrganization: { reference: orgUrl } }), patientUrl),
      postEntry({ resourceType: 'Organization', name: 'Clinic' }, orgUrl),
    ]),
  );
  t.equal(response.statusCode, 200);
  const body = response.json();
  t.equal(body.type, 'transaction-response');
  t.equal(body.entry.length, 3, 'one response entry per request entry');
  const [observationId, patientId, orgId] = body.entry.map((e: { response: { location: string } }) => e.response.location.split('/')[5]);
  for (const entry of body.entry) {
    t.equal(entry.response.status, '201 Created');
    t.match(entry.response.location, new RegExp(`^${BASE_URL}/[A-Za-z]+/[^/]+/_history/1$`), 'location names the version');
    t.equal(entry.response.etag, 'W/"1"');
    t.ok(Date.parse(entry.response.lastModified), 'lastModified is an instant');
  }
  const observation = (await h.request({ method: 'GET', url: `/fhir/Observation/${observationId}` })).json();
  t.equal(observation.subject.reference, `Patient/${patientId}`, 'a reference to a urn:uuid fullUrl');
  t.equal(observation.contained[0].partOf.reference, `Organization/${orgId}`, 'inside a contained resource');
  t.equal(observation.extension[0].valueReference.reference, `Organization/${orgId}`, 'inside an extension');
  t.equal(observation.performer[0].reference, '#org', 'local references are left alone');
  const stored = (await h.request({ method: 'GET', url: `/fhir/Patient/${patientId}` })).json();
  t.equal(stored.managingOrganization.reference, `Organization/${orgId}`, 'a urn:oid fullUrl');
});

t.test('entries run DELETE, POST, PUT/PATCH, GET whatever their order in the bundle; responses keep the bundle order', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Patient/old', headers: fhirJson, payload: patient({ id: 'old' }) });
  await h.request({ method: 'PUT', url: '/fhir/Patient/kept', headers: fhirJson, payload: patient({ id: 'kept' }) });
  const patch = Buffer.from(JSON.stringify([{ op: 'replace', path: '/gender', value: 'male' }])).toString('base64');
  const response = await postBundle(
    h,
    bundleOf('transaction', [
      requestEntry('GET', 'Patient?_summary=count'),
      { resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: patch }, request: { method: 'PATCH', url: 'Patient/kept' } },
      putEntry('Patient/new', patient({ id: 'new' })),
      postEntry(patient({ gender: 'other' })),
      requestEntry('DELETE', 'Patient/old'),
      requestEntry('GET', 'Patient/kept'),
    ]),
  );
  t.equal(response.statusCode, 200);
  const entries = response.json().entry;
  t.equal(entries[0].resource.total, 3, 'the search ran after every write (old deleted, new and the POST added)');
  t.equal(entries[1].response.status, '200 OK', 'patch');
  t.equal(entries[2].response.status, '201 Created', 'put creating');
  t.equal(entries[3].response.status, '201 Created', 'post');
  t.equal(entries[4].response.status, '204 No Content', 'delete');
  t.equal(entries[5].resource.gender, 'male', 'the read ran after the patch');
  t.equal(entries[5].response.etag, 'W/"2"');
});

t.test('Prefer: return=minimal leaves resources out; return=OperationOutcome puts an outcome in each written entry', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const bundle = bundleOf('transaction', [postEntry(patient())]);
  const representation = (await postBundle(h, bundle)).json().entry[0];
  t.equal(representation.resource.resourceType, 'Patient', 'representation by default, as for a single write');
  t.ok(representation.fullUrl);
  const minimal = (await postBundle(h, bundle, { prefer: 'return=minimal' })).json().entry[0];
  t.notOk(minimal.resource, 'minimal: no resource');
  t.ok(minimal.response.location, 'but the location');
  const outcome = (await postBundle(h, bundle, { prefer: 'return=OperationOutcome' })).json().entry[0];
  t.equal(outcome.response.outcome.resourceType, 'OperationOutcome');
});

t.test('an empty transaction is answered with an empty response bundle', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const response = await postBundle(h, { resourceType: 'Bundle', type: 'transaction' });
  t.equal(response.statusCode, 200);
  t.same(response.json().entry, []);
  t.equal(await countOf(h, 'Patient'), 0);
});
