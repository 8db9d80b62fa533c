import t from 'tap';
import { BASE_URL, fhirJson, minimalPatient, startHarness } from './harness';

t.test('create, read, vread, update, delete and history of one resource', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);

  const created = await h.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: minimalPatient({ id: 'client-chosen' }) });
  t.equal(created.statusCode, 201, 'create answers 201');
  const patient = created.json();
  t.not(patient.id, 'client-chosen', 'the server assigns the id on create');
  t.match(patient.id, /^[A-Za-z0-9\-.]{1,64}$/);
  t.equal(patient.meta.versionId, '1');
  t.equal(created.headers.location, `${BASE_URL}/Patient/${patient.id}/_history/1`, 'Location names the new version');
  t.equal(created.headers.etag, 'W/"1"');
  t.equal(created.headers['last-modified'], new Date(patient.meta.lastUpdated).toUTCString());
  t.match(created.headers['content-type'], /^application\/fhir\+json/);

  const read = await h.request({ method: 'GET', url: `/fhir/Patient/${patient.id}` });
  t.equal(read.statusCode, 200);
  t.same(read.json(), patient, 'read returns what create returned');
  t.equal(read.headers.etag, 'W/"1"');

  const updated = await h.request({ method: 'PUT', url: `/fhir/Patient/${patient.id}`, headers: fhirJson, payload: { ...patient, gender: 'male' } });
  t.equal(updated.statusCode, 200, 'update of an existing resource answers 200');
  t.equal(updated.json().meta.versionId, '2', 'versions are consecutive');
  t.equal(updated.headers.location, `${BASE_URL}/Patient/${patient.id}/_history/2`);

  const v1 = await h.request({ method: 'GET', url: `/fhir/Patient/${patient.id}/_history/1` });
  t.equal(v1.statusCode, 200);
  t.equal(v1.json().gender, 'female', 'vread returns the old version');
  t.equal(v1.headers.etag, 'W/"1"');
  t.equal((await h.request({ method: 'GET', url: `/fhir/Patient/${patient.id}/_history/9` })).statusCode, 404, 'unknown version is 404');
  t.equal((await h.request({ method: 'GET', url: `/fhir/Patient/${patient.id}/_history/x` })).statusCode, 404, 'non-numeric version is 404');

  const deleted = await h.request({ method: 'DELETE', url: `/fhir/Patient/${patient.id}` });
  t.equal(deleted.statusCode, 204, 'delete answers 204');
  t.equal(deleted.headers.etag, 'W/"3"', 'the tombstone is version 3');
  const gone = await h.request({ method: 'GET', url: `/fhir/Patient/${patient.id}` });
  t.equal(gone.statusCode, 410, 'a deleted resource is 410 Gone');
  t.equal(gone.json().resourceType, 'OperationOutcome');
  t.equal((await h.request({ method: 'DELETE', url: `/fhir/Patient/${patient.id}` })).statusCode, 204, 'deleting again is idempotent');

  const history = await h.request({ method: 'GET', url: `/fhir/Patient/${patient.id}/_history` });
  t.equal(history.statusCode, 200, 'the history of a deleted resource is still readable');
  const bundle = history.json();
  t.equal(bundle.type, 'history');
  t.equal(bundle.total, 3);
  t.same(bundle.entry.map((e: { response: { etag: string } }) => e.response.etag), ['W/"3"', 'W/"2"', 'W/"1"'], 'newest first');
  t.same(bundle.entry.map((e: { request: { method: string } }) => e.request.method), ['DELETE', 'PUT', 'POST']);
  t.notOk(bundle.entry[0].resource, 'a tombstone has no resource');
  t.equal(bundle.entry[1].resource.gender, 'male');

  const recreated = await h.request({ method: 'PUT', url: `/fhir/Patient/${patient.id}`, headers: fhirJson, payload: { ...patient, meta: undefined } });
  t.equal(recreated.statusCode, 201, 'an update after delete recreates the resource');
  t.equal(recreated.json().meta.versionId, '4', 'numbering continues after the tombstone');
});

