import t from 'tap';
import { fhirJson, startHarness } from '../http/harness';
import { bundleOf, countOf, patient, postBundle, postEntry, putEntry, requestEntry } from './helpers';

const mrn = (value: string) => ({ identifier: [{ system: 'urn:mrn', value }] });

t.test('ifNoneExist: a match is reused (200) and references to the entry point at it', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Patient/known', headers: fhirJson, payload: patient({ id: 'known', ...mrn('1') }) });
  const bundle = bundleOf('transaction', [
    postEntry(patient(mrn('1')), 'urn:uuid:p1', { ifNoneExist: 'identifier=urn:mrn|1' }),
    postEntry({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:p1' } }, 'urn:uuid:o1'),
  ]);
  const response = await postBundle(h, bundle);
  t.equal(response.statusCode, 200);
  const [found, created] = response.json().entry;
  t.equal(found.response.status, '200 OK', 'the conditional create found the existing patient');
  t.equal(found.resource.id, 'known');
  t.equal(created.resource.subject.reference, 'Patient/known', 'the reference points at the existing patient');
  t.equal(await countOf(h, 'Patient'), 1, 'nothing was created twice');

  await h.request({ method: 'PUT', url: '/fhir/Patient/twin', headers: fhirJson, payload: patient({ id: 'twin', ...mrn('1') }) });
  const many = await postBundle(h, bundle);
  t.equal(many.statusCode, 412, 'two matches: the transaction fails');
  t.match(many.json().issue[0].diagnostics, /Bundle\.entry\[0\]/);
  t.equal(await countOf(h, 'Observation'), 1, 'and writes nothing');
});

t.test('ifMatch: a stale version fails the whole transaction with 412', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Patient/a', headers: fhirJson, payload: patient({ id: 'a' }) });
  await h.request({ method: 'PUT', url: '/fhir/Patient/a', headers: fhirJson, payload: patient({ id: 'a', gender: 'male' }) });
  const stale = await postBundle(h, bundleOf('transaction', [postEntry(patient()), putEntry('Patient/a', patient({ id: 'a' }), { ifMatch: 'W/"1"' })]));
  t.equal(stale.statusCode, 412);
  t.same(stale.json().issue[0].expression, ['Bundle.entry[1]'], 'the failing entry is named');
  t.equal(await countOf(h, 'Patient'), 1, 'the POST before it was rolled back');
  const current = await postBundle(h, bundleOf('transaction', [putEntry('Patient/a', patient({ id: 'a' }), { ifMatch: 'W/"2"' })]));
  t.equal(current.statusCode, 200);
  t.equal(current.json().entry[0].response.etag, 'W/"3"');
});

t.test('ifNoneMatch and ifModifiedSince on a read entry answer 304 without the resource', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Patient/a', headers: fhirJson, payload: patient({ id: 'a' }) });
  const response = await postBundle(
    h,
    bundleOf('batch', [
      requestEntry('GET', 'Patient/a', { ifNoneMatch: 'W/"1"' }),
      requestEntry('GET', 'Patient/a', { ifNoneMatch: 'W/"7"' }),
      requestEntry('GET', 'Patient/a', { ifModifiedSince: new Date(Date.now() + 60_000).toUTCString() }),
    ]),
  );
  const [same, other, since] = response.json().entry;
  t.equal(same.response.status, '304 Not Modified');
  t.notOk(same.resource);
  t.equal(same.response.etag, 'W/"1"');
  t.equal(other.response.status, '200 OK');
  t.equal(other.resource.id, 'a');
  t.equal(since.response.status, '304 Not Modified');
});

t.test('conditional update and conditional delete in entries', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Patient/gone', headers: fhirJson, payload: patient({ id: 'gone', ...mrn('del') }) });
  const answer = await postBundle(
    h,
    bundleOf('transaction', [
      { fullUrl: 'urn:uuid:upd', ...putEntry('Patient?identifier=urn:mrn|new', patient(mrn('new'))) },
      requestEntry('DELETE', 'Patient?identifier=urn:mrn|del'),
      postEntry({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:upd' } }),
    ]),
  );
  t.equal(answer.statusCode, 200);
  const [update, del, obs] = answer.json().entry;
  t.equal(update.response.status, '201 Created', 'no match: the conditional update created');
  t.equal(del.response.status, '204 No Content');
  t.equal((await h.request({ method: 'GET', url: '/fhir/Patient/gone' })).statusCode, 410, 'the conditional delete deleted the match');
  t.equal(obs.resource.subject.reference, `Patient/${update.resource.id}`, 'a reference to a conditional update entry gets the id it was written with');

  const again = await postBundle(h, bundleOf('transaction', [putEntry('Patient?identifier=urn:mrn|new', patient({ ...mrn('new'), gender: 'male' }))]));
  t.equal(again.json().entry[0].response.status, '200 OK', 'one match: updated');
  t.equal(again.json().entry[0].resource.id, update.resource.id);
});

t.test('conditional references are resolved by search in the transaction: one match, none and many fail', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const npi = (value: string) => ({ resourceType: 'Practitioner', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value }] });
  await h.request({ method: 'POST', url: '/fhir/Practitioner', headers: fhirJson, payload: { ...npi('160'), id: undefined } });
  const practitionerId = (await h.request({ method: 'GET', url: '/fhir/Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|160' })).json().entry[0].resource.id;
  const withReference = (reference: string) =>
    bundleOf('transaction', [postEntry(patient({ generalPractitioner: [{ reference }] }))]);

  const one = await postBundle(h, withReference('Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|160'));
  t.equal(one.statusCode, 200);
  t.equal(one.json().entry[0].resource.generalPractitioner[0].reference, `Practitioner/${practitionerId}`);

  const none = await postBundle(h, withReference('Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|999'));
  t.equal(none.statusCode, 412, 'no match: 412');
  t.match(none.json().issue[0].diagnostics, /Bundle\.entry\[0\].*matches no resource/);

  await h.request({ method: 'POST', url: '/fhir/Practitioner', headers: fhirJson, payload: npi('160') });
  const many = await postBundle(h, withReference('Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|160'));
  t.equal(many.statusCode, 412, 'two matches: 412');
  t.match(many.json().issue[0].diagnostics, /more than one/);

  const unknown = await postBundle(h, withReference('Practitioner?shoe-size=42'));
  t.equal(unknown.statusCode, 400, 'an unknown parameter is 400, never ignored');
  t.equal(await countOf(h, 'Patient'), 1, 'only the first transaction wrote a patient');
});

