/**
 * Referential integrity on write (src/interactions/reference-integrity.ts):
 * a literal local reference must name a current resource the caller may see,
 * on REST create, update and patch, and in batch and transaction entries.
 */
import t from 'tap';
import { bundleOf, postBundle, postEntry, putEntry } from '../bundle/helpers';
import { startSecureWorld } from '../bundle/secure-world';
import { BASE_URL, fhirJson, startHarness, type Harness, type HarnessOptions } from './harness';

const observation = (extra: Record<string, unknown> = {}) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, ...extra });
const subject = (reference: string) => ({ subject: { reference } });

async function harness(t: { teardown(fn: () => unknown): void }, options: HarnessOptions = {}): Promise<Harness> {
  const h = await startHarness(options);
  t.teardown(() => h.close());
  return h;
}

const post = (h: Harness, type: string, body: unknown) => h.request({ method: 'POST', url: `/fhir/${type}`, headers: fhirJson, payload: JSON.stringify(body) });
const put = (h: Harness, type: string, id: string, body: unknown) =>
  h.request({ method: 'PUT', url: `/fhir/${type}/${id}`, headers: fhirJson, payload: JSON.stringify({ ...(body as object), id }) });

const issuesOf = (response: { json(): { issue: Array<{ diagnostics: string; expression?: string[] }> } }) =>
  response.json().issue.map((issue) => ({ diagnostics: issue.diagnostics, expression: issue.expression }));

t.test('create, update and patch naming a missing target: 422, one issue per bad reference, with its path', async (t) => {
  const h = await harness(t);
  t.equal((await put(h, 'Patient', 'p', { resourceType: 'Patient' })).statusCode, 201);
  const created = await post(h, 'Observation', observation({ ...subject('Patient/nobody'), performer: [{ reference: 'Practitioner/p1' }, { reference: 'Patient/p' }] }));
  t.equal(created.statusCode, 422);
  t.equal(created.json().resourceType, 'OperationOutcome');
  t.same(issuesOf(created), [
    { diagnostics: 'The reference Patient/nobody names no resource on this server', expression: ['Observation.subject'] },
    { diagnostics: 'The reference Practitioner/p1 names no resource on this server', expression: ['Observation.performer[0]'] },
  ]);
  const second = await post(h, 'Observation', observation({ ...subject('Patient/p'), performer: [{ reference: 'Patient/p' }, { reference: 'Practitioner/p1' }] }));
  t.same(issuesOf(second).map((i) => i.expression), [['Observation.performer[1]']], 'the index says which of several references failed');
  const absolute = await post(h, 'Observation', observation(subject(`${BASE_URL}/Patient/nobody`)));
  t.equal(absolute.statusCode, 422, 'an absolute URL under the server base is local');
  const updated = await put(h, 'Observation', 'o1', observation(subject('Patient/nobody')));
  t.equal(updated.statusCode, 422, 'update');
  t.equal((await put(h, 'Observation', 'o1', observation(subject('Patient/p')))).statusCode, 201, 'an existing target is fine');
  const patched = await h.request({
    method: 'PATCH',
    url: '/fhir/Observation/o1',
    headers: { 'content-type': 'application/json-patch+json' },
    payload: JSON.stringify([{ op: 'replace', path: '/subject/reference', value: 'Patient/nobody' }]),
  });
  t.equal(patched.statusCode, 422, 'patch');
  t.same(issuesOf(patched)[0]!.expression, ['Observation.subject']);
  const stored = await h.request({ method: 'GET', url: '/fhir/Observation/o1' });
  t.equal(stored.json().meta.versionId, '1', 'nothing stored by the refused writes');
  t.equal((await h.request({ method: 'GET', url: '/fhir/Observation?_summary=count' })).json().total, 1);
});

t.test('a deleted target is missing; deleting a referenced resource stays allowed', async (t) => {
  const h = await harness(t);
  t.equal((await put(h, 'Patient', 'p', { resourceType: 'Patient' })).statusCode, 201);
  t.equal((await put(h, 'Observation', 'o1', observation(subject('Patient/p')))).statusCode, 201);
  t.equal((await h.request({ method: 'DELETE', url: '/fhir/Patient/p' })).statusCode, 204, 'a referenced resource may be deleted');
  const response = await post(h, 'Observation', observation(subject('Patient/p')));
  t.equal(response.statusCode, 422);
  t.same(issuesOf(response), [{ diagnostics: 'The reference Patient/p names no resource on this server', expression: ['Observation.subject'] }]);
});

t.test('references inside contained resources are checked; #id and # are left alone', async (t) => {
  const h = await harness(t);
  t.equal((await put(h, 'Practitioner', 'pr1', { resourceType: 'Practitioner' })).statusCode, 201);
  const containing = (reference: string) =>
    observation({
      contained: [
        { resourceType: 'Provenance', id: 'prov', target: [{ reference: '#' }], recorded: '2024-01-01T00:00:00Z', agent: [{ who: { reference: 'Practitioner/pr1' } }] },
        { resourceType: 'Organization', id: 'org', name: 'Clinic' },
        { resourceType: 'Patient', id: 'c1', generalPractitioner: [{ reference: '#org' }, { reference }] },
      ],
      ...subject('#c1'),
    });
  t.equal((await post(h, 'Observation', containing('Practitioner/pr1'))).statusCode, 201, 'resolving Type/id references, #id and # inside contained');
  const dangling = await post(h, 'Observation', containing('Practitioner/nobody'));
  t.equal(dangling.statusCode, 422, 'a contained resource naming a missing target');
  t.same(issuesOf(dangling), [{ diagnostics: 'The reference Practitioner/nobody names no resource on this server', expression: ['Observation.contained[2].generalPractitioner[1]'] }]);
});