t.test('update with a client id creates the resource (create-on-update)', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const res = await h.request({ method: 'PUT', url: '/fhir/Patient/abc-1', headers: fhirJson, payload: minimalPatient({ id: 'abc-1' }) });
  t.equal(res.statusCode, 201);
  t.equal(res.json().id, 'abc-1');
  t.equal(res.json().meta.versionId, '1');
  t.equal(res.headers.location, `${BASE_URL}/Patient/abc-1/_history/1`);
});

t.test('server-owned meta is overwritten, the rest of meta is kept', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const res = await h.request({
    method: 'POST', url: '/fhir/Patient', headers: fhirJson,
    payload: minimalPatient({ meta: { versionId: '77', lastUpdated: '1999-01-01T00:00:00Z', tag: [{ system: 'urn:t', code: 'x' }] } }),
  });
  const meta = res.json().meta;
  t.equal(meta.versionId, '1');
  t.not(meta.lastUpdated, '1999-01-01T00:00:00Z');
  t.same(meta.tag, [{ system: 'urn:t', code: 'x' }]);
});

t.test('a rejected write consumes no version', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Patient/p1', headers: fhirJson, payload: minimalPatient({ id: 'p1' }) });
  const invalid = await h.request({ method: 'PUT', url: '/fhir/Patient/p1', headers: fhirJson, payload: minimalPatient({ id: 'p1', birthDate: 'yesterday' }) });
  t.equal(invalid.statusCode, 422);
  const stale = await h.request({ method: 'PUT', url: '/fhir/Patient/p1', headers: { ...fhirJson, 'if-match': 'W/"5"' }, payload: minimalPatient({ id: 'p1' }) });
  t.equal(stale.statusCode, 412);
  const good = await h.request({ method: 'PUT', url: '/fhir/Patient/p1', headers: fhirJson, payload: minimalPatient({ id: 'p1', gender: 'other' }) });
  t.equal(good.json().meta.versionId, '2', 'the next good write is version 2');
});

t.test('JSON Patch', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Patient/p1', headers: fhirJson, payload: minimalPatient({ id: 'p1' }) });
  const patchJson = { 'content-type': 'application/json-patch+json' };

  const ok = await h.request({ method: 'PATCH', url: '/fhir/Patient/p1', headers: patchJson, payload: [{ op: 'replace', path: '/gender', value: 'male' }] });
  t.equal(ok.statusCode, 200);
  t.equal(ok.json().gender, 'male');
  t.equal(ok.json().meta.versionId, '2');

  const invalidResult = await h.request({ method: 'PATCH', url: '/fhir/Patient/p1', headers: patchJson, payload: [{ op: 'replace', path: '/birthDate', value: 'not a date' }] });
  t.equal(invalidResult.statusCode, 422, 'the patched result is validated');
  t.match(JSON.stringify(invalidResult.json()), /Patient\.birthDate/);

  const failedTest = await h.request({ method: 'PATCH', url: '/fhir/Patient/p1', headers: patchJson, payload: [{ op: 'test', path: '/gender', value: 'female' }] });
  t.equal(failedTest.statusCode, 422, 'a failed test operation is 422');

  const malformed = await h.request({ method: 'PATCH', url: '/fhir/Patient/p1', headers: patchJson, payload: [{ op: 'jump', path: '/gender' }] });
  t.equal(malformed.statusCode, 400, 'an unknown operation is 400');
  const notArray = await h.request({ method: 'PATCH', url: '/fhir/Patient/p1', headers: patchJson, payload: { op: 'remove' } });
  t.equal(notArray.statusCode, 400);
  const proto = await h.request({ method: 'PATCH', url: '/fhir/Patient/p1', headers: patchJson, payload: [{ op: 'add', path: '/__proto__/polluted', value: 1 }] });
  t.equal(proto.statusCode, 400, 'prototype paths are refused');
  t.equal(({} as Record<string, unknown>).polluted, undefined);

  const changeId = await h.request({ method: 'PATCH', url: '/fhir/Patient/p1', headers: patchJson, payload: [{ op: 'replace', path: '/id', value: 'p2' }] });
  t.equal(changeId.statusCode, 422, 'a patch cannot change the id');
  const wrongType = await h.request({ method: 'PATCH', url: '/fhir/Patient/p1', headers: fhirJson, payload: { resourceType: 'Patient' } });
  t.equal(wrongType.statusCode, 415, 'only JSON Patch is accepted');
  const stale = await h.request({ method: 'PATCH', url: '/fhir/Patient/p1', headers: { ...patchJson, 'if-match': 'W/"1"' }, payload: [{ op: 'remove', path: '/gender' }] });
  t.equal(stale.statusCode, 412, 'If-Match applies to patch');
  const missing = await h.request({ method: 'PATCH', url: '/fhir/Patient/nope', headers: patchJson, payload: [{ op: 'remove', path: '/gender' }] });
  t.equal(missing.statusCode, 404);
  const final = await h.request({ method: 'GET', url: '/fhir/Patient/p1' });
  t.equal(final.json().meta.versionId, '2', 'no failed patch wrote a version');
});

