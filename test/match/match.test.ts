import t from 'tap';
import { fhirJson, startHarness, type Harness } from '../http/harness';

const MATCH_GRADE = 'http://hl7.org/fhir/StructureDefinition/match-grade';

interface MatchEntry {
  resource: { id: string };
  search: { mode: string; score: number; extension: Array<{ url: string; valueCode: string }> };
}

const person = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  identifier: [{ system: 'urn:hospital-a:mrn', value: 'A-1001' }],
  name: [{ family: 'Müller', given: ['Anna', 'Maria'] }],
  gender: 'female',
  birthDate: '1984-03-12',
  telecom: [{ system: 'phone', value: '+1 (555) 010-2030' }],
  address: [{ postalCode: '02139' }],
  ...extra,
});

async function store(h: Harness, id: string, resource: Record<string, unknown>): Promise<void> {
  const response = await h.request({ method: 'PUT', url: `/fhir/Patient/${id}`, headers: fhirJson, payload: { ...resource, id } });
  if (response.statusCode >= 300) throw new Error(response.body);
}

async function match(h: Harness, patient: Record<string, unknown>, extra: Array<Record<string, unknown>> = []) {
  const parameters = { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: patient }, ...extra] };
  return h.request({ method: 'POST', url: '/fhir/Patient/$match', headers: fhirJson, payload: parameters });
}

const entriesOf = async (h: Harness, patient: Record<string, unknown>, extra: Array<Record<string, unknown>> = []): Promise<MatchEntry[]> =>
  (await match(h, patient, extra)).json().entry;
const gradeOf = (entry: MatchEntry) => entry.search.extension.find((e) => e.url === MATCH_GRADE)?.valueCode;
const byId = (entries: MatchEntry[], id: string) => entries.find((e) => e.resource.id === id);

t.test('$match finds the duplicates made on purpose, grades them and ranks them best first', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await store(h, 'original', person());
  // Registered again at another hospital: another identifier system, a typo in the family name.
  await store(h, 'typo', person({ identifier: [{ system: 'urn:hospital-b:mrn', value: 'A-1001' }], name: [{ family: 'Mueler', given: ['Anna', 'Maria'] }] }));
  // The given names swapped, no accent, no phone.
  await store(h, 'swapped', person({ identifier: undefined, name: [{ family: 'Muller', given: ['Maria', 'Anna'] }], telecom: undefined }));
  // No birth date, no phone.
  await store(h, 'no-birth-date', person({ identifier: undefined, birthDate: undefined, telecom: undefined }));
  // Someone else: same family, other given name, other birth date, other gender.
  await store(h, 'stranger', person({ identifier: undefined, name: [{ family: 'Müller', given: ['Peter'] }], gender: 'male', birthDate: '1950-07-01', telecom: undefined, address: undefined }));

  const response = await match(h, person());
  t.equal(response.statusCode, 200);
  const bundle = response.json();
  t.equal(bundle.type, 'searchset');
  const entries: MatchEntry[] = bundle.entry;
  t.equal(entries[0]?.resource.id, 'original', 'the same identifier comes first');
  t.equal(entries[0]?.search.score, 1);
  t.equal(gradeOf(entries[0]!), 'certain', 'same system and value: certain');
  const scores = entries.map((e) => e.search.score);
  t.same(scores, [...scores].sort((a, b) => b - a), 'best first');
  for (const entry of entries) {
    t.equal(entry.search.mode, 'match');
    t.ok(entry.search.score >= 0 && entry.search.score <= 1, 'score within 0..1');
  }
  const typo = byId(entries, 'typo');
  t.equal(typo && gradeOf(typo), 'probable', 'a family-name typo under another identifier system: probable, not certain');
  const swapped = byId(entries, 'swapped');
  t.equal(swapped && gradeOf(swapped), 'probable', 'swapped given names and a folded accent: probable');
  const noBirthDate = byId(entries, 'no-birth-date');
  t.ok(noBirthDate, 'a missing birth date is still found');
  t.equal(noBirthDate && gradeOf(noBirthDate), 'possible', 'but only possible');
  t.notOk(byId(entries, 'stranger'), 'a different person with the same family name is left out');
});

t.test('onlyCertainMatches and count', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await store(h, 'original', person());
  await store(h, 'copy-1', person({ identifier: undefined }));
  await store(h, 'copy-2', person({ identifier: undefined, telecom: undefined }));
  const certain = await entriesOf(h, person(), [{ name: 'onlyCertainMatches', valueBoolean: true }]);
  t.same(certain.map((e) => e.resource.id), ['original']);
  const two = await entriesOf(h, person(), [{ name: 'count', valueInteger: 2 }]);
  t.same(two.map((e) => e.resource.id), ['original', 'copy-1'], 'count keeps the best');
  const all = await entriesOf(h, person());
  t.equal(all.length, 3);
});

t.test('a family name mistyped at its first letter is still found (by birth date and given name)', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  await store(h, 'original', person({ identifier: undefined, name: [{ family: 'Nuller', given: ['Anna'] }] }));
  const entries = await entriesOf(h, person({ identifier: undefined, name: [{ family: 'Muller', given: ['Anna'] }] }));
  t.same(entries.map((e) => e.resource.id), ['original']);
});

t.test('malformed $match requests are 400', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const post = (payload: unknown) => h.request({ method: 'POST', url: '/fhir/Patient/$match', headers: fhirJson, payload: JSON.stringify(payload) });
  t.equal((await post(person())).statusCode, 400, 'a bare Patient');
  t.equal((await post({ resourceType: 'Parameters', parameter: [] })).statusCode, 400, 'no resource');
  t.equal((await post({ resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Practitioner' } }] })).statusCode, 400);
  t.equal((await match(h, person(), [{ name: 'count', valueInteger: 0 }])).statusCode, 400, 'count 0');
  t.equal((await match(h, person(), [{ name: 'onlyCertainMatches', valueString: 'yes' }])).statusCode, 400);
});
