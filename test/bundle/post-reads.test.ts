/**
 * POST entries that only read: a search by POST (`Type/_search`) and the
 * operations `$validate`, `$match` and `$evaluate`, answered as their REST
 * routes answer them and, in a transaction, processed with the GETs.
 */
import t from 'tap';
import { fhirJson, startHarness, type Harness } from '../http/harness';
import { bundleOf, countOf, patient, postBundle, postEntry, requestEntry, type Entry } from './helpers';

type ResponseEntry = { resource?: { resourceType: string; id?: string; entry?: Array<{ resource: { id: string } }>; issue?: Array<{ severity: string }>; parameter?: Array<{ name: string; valueCode?: string }> }; response: { status: string } };

const statuses = (entries: ResponseEntry[]) => entries.map((e) => e.response.status.slice(0, 3));
const ids = (entry: ResponseEntry) => (entry.resource?.entry ?? []).map((e) => e.resource.id).sort();
const postWith = (url: string, resource?: Entry): Entry => ({ ...(resource ? { resource } : {}), request: { method: 'POST', url } });
const parameters = (...parameter: Entry[]): Entry => ({ resourceType: 'Parameters', parameter });

async function seeded(t: { teardown(fn: () => unknown): void }): Promise<Harness> {
  const h = await startHarness();
  t.teardown(h.close);
  for (const [id, family] of [['a', 'Alpha'], ['b', 'Beta']]) {
    await h.request({ method: 'PUT', url: `/fhir/Patient/${id}`, headers: fhirJson, payload: patient({ id, name: [{ family }] }) });
  }
  return h;
}

t.test('POST Type/_search in a batch answers as the same search by GET: url, Parameters or form Binary', async (t) => {
  const h = await seeded(t);
  const form = Buffer.from('name=alpha&gender=female').toString('base64');
  const response = await postBundle(
    h,
    bundleOf('batch', [
      postWith('Patient/_search?name=alpha'),
      postWith('Patient/_search', parameters({ name: 'name', valueString: 'beta' })),
      postWith('Patient/_search', { resourceType: 'Binary', contentType: 'application/x-www-form-urlencoded', data: form }),
      postWith('Patient/_search?gender=female', parameters({ name: 'name', valueString: 'beta' })),
      requestEntry('GET', 'Patient?name=alpha'),
      postWith('Patient/_search', patient()),
      postWith('Patient/_search?shoe-size=42'),
    ]),
  );
  t.equal(response.statusCode, 200);
  const entries: ResponseEntry[] = response.json().entry;
  t.same(statuses(entries), ['200', '200', '200', '200', '200', '400', '200']);
  t.same(entries.slice(0, 5).map(ids), [['a'], ['b'], ['a'], ['b'], ['a']], 'url, Parameters, Binary, url AND Parameters; same as GET');
  t.equal(entries[0]?.resource?.resourceType, 'Bundle');
  t.equal(await countOf(h, 'Patient'), 2, 'a search by POST creates nothing');
});

t.test('in a transaction a POST _search is processed with the reads, after every write', async (t) => {
  const h = await seeded(t);
  const response = await postBundle(
    h,
    bundleOf('transaction', [
      postWith('Patient/_search?identifier=urn:mrn|new'),
      postEntry(patient({ identifier: [{ system: 'urn:mrn', value: 'new' }] })),
    ]),
  );
  t.equal(response.statusCode, 200, JSON.stringify(response.json().issue));
  const [found, created] = response.json().entry as [ResponseEntry, ResponseEntry];
  t.same(statuses([found, created]), ['200', '201'], 'response entries stay in the bundle order');
  t.same(ids(found), [created.resource?.id], 'the search sees the patient the transaction created');
  t.equal(await countOf(h, 'Patient'), 3);
});

t.test('operations in a batch: $validate, Patient/$match and Consent/$evaluate run their REST code', async (t) => {
  const h = await seeded(t);
  const response = await postBundle(
    h,
    bundleOf('batch', [
      postWith('Patient/$validate', patient()),
      postWith('Patient/$validate', parameters({ name: 'resource', resource: patient({ birthDate: 'never' }) })),
      postWith('Patient/$match', parameters({ name: 'resource', resource: patient({ name: [{ family: 'Alpha' }] }) })),
      postWith('Consent/$evaluate', parameters({ name: 'actor', valueReference: { reference: 'Patient/b' } }, { name: 'resource', valueReference: { reference: 'Patient/a' } })),
      postWith('Observation/$evaluate', parameters()),
      postWith('Patient/$match'),
      postWith('Patient/$unknown', parameters()),
    ]),
  );
  t.equal(response.statusCode, 200);
  const entries: ResponseEntry[] = response.json().entry;
  t.same(statuses(entries), ['200', '200', '200', '200', '404', '400', '400']);
  const [valid, invalid, match, evaluate] = entries;
  t.same(valid?.resource?.issue?.map((i) => i.severity), ['information'], '$validate: a valid patient');
  t.ok(invalid?.resource?.issue?.some((i) => i.severity === 'error'), '$validate: the resource of a Parameters, with its errors');
  t.equal(match?.resource?.resourceType, 'Bundle', '$match answers a searchset');
  t.same(ids(match!), ['a'], 'with the patient it matches');
  t.equal(evaluate?.resource?.resourceType, 'Parameters', '$evaluate answers Parameters');
  t.ok(evaluate?.resource?.parameter?.some((p) => p.name === 'decision'), 'with a decision');
  t.equal(await countOf(h, 'Patient'), 2, 'no operation created anything');
});
