import t from 'tap';
import { fhirJson, startHarness } from '../http/harness';
import { bundleOf, countOf, patient, postBundle, postEntry, putEntry, requestEntry } from './helpers';

t.test('a batch runs each entry on its own: failures are answered in their entry, the rest is written', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Patient/a', headers: fhirJson, payload: patient({ id: 'a' }) });
  const response = await postBundle(
    h,
    bundleOf('batch', [
      postEntry(patient()),
      postEntry(patient({ birthDate: 'never' })),
      requestEntry('GET', 'Patient/unknown'),
      putEntry('Patient/a', patient({ id: 'a' }), { ifMatch: 'W/"9"' }),
      { request: { method: 'POST' } },
      requestEntry('GET', 'Patient/a'),
    ]),
  );
  t.equal(response.statusCode, 200);
  const body = response.json();
  t.equal(body.type, 'batch-response');
  const statuses = body.entry.map((e: { response: { status: string } }) => e.response.status.slice(0, 3));
  t.same(statuses, ['201', '422', '404', '412', '400', '200'], 'one response per entry, in order');
  t.equal(body.entry[1].response.outcome.resourceType, 'OperationOutcome', 'a failure carries its outcome');
  t.ok(body.entry[1].response.outcome.issue.some((i: { expression?: string[] }) => i.expression?.includes('Bundle.entry[1].resource.birthDate')));
  t.same(body.entry[4].response.outcome.issue[0].expression, ['Bundle.entry[4].request.url']);
  t.equal(await countOf(h, 'Patient'), 2, 'the valid create was kept');
});

t.test('a batch does not rewrite urn:uuid references (batch entries are independent)', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const response = await postBundle(
    h,
    bundleOf('batch', [postEntry(patient(), 'urn:uuid:p'), postEntry({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:p' } })]),
  );
  t.equal(response.json().entry[1].resource.subject.reference, 'urn:uuid:p');
});