t.test('type and system history with _count, _since and paging links', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  for (let i = 0; i < 5; i++) {
    await h.request({ method: 'PUT', url: `/fhir/Patient/p${i}`, headers: fhirJson, payload: minimalPatient({ id: `p${i}` }) });
  }
  await h.request({ method: 'PUT', url: '/fhir/Organization/o1', headers: fhirJson, payload: { resourceType: 'Organization', id: 'o1', name: 'Clinic' } });

  const typeHistory = (await h.request({ method: 'GET', url: '/fhir/Patient/_history?_count=2' })).json();
  t.equal(typeHistory.total, 5, 'type history counts only that type');
  t.equal(typeHistory.entry.length, 2);
  const next = typeHistory.link.find((l: { relation: string }) => l.relation === 'next');
  t.ok(next, 'a next link while more remain');
  t.match(next.url, /__until=/, 'paging is pinned to the time of the first page');

  // A write after the first page does not shift the following pages.
  await h.request({ method: 'PUT', url: '/fhir/Patient/p9', headers: fhirJson, payload: minimalPatient({ id: 'p9' }) });
  const seen = new Set<string>(typeHistory.entry.map((e: { fullUrl: string }) => e.fullUrl));
  let url: string | undefined = next.url;
  while (url) {
    const page = (await h.request({ method: 'GET', url: url.replace(BASE_URL, '/fhir') })).json();
    for (const e of page.entry) seen.add(e.fullUrl);
    t.equal(page.total, 5, 'later pages keep the pinned total');
    url = page.link.find((l: { relation: string }) => l.relation === 'next')?.url;
  }
  t.equal(seen.size, 5, 'every version of the pinned time is seen once');
  t.notOk(seen.has(`${BASE_URL}/Patient/p9`));

  const system = (await h.request({ method: 'GET', url: '/fhir/_history' })).json();
  t.equal(system.total, 7, 'system history spans types');

  const future = (await h.request({ method: 'GET', url: '/fhir/_history?_since=2999-01-01T00:00:00Z' })).json();
  t.equal(future.total, 0, '_since filters versions');
  const badSince = await h.request({ method: 'GET', url: '/fhir/_history?_since=last-week' });
  t.equal(badSince.statusCode, 400);
  const badCount = await h.request({ method: 'GET', url: '/fhir/Patient/_history?_count=-1' });
  t.equal(badCount.statusCode, 400);
  t.equal((await h.request({ method: 'GET', url: '/fhir/Patient/unknown/_history' })).statusCode, 404);
});
