import t from 'tap';
import { FhirError } from '../../src/errors';
import { MAX_SEARCH_ALTERNATIVE_LENGTH, parseSearch } from '../../src/search/parse';
import { fhirJson, minimalPatient, startHarness } from '../http/harness';

const parse = (pairs: Array<[string, string]>) => parseSearch(['Patient'], pairs, { strict: false, baseUrl: 'https://concord.example/fhir' });

t.test('each alternative of a search value is limited to 2,048 characters', async (t) => {
  t.equal(MAX_SEARCH_ALTERNATIVE_LENGTH, 2048);
  const at = 'a'.repeat(2048);
  t.doesNotThrow(() => parse([['family', at]]), 'at the limit');
  t.doesNotThrow(() => parse([['family', Array.from({ length: 50 }, () => 'a'.repeat(2000)).join(',')]]), 'a long OR-list of values under the limit');
  t.doesNotThrow(() => parse([['general-practitioner', Array.from({ length: 600 }, (_, i) => `Practitioner/p-${i}`).join(',')]]), 'a long OR-list of references');
  for (const value of [`${at}a`, `smith,${at}a`, `${'a'.repeat(1500)}\\,${'b'.repeat(1500)}`]) {
    try {
      parse([['family', value]]);
      t.fail('expected a 400');
    } catch (e) {
      t.ok(e instanceof FhirError);
      t.equal((e as FhirError).status, 400);
      t.same((e as FhirError).issues[0]!.expression, ['family']);
      t.match((e as FhirError).issues[0]!.diagnostics, /at most 2048 characters/);
    }
  }
});

t.test('over HTTP: 400 OperationOutcome in the URL and in a form body, and searching still works', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Patient/p1', headers: fhirJson, payload: minimalPatient({ id: 'p1', name: [{ family: 'Smith' }] }) });
  const url = await h.request({ method: 'GET', url: `/fhir/Patient?family=Smith,${'a'.repeat(2049)}` });
  t.equal(url.statusCode, 400);
  t.equal(url.json().resourceType, 'OperationOutcome');
  const form = await h.request({ method: 'POST', url: '/fhir/Patient/_search', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `family=${'a'.repeat(300_000)}` });
  t.equal(form.statusCode, 400, 'a 300,000-character family in a form');
  t.equal(form.json().resourceType, 'OperationOutcome');
  const fine = await h.request({ method: 'GET', url: `/fhir/Patient?family=Smith,${'a'.repeat(2048)}` });
  t.equal(fine.statusCode, 200);
  t.equal(fine.json().total, 1, 'the alternatives under the limit are searched');
});
