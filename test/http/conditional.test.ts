import t from 'tap';
import { fhirJson, minimalPatient, startHarness } from './harness';

const withMrn = (mrn: string, extra: Record<string, unknown> = {}) =>
  minimalPatient({ identifier: [{ system: 'urn:mrn', value: mrn }], ...extra });

t.test('conditional create (If-None-Exist): none, one, many', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const first = await h.request({ method: 'POST', url: '/fhir/Patient', headers: { ...fhirJson, 'if-none-exist': 'identifier=urn:mrn|1' }, payload: withMrn('1') });
  t.equal(first.statusCode, 201, 'no match: created');
  const again = await h.request({ method: 'POST', url: '/fhir/Patient', headers: { ...fhirJson, 'if-none-exist': 'identifier=urn:mrn|1' }, payload: withMrn('1') });
  t.equal(again.statusCode, 200, 'one match: 200 and nothing created');
  t.equal(again.json().id, first.json().id, 'with the existing resource');
  t.ok(again.headers.location);

  await h.request({ method: 'PUT', url: '/fhir/Patient/dup', headers: fhirJson, payload: withMrn('1', { id: 'dup' }) });
  const many = await h.request({ method: 'POST', url: '/fhir/Patient', headers: { ...fhirJson, 'if-none-exist': 'identifier=urn:mrn|1' }, payload: withMrn('1') });
  t.equal(many.statusCode, 412, 'many matches: 412');

  const byId = await h.request({ method: 'POST', url: '/fhir/Patient', headers: { ...fhirJson, 'if-none-exist': '_id=dup' }, payload: withMrn('2') });
  t.equal(byId.statusCode, 200, '_id criteria work');
  const unknownParam = await h.request({ method: 'POST', url: '/fhir/Patient', headers: { ...fhirJson, 'if-none-exist': 'shoe-size=42' }, payload: withMrn('3') });
  t.equal(unknownParam.statusCode, 400, 'an unknown criterion is an error, never ignored');
  const total = (await h.request({ method: 'GET', url: '/fhir/Patient?_summary=count' })).json().total;
  t.equal(total, 2, 'only the first create and the PUT wrote');
});

t.test('conditional create does not produce duplicates when identical requests race', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const address = h.app.server.address() as { port: number };
  const url = `http://127.0.0.1:${address.port}/fhir/Patient`;
  const responses = await Promise.all(
    Array.from({ length: 20 }, () =>
      fetch(url, { method: 'POST', headers: { ...fhirJson, 'if-none-exist': 'identifier=urn:mrn|race' }, body: JSON.stringify(withMrn('race')) }),
    ),
  );
  const statuses = responses.map((r) => r.status).sort();
  t.equal(statuses.filter((s) => s === 201).length, 1, 'exactly one request created');
  t.equal(statuses.filter((s) => s === 200).length, 19, 'the others found it');
  const search = (await h.request({ method: 'GET', url: '/fhir/Patient?identifier=urn:mrn|race' })).json();
  t.equal(search.total, 1, 'exactly one resource exists');
});

t.test('conditional update: none creates, one updates, many is 412', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const created = await h.request({ method: 'PUT', url: '/fhir/Patient?identifier=urn:mrn|7', headers: fhirJson, payload: withMrn('7') });
  t.equal(created.statusCode, 201, 'no match and no id: created with a server id');
  const id = created.json().id;
  const updated = await h.request({ method: 'PUT', url: '/fhir/Patient?identifier=urn:mrn|7', headers: fhirJson, payload: withMrn('7', { gender: 'male' }) });
  t.equal(updated.statusCode, 200, 'one match: updated');
  t.equal(updated.json().id, id);
  t.equal(updated.json().meta.versionId, '2');
  const wrongId = await h.request({ method: 'PUT', url: '/fhir/Patient?identifier=urn:mrn|7', headers: fhirJson, payload: withMrn('7', { id: 'other' }) });
  t.equal(wrongId.statusCode, 400, 'a body id that is not the match is 400');
  const withId = await h.request({ method: 'PUT', url: '/fhir/Patient?identifier=urn:mrn|8', headers: fhirJson, payload: withMrn('8', { id: 'chosen' }) });
  t.equal(withId.statusCode, 201);
  t.equal(withId.json().id, 'chosen', 'no match with a body id: created with that id');
  await h.request({ method: 'PUT', url: '/fhir/Patient/twin', headers: fhirJson, payload: withMrn('7', { id: 'twin' }) });
  const many = await h.request({ method: 'PUT', url: '/fhir/Patient?identifier=urn:mrn|7', headers: fhirJson, payload: withMrn('7') });
  t.equal(many.statusCode, 412);
  const noCriteria = await h.request({ method: 'PUT', url: '/fhir/Patient', headers: fhirJson, payload: withMrn('9') });
  t.equal(noCriteria.statusCode, 400, 'a conditional update needs criteria');
});

t.test('conditional delete: one deletes, none is a no-op, many is 412', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Patient/a', headers: fhirJson, payload: withMrn('1', { id: 'a' }) });
  await h.request({ method: 'PUT', url: '/fhir/Patient/b', headers: fhirJson, payload: withMrn('2', { id: 'b' }) });
  await h.request({ method: 'PUT', url: '/fhir/Patient/c', headers: fhirJson, payload: withMrn('2', { id: 'c' }) });

  t.equal((await h.request({ method: 'DELETE', url: '/fhir/Patient?identifier=urn:mrn|1' })).statusCode, 204);
  t.equal((await h.request({ method: 'GET', url: '/fhir/Patient/a' })).statusCode, 410, 'the match was deleted');
  t.equal((await h.request({ method: 'DELETE', url: '/fhir/Patient?identifier=urn:mrn|none' })).statusCode, 204, 'no match: nothing to do');
  const many = await h.request({ method: 'DELETE', url: '/fhir/Patient?identifier=urn:mrn|2' });
  t.equal(many.statusCode, 412, 'many matches: 412 and nothing deleted');
  t.equal((await h.request({ method: 'GET', url: '/fhir/Patient/b' })).statusCode, 200);
  t.equal((await h.request({ method: 'GET', url: '/fhir/Patient/c' })).statusCode, 200);
  t.equal((await h.request({ method: 'DELETE', url: '/fhir/Patient' })).statusCode, 400, 'a conditional delete needs criteria');
});