t.test('references left alone: contained, canonical, other servers, identifier-only, itself', async (t) => {
  const h = await harness(t);
  const contained = observation({ contained: [{ resourceType: 'Patient', id: 'c1' }], ...subject('#c1') });
  t.equal((await post(h, 'Observation', contained)).statusCode, 201, '#contained');
  t.equal((await post(h, 'Observation', observation(subject('http://other.example/fhir/Patient/nobody')))).statusCode, 201, 'another server');
  t.equal((await post(h, 'Observation', observation({ subject: { identifier: { system: 'urn:x', value: '1' } } }))).statusCode, 201, 'identifier only');
  const questionnaireResponse = { resourceType: 'QuestionnaireResponse', status: 'completed', questionnaire: 'http://example.org/Questionnaire/nobody' };
  t.equal((await post(h, 'QuestionnaireResponse', questionnaireResponse)).statusCode, 201, 'a canonical');
  const selfLinked = { resourceType: 'Patient', link: [{ other: { reference: 'Patient/me' }, type: 'seealso' }] };
  t.equal((await put(h, 'Patient', 'me', selfLinked)).statusCode, 201, 'a resource naming itself');
});

t.test('a transaction may name what it creates; it fails whole on a dangling reference', async (t) => {
  const h = await harness(t);
  const ok = await postBundle(
    h,
    bundleOf('transaction', [
      // The Observation comes first and names a Patient created by a later entry, and one PUT by id.
      postEntry(observation({ ...subject('urn:uuid:6a1c0c1e-0000-4000-8000-000000000001'), performer: [{ reference: 'Practitioner/pr1' }] })),
      postEntry({ resourceType: 'Patient' }, 'urn:uuid:6a1c0c1e-0000-4000-8000-000000000001'),
      putEntry('Practitioner/pr1', { resourceType: 'Practitioner', id: 'pr1' }),
    ]),
  );
  t.equal(ok.statusCode, 200, JSON.stringify(ok.json().issue ?? ''));
  const failed = await postBundle(h, bundleOf('transaction', [postEntry({ resourceType: 'Patient' }), postEntry(observation(subject('Patient/nobody')))]));
  t.equal(failed.statusCode, 422);
  t.match(failed.json().issue[0].diagnostics, /Patient\/nobody names no resource/);
  t.equal((await h.request({ method: 'GET', url: '/fhir/Patient?_summary=count' })).json().total, 1, 'the failed transaction wrote nothing');
});

t.test('a batch entry with a dangling reference fails alone (batch entries are independent)', async (t) => {
  const h = await harness(t);
  const response = await postBundle(
    h,
    bundleOf('batch', [putEntry('Patient/b1', { resourceType: 'Patient', id: 'b1' }), postEntry(observation(subject('Patient/nobody'))), postEntry(observation(subject('Patient/b1')))]),
  );
  t.equal(response.statusCode, 200);
  const entries = response.json().entry as Array<{ response: { status: string; outcome?: { issue: Array<{ expression?: string[] }> } } }>;
  t.same(entries.map((e) => e.response.status.split(' ')[0]), ['201', '422', '201']);
  t.same(entries[1]!.response.outcome?.issue[0]?.expression, ['Bundle.entry[1].resource.subject'], 'the path within the bundle');
});

t.test('REFERENTIAL_INTEGRITY=off stores a dangling reference; exempt types are not checked', async (t) => {
  const off = await harness(t, { referentialIntegrity: { mode: 'off', exemptTypes: [] } });
  t.equal((await post(off, 'Observation', observation(subject('Patient/nobody')))).statusCode, 201, 'off');
  const exempt = await harness(t, { referentialIntegrity: { mode: 'strict', exemptTypes: ['Practitioner'] } });
  t.equal((await post(exempt, 'Observation', observation({ performer: [{ reference: 'Practitioner/nobody' }] }))).statusCode, 201, 'exempt type');
  const other = await post(exempt, 'Observation', observation({ ...subject('Patient/nobody'), performer: [{ reference: 'Practitioner/nobody' }] }));
  t.equal(other.statusCode, 422, 'other types still checked');
  t.same(issuesOf(other).map((i) => i.expression), [['Observation.subject']]);
});

t.test('a hidden target of any type reads as a missing one', async (t) => {
  const { h } = await startSecureWorld(t);
  const other = await h.token({ scope: 'user/*.cruds', fhirUser: 'Practitioner/other' });
  const gp = await h.token({ scope: 'user/*.cruds', fhirUser: 'Practitioner/gp' });
  const naming = (encounter: string) => observation({ encounter: { reference: encounter } });
  const send = (token: string, body: unknown) => h.as(token, { method: 'POST', url: '/fhir/Observation', payload: body });
  const hidden = await send(other, naming('Encounter/e1'));
  const missing = await send(other, naming('Encounter/e9'));
  t.equal(hidden.statusCode, 422, 'Encounter e1 (patient p, treated by the GP) is hidden from the other practitioner');
  t.equal(missing.statusCode, 422);
  const wording = (r: typeof hidden) => r.json().issue.map((i: { diagnostics: string; expression: string[] }) => [i.diagnostics.replace('e1', 'e9'), i.expression]);
  t.same(wording(hidden), wording(missing), 'same status, same wording');
  t.same(wording(hidden), [['The reference Encounter/e9 names no resource on this server', ['Observation.encounter']]]);
  t.equal((await send(gp, naming('Encounter/e1'))).statusCode, 201, 'the GP sees it');
});
