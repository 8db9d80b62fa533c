/**
 * $export kick-off and parameters (Bulk Data Access IG 2.0.0, export.html),
 * with security off (the operator): each level, each parameter, lenient
 * handling, the limits, the manifest's shape and the files.
 */
import { statSync } from 'node:fs';
import t from 'tap';
import { ASYNC, exportAll, idsOf, load, pathOf, poll, startExportHarness } from './helpers';

const obs = (id: string, patient: string, status = 'final', extra: Record<string, unknown> = {}) => ({
  resourceType: 'Observation',
  id,
  status,
  code: { text: id },
  subject: { reference: `Patient/${patient}` },
  ...extra,
});

const WORLD = [
  { resourceType: 'Patient', id: 'a', gender: 'female' },
  { resourceType: 'Patient', id: 'b', gender: 'male' },
  { resourceType: 'Patient', id: 'c' },
  obs('oa1', 'a'),
  obs('oa2', 'a', 'preliminary'),
  obs('ob1', 'b', 'amended'),
  obs('oc1', 'c'),
  { resourceType: 'Encounter', id: 'ea', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/a' } },
  { resourceType: 'Group', id: 'inner', type: 'person', actual: true, member: [{ entity: { reference: 'Patient/b' } }] },
  { resourceType: 'Group', id: 'g', type: 'person', actual: true, member: [{ entity: { reference: 'Patient/a' } }, { entity: { reference: 'Group/inner' } }] },
  { resourceType: 'Group', id: 'other', type: 'person', actual: true, member: [{ entity: { reference: 'Patient/c' } }] },
];

t.test('system level: every type, a manifest of the spec’s shape, NDJSON files of mode 0600', async (t) => {
  const h = await startExportHarness(t);
  await load(h.storage, WORLD);
  const kickoff = await h.send({ url: '/fhir/$export', headers: ASYNC });
  t.equal(kickoff.statusCode, 202);
  t.match(String(kickoff.headers['content-location']), /^http:\/\/localhost:8080\/fhir\/\$export-status\/[0-9a-f-]{36}$/);
  const { manifest, files, statusUrl } = await exportAll(h.send, { url: '/fhir/$export' });
  t.equal(manifest.requiresAccessToken, true);
  t.equal(manifest.request, 'http://localhost:8080/fhir/$export');
  t.same(manifest.deleted, [], 'deleted is present, empty');
  t.same(manifest.error, [], 'error is present, empty');
  t.ok(Date.parse(manifest.transactionTime) > 0);
  t.same(idsOf(files.Patient), ['a', 'b', 'c']);
  t.same(idsOf(files.Observation), ['oa1', 'oa2', 'ob1', 'oc1']);
  t.same(idsOf(files.Group), ['g', 'inner', 'other']);
  t.same(
    manifest.output.map((o) => [o.type, o.count]).sort(),
    [['Encounter', 1], ['Group', 3], ['Observation', 4], ['Patient', 3]],
  );
  const status = await h.send({ url: pathOf(statusUrl) });
  t.ok(Date.parse(String(status.headers.expires)) > Date.now(), 'Expires says when the job goes');
  const file = await h.send({ url: pathOf(manifest.output[0]?.url ?? '') });
  t.equal(file.statusCode, 200);
  t.equal(file.headers['content-type'], 'application/fhir+ndjson', 'served as FHIR NDJSON');
  t.equal(file.headers['content-length'], undefined, 'streamed (chunked), not read whole into memory');
  t.equal(file.headers['transfer-encoding'], 'chunked');
  const asked = await h.send({ url: pathOf(manifest.output[0]?.url ?? ''), headers: { accept: 'application/fhir+ndjson' } });
  t.equal(asked.statusCode, 200, 'Accept: application/fhir+ndjson, as clients send on file requests');
  t.equal((await h.send({ url: '/fhir/Patient', headers: { accept: 'application/fhir+ndjson' } })).statusCode, 406, 'elsewhere NDJSON is not served');
  const id = statusUrl.split('/').pop() ?? '';
  const mode = statSync(`${h.dir}/${id}/${(manifest.output[0]?.url ?? '').split('/').pop()}`).mode & 0o777;
  t.equal(mode, 0o600, 'the file is readable by the server’s user only');
  t.equal(statSync(`${h.dir}/${id}`).mode & 0o777, 0o700);
});

t.test('Prefer: respond-async is required; the output format, _since and includeAssociatedData are checked', async (t) => {
  const h = await startExportHarness(t, { maxJobsPerClient: 100 });
  const code = async (url: string, headers: Record<string, string> = ASYNC) => (await h.send({ url, headers })).statusCode;
  t.equal(await code('/fhir/$export', { accept: 'application/fhir+json' }), 400, 'without respond-async');
  for (const format of ['application/fhir+ndjson', 'application/ndjson', 'ndjson']) t.equal(await code(`/fhir/$export?_outputFormat=${encodeURIComponent(format)}`), 202, format);
  t.equal(await code('/fhir/$export?_outputFormat=text/csv'), 400, 'another format');
  t.equal(await code('/fhir/$export?_since=yesterday'), 400, '_since not an instant');
  t.equal(await code('/fhir/$export?_since=2020-01-01'), 400, '_since a date, not an instant');
  const provenance = await h.send({ url: '/fhir/$export?includeAssociatedData=RelevantProvenanceResources', headers: ASYNC });
  t.equal(provenance.statusCode, 400);
  t.match(provenance.body, /LatestProvenanceResources/, 'names what is supported');
});

t.test('unknown types and parameters: 400, or with handling=lenient ignored and named in the error file', async (t) => {
  const h = await startExportHarness(t);
  await load(h.storage, WORLD);
  t.equal((await h.send({ url: '/fhir/$export?_type=Observation,Foo', headers: ASYNC })).statusCode, 400);
  t.equal((await h.send({ url: '/fhir/$export?_bogus=1', headers: ASYNC })).statusCode, 400);
  const lenient = { prefer: 'respond-async, handling=lenient' };
  const { manifest, files } = await exportAll(h.send, { url: '/fhir/$export?_type=Observation,Foo&_bogus=1', headers: lenient });
  t.same(idsOf(files.Observation), ['oa1', 'oa2', 'ob1', 'oc1']);
  t.same(Object.keys(files).sort(), ['Observation', 'OperationOutcome']);
  t.equal(manifest.error.length, 1);
  t.equal(manifest.error[0]?.type, 'OperationOutcome');
  const problems = (files.OperationOutcome ?? []).map((o) => JSON.stringify(o));
  t.match(problems.join(' '), /Foo/);
  t.match(problems.join(' '), /_bogus/);
  const typeFilter = await h.send({ url: `/fhir/$export?_typeFilter=${encodeURIComponent('Observation?nonsense=1')}`, headers: lenient });
  t.equal(typeFilter.statusCode, 400, 'an unknown search parameter in _typeFilter is 400 even when lenient: ignoring it would widen the export');
});

t.test('_type, _typeFilter (ORed), _elements and _since', async (t) => {
  const h = await startExportHarness(t);
  await load(h.storage, WORLD);
  const filters = ['Observation?status=final', 'Observation?status=amended'].map((f) => `_typeFilter=${encodeURIComponent(f)}`).join('&');
  const { files } = await exportAll(h.send, { url: `/fhir/$export?_type=Observation,Encounter&${filters}` });
  t.same(idsOf(files.Observation), ['oa1', 'ob1', 'oc1'], 'the two filters are ORed, each resource once');
  t.same(idsOf(files.Encounter), ['ea'], 'a type without a filter is exported whole');
  t.same(Object.keys(files).sort(), ['Encounter', 'Observation'], 'only the types asked for');

  const elements = await exportAll(h.send, { url: '/fhir/$export?_type=Patient&_elements=gender' });
  const a = (elements.files.Patient ?? []).find((p) => p.id === 'a') as Record<string, unknown> | undefined;
  t.equal(a?.gender, 'female');
  t.match(JSON.stringify(a?.meta), /SUBSETTED/, 'marked as a subset');

  const since = new Date().toISOString();
  await new Promise((resolve) => setTimeout(resolve, 5));
  await load(h.storage, [obs('late', 'a')]);
  const changed = await exportAll(h.send, { url: `/fhir/$export?_since=${encodeURIComponent(since)}` });
  t.same(Object.keys(changed.files), ['Observation']);
  t.same(idsOf(changed.files.Observation), ['late'], 'only what changed after _since');
});

t.test('Patient and Group levels: compartments; Group members only, nested Groups included', async (t) => {
  const h = await startExportHarness(t);
  await load(h.storage, WORLD);
  const patientLevel = await exportAll(h.send, { url: '/fhir/Patient/$export?_type=Patient,Observation' });
  t.same(idsOf(patientLevel.files.Observation), ['oa1', 'oa2', 'ob1', 'oc1']);
  t.same(idsOf(patientLevel.files.Patient), ['a', 'b', 'c']);

  const group = await exportAll(h.send, { url: '/fhir/Group/g/$export' });
  t.same(idsOf(group.files.Patient), ['a', 'b'], 'the member and the nested Group’s member');
  t.same(idsOf(group.files.Observation), ['oa1', 'oa2', 'ob1'], 'never the data of another Group’s member');
  t.equal(group.manifest.request, 'http://localhost:8080/fhir/Group/g/$export');
  t.equal((await h.send({ url: '/fhir/Group/none/$export', headers: ASYNC })).statusCode, 404, 'unknown Group');
  t.equal((await h.send({ url: '/fhir/Patient/a/$export', headers: ASYNC })).statusCode, 404, 'not an instance operation of Patient');
});

t.test('patient: POST only, Patient or Group level; outside the Group it is left out and reported', async (t) => {
  const h = await startExportHarness(t);
  await load(h.storage, WORLD);
  const body = (...patients: string[]) => ({
    resourceType: 'Parameters',
    parameter: [...patients.map((p) => ({ name: 'patient', valueReference: { reference: `Patient/${p}` } })), { name: '_type', valueString: 'Observation' }],
  });
  t.equal((await h.send({ url: '/fhir/Patient/$export?patient=Patient/a', headers: ASYNC })).statusCode, 400, 'patient on a GET');
  t.equal((await h.send({ method: 'POST', url: '/fhir/$export', payload: body('a'), headers: ASYNC })).statusCode, 400, 'patient at system level');
  const patientLevel = await exportAll(h.send, { method: 'POST', url: '/fhir/Patient/$export', payload: body('b') });
  t.same(idsOf(patientLevel.files.Observation), ['ob1']);
  const group = await exportAll(h.send, { method: 'POST', url: '/fhir/Group/g/$export', payload: body('a', 'c') });
  t.same(idsOf(group.files.Observation), ['oa1', 'oa2'], 'c is not a member of g');
  t.match(JSON.stringify(group.files.OperationOutcome), /Patient\/c is not a member/);
});

t.test('includeAssociatedData=LatestProvenanceResources: the newest Provenance of each exported resource', async (t) => {
  const h = await startExportHarness(t);
  await load(h.storage, WORLD);
  const provenance = (id: string, recorded: string, target: string) => ({ resourceType: 'Provenance', id, recorded, target: [{ reference: target }], agent: [{ who: { display: 'lab' } }] });
  await load(h.storage, [provenance('old', '2020-01-01T00:00:00Z', 'Observation/oa1')]);
  await new Promise((resolve) => setTimeout(resolve, 3));
  await load(h.storage, [provenance('new', '2021-01-01T00:00:00Z', 'Observation/oa1'), provenance('unrelated', '2021-01-01T00:00:00Z', 'Patient/c')]);
  const { files } = await exportAll(h.send, { url: '/fhir/$export?_type=Observation&_typeFilter=' + encodeURIComponent('Observation?_id=oa1') + '&includeAssociatedData=LatestProvenanceResources' });
  t.same(idsOf(files.Observation), ['oa1']);
  t.same(idsOf(files.Provenance), ['new'], 'the latest only, and only of exported resources');
});

t.test('files split at EXPORT_FILE_MAX_RESOURCES', async (t) => {
  const h = await startExportHarness(t, { fileMaxResources: 2, chunkSize: 3 });
  await load(h.storage, WORLD);
  const { manifest, files } = await exportAll(h.send, { url: '/fhir/$export?_type=Observation' });
  t.same(manifest.output.map((o) => o.count), [2, 2]);
  t.same(manifest.output.map((o) => o.url.split('/').pop()), ['Observation-1.ndjson', 'Observation-2.ndjson']);
  t.same(idsOf(files.Observation), ['oa1', 'oa2', 'ob1', 'oc1'], 'each resource once across pages and files');
});

t.test('Patient level at scale: patients searched in batches, not one search per patient; _since does not narrow the patients', async (t) => {
  const h = await startExportHarness(t, { chunkSize: 1000 });
  const count = 1100;
  const world = Array.from({ length: count }, (_, i) => [{ resourceType: 'Patient', id: `p${i}` }, obs(`o${i}`, `p${i}`)]).flat();
  await load(h.storage, world);
  const search = h.storage.search.bind(h.storage);
  let searches = 0;
  h.storage.search = (ctx, query) => {
    searches++;
    return search(ctx, query);
  };
  const { files } = await exportAll(h.send, { url: '/fhir/Patient/$export?_type=Patient,Observation' });
  t.equal(files.Patient?.length, count);
  t.equal(files.Observation?.length, count);
  t.equal(new Set(idsOf(files.Observation)).size, count, 'each once');
  t.ok(searches <= 12, `${searches} searches for ${count} patients (batches of 500, pages of 1000)`);

  const since = new Date().toISOString();
  await new Promise((resolve) => setTimeout(resolve, 5));
  await load(h.storage, [obs('o7', 'p7', 'amended')]);
  const changed = await exportAll(h.send, { url: `/fhir/Patient/$export?_type=Patient,Observation&_since=${encodeURIComponent(since)}` });
  t.same(idsOf(changed.files.Observation), ['o7'], 'the Observation changed since, of a Patient that did not change');
  t.equal(changed.files.Patient, undefined);
});

t.test('Group level: the members as they stand at kick-off', async (t) => {
  const h = await startExportHarness(t, { chunkSize: 1 });
  await load(h.storage, WORLD);
  const kickoff = await h.send({ url: '/fhir/Group/g/$export?_type=Observation', headers: ASYNC });
  t.equal(kickoff.statusCode, 202);
  // c joins the Group after the kick-off: not a member of this job.
  await load(h.storage, [{ resourceType: 'Group', id: 'g', type: 'person', actual: true, member: [{ entity: { reference: 'Patient/a' } }, { entity: { reference: 'Patient/c' } }] }]);
  const done = await poll(h.send, String(kickoff.headers['content-location']));
  const manifest = JSON.parse(done.body) as { output: Array<{ url: string }> };
  const text = (await Promise.all(manifest.output.map(async (o) => (await h.send({ url: pathOf(o.url) })).body))).join('');
  t.match(text, /"id":"ob1"/, 'b, a member at kick-off (through the nested Group), is exported');
  t.notMatch(text, /"id":"oc1"/, 'c, added later, is not');
});
