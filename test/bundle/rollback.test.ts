import t from 'tap';
import { fhirJson, startHarness } from '../http/harness';
import { bundleOf, countOf, patient, postBundle, postEntry, putEntry, requestEntry } from './helpers';

t.test('a failing entry rolls back every entry before it, and the outcome names the entry and the element', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await h.request({ method: 'PUT', url: '/fhir/Patient/keep', headers: fhirJson, payload: patient({ id: 'keep' }) });
  const response = await postBundle(
    h,
    bundleOf('transaction', [
      requestEntry('DELETE', 'Patient/keep'),
      postEntry(patient()),
      postEntry(patient({ birthDate: 'yesterday' })),
      putEntry('Patient/later', patient({ id: 'later' })),
    ]),
  );
  t.equal(response.statusCode, 422, 'the entry\'s own status');
  const outcome = response.json();
  t.equal(outcome.resourceType, 'OperationOutcome');
  t.ok(
    outcome.issue.some((issue: { expression?: string[] }) => issue.expression?.includes('Bundle.entry[2].resource.birthDate')),
    'the expression names the entry index and the element',
  );
  t.match(outcome.issue[0].diagnostics, /^Bundle\.entry\[2\]/);
  t.equal(await countOf(h, 'Patient'), 1, 'no POST or PUT survived');
  t.equal((await h.request({ method: 'GET', url: '/fhir/Patient/keep' })).statusCode, 200, 'the DELETE was rolled back');
  const history = (await h.request({ method: 'GET', url: '/fhir/Patient/keep/_history' })).json();
  t.equal(history.entry.length, 1, 'and left no version behind');
});

t.test('a malformed entry is 400 naming its element, before anything runs', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const cases: Array<[unknown, string]> = [
    [{ resource: patient() }, 'Bundle.entry[1].request'],
    [{ resource: patient(), request: { method: 'FETCH', url: 'Patient' } }, 'Bundle.entry[1].request.method'],
    [{ resource: patient(), request: { method: 'POST' } }, 'Bundle.entry[1].request.url'],
    [{ request: { method: 'PUT', url: 'Patient/x' } }, 'Bundle.entry[1].resource'],
    [{ resource: patient(), request: { method: 'POST', url: 'http://elsewhere.example/fhir/Patient' } }, 'Bundle.entry[1].request.url'],
  ];
  for (const [bad, expression] of cases) {
    const response = await postBundle(h, bundleOf('transaction', [postEntry(patient()), bad as Record<string, unknown>]));
    t.equal(response.statusCode, 400, expression);
    t.same(response.json().issue[0].expression, [expression]);
  }
  t.equal(await countOf(h, 'Patient'), 0);
});

t.test('two entries on the same resource, or with the same fullUrl, fail the transaction', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const twice = await postBundle(h, bundleOf('transaction', [putEntry('Patient/a', patient({ id: 'a' })), requestEntry('DELETE', 'Patient/a')]));
  t.equal(twice.statusCode, 400);
  t.match(twice.json().issue[0].diagnostics, /entry\[1\] and Bundle\.entry\[0\] both act on Patient\/a/);
  const sameFullUrl = await postBundle(h, bundleOf('transaction', [postEntry(patient(), 'urn:uuid:x'), postEntry(patient(), 'urn:uuid:x')]));
  t.equal(sameFullUrl.statusCode, 400);
  t.equal(await countOf(h, 'Patient'), 0);
});

t.test('an entry kind this server does not take is 400 and rolls back', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const response = await postBundle(h, bundleOf('transaction', [postEntry(patient()), requestEntry('DELETE', 'Patient/a/_history/1')]));
  t.equal(response.statusCode, 400);
  t.same(response.json().issue[0].expression, ['Bundle.entry[1].request.url']);
  t.equal(await countOf(h, 'Patient'), 0);
});

t.test('odd entries are client errors, never 500', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const cases: Array<[Record<string, unknown>, number]> = [
    [{ resource: null, request: { method: 'PUT', url: 'Patient?identifier=x' } }, 400],
    [{ resource: 'text', request: { method: 'POST', url: 'Patient' } }, 400],
    [{ resource: patient(), request: { method: 'POST', url: '/' } }, 400],
    [{ resource: patient(), request: { method: 'PUT', url: 'Patient' } }, 400],
    [{ resource: patient(), request: { method: 'POST', url: 'Patient?x=1' } }, 400],
    [{ resource: patient(), request: { method: 'PUT', url: 'Unknown?identifier=1' } }, 404],
    [{ resource: patient(), request: { method: 'POST', url: 'Unknown' } }, 404],
    [{ resource: patient(), request: { method: 'POST', url: 'Patient', ifNoneExist: 'shoe-size=1' } }, 400],
    [{ request: { method: 'GET', url: 'Patient?shoe-size=1' } }, 200],
    [{ request: { method: 'GET', url: 'Patient/%E0%A4%A' } }, 400],
  ];
  for (const [entry, status] of cases) {
    for (const type of ['transaction', 'batch'] as const) {
      const response = await postBundle(h, bundleOf(type, [entry]));
      const answered = type === 'batch' && response.statusCode === 200 ? Number(response.json().entry[0].response.status.slice(0, 3)) : response.statusCode;
      t.equal(answered, status, `${type}: ${JSON.stringify(entry.request)}`);
    }
  }
});