t.test('a conditional reference in a POST entry finds the resource a PUT entry of the same transaction writes', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const observation = (reference: string) => postEntry({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference } });
  const response = await postBundle(
    h,
    bundleOf('transaction', [
      observation('Patient?identifier=urn:mrn|put'),
      observation('Patient?identifier=urn:mrn|conditional-put'),
      putEntry('Patient/put-1', patient({ id: 'put-1', ...mrn('put') })),
      putEntry('Patient?identifier=urn:mrn|conditional-put', patient(mrn('conditional-put'))),
    ]),
  );
  t.equal(response.statusCode, 200, 'the references resolve although POSTs are processed before PUTs');
  const [byPut, byConditionalPut, , conditionalPut] = response.json().entry;
  t.equal(byPut.resource.subject.reference, 'Patient/put-1');
  t.equal(byConditionalPut.resource.subject.reference, `Patient/${conditionalPut.resource.id}`);
  const stored = await h.request({ method: 'GET', url: `/fhir/Observation?subject=Patient/put-1` });
  t.equal(stored.json().total, 1, 'the stored Observation points at the new patient');
});

t.test('a conditional DELETE whose criteria name the fullUrl of another entry gets that entry’s id', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Patient/keep', headers: fhirJson, payload: patient({ id: 'keep' }) });
  const obs = { resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/keep' } };
  await h.request({ method: 'PUT', url: '/fhir/Observation/o1', headers: fhirJson, payload: obs });
  const fullUrl = 'urn:uuid:6b1f0c2e-8d4a-4f7e-9b3c-0a1d2e3f4a5b';
  const response = await postBundle(
    h,
    bundleOf('transaction', [
      { ...putEntry('Patient/keep', patient({ id: 'keep', gender: 'male' })), fullUrl },
      requestEntry('DELETE', `Observation?subject=${encodeURIComponent(fullUrl)}`),
    ]),
  );
  t.equal(response.statusCode, 200, JSON.stringify(response.json().issue));
  t.same(response.json().entry.map((e: { response: { status: string } }) => e.response.status), ['200 OK', '204 No Content']);
  t.equal((await h.request({ method: 'GET', url: '/fhir/Observation/o1' })).statusCode, 410, 'the Observation of Patient/keep was deleted');
});

t.test('a conditional reference finds a resource written by a later entry that holds conditional references itself', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Practitioner/gp', headers: fhirJson, payload: { resourceType: 'Practitioner', id: 'gp', ...mrn('gp') } });
  const response = await postBundle(
    h,
    bundleOf('transaction', [
      postEntry({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient?identifier=urn:mrn|chain' } }),
      postEntry(patient({ ...mrn('chain'), generalPractitioner: [{ reference: 'Practitioner?identifier=urn:mrn|gp' }] })),
    ]),
  );
  t.equal(response.statusCode, 200, JSON.stringify(response.json().issue));
  const [obs, created] = response.json().entry;
  t.equal(created.resource.generalPractitioner[0].reference, 'Practitioner/gp');
  t.equal(obs.resource.subject.reference, `Patient/${created.resource.id}`, 'resolved once the patient was written');
  t.equal(obs.resource.meta.versionId, '1', 'written once');

  const missing = await postBundle(
    h,
    bundleOf('transaction', [
      postEntry({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient?identifier=urn:mrn|nobody' } }),
      postEntry(patient({ generalPractitioner: [{ reference: 'Practitioner?identifier=urn:mrn|gp' }] })),
    ]),
  );
  t.equal(missing.statusCode, 412, 'a target no entry writes still fails the transaction');
  t.match(missing.json().issue[0].diagnostics, /Bundle\.entry\[0\].*matches no resource/);
  t.equal(await countOf(h, 'Patient'), 1, 'and writes nothing');
});
