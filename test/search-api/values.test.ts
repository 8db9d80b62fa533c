/**
 * Value syntax and matching over HTTP, on the hand-made fixtures (see
 * fixtures.ts for the data each expectation is worked out from).
 */
import t, { type Test } from 'tap';
import { ALL_PATIENTS, searchDeletions, searchFixtures } from './fixtures';
import { harnessWith, ids, type Harness } from './helpers';

let h: Harness;
t.before(async () => {
  h = await harnessWith(searchFixtures, searchDeletions);
});
t.teardown(() => h.close());

const expectIds = async (t: Test, url: string, expected: string[], why = '') =>
  t.same(await ids(h, url), [...expected].sort(), why ? `${url} (${why})` : url);

t.test('date prefixes compare ranges (birthDate 1974-12-25, 1980, 1980-06, 1990-01-01, 2000-01-01)', async (t) => {
  await expectIds(t, '/fhir/Patient?birthdate=1980', ['pat-jose', 'pat-anna']);
  await expectIds(t, '/fhir/Patient?birthdate=eq1980-06', ['pat-anna']);
  await expectIds(t, '/fhir/Patient?birthdate=ne1980', ['pat-peter', 'pat-link', 'pat-updated']);
  await expectIds(t, '/fhir/Patient?birthdate=gt1980-06', ['pat-jose', 'pat-link', 'pat-updated']);
  await expectIds(t, '/fhir/Patient?birthdate=ge1980-06', ['pat-jose', 'pat-anna', 'pat-link', 'pat-updated']);
  await expectIds(t, '/fhir/Patient?birthdate=lt1980', ['pat-peter']);
  await expectIds(t, '/fhir/Patient?birthdate=le1980-06', ['pat-peter', 'pat-jose', 'pat-anna']);
  await expectIds(t, '/fhir/Patient?birthdate=sa1975', ['pat-jose', 'pat-anna', 'pat-link', 'pat-updated']);
  await expectIds(t, '/fhir/Patient?birthdate=eb1980-03', ['pat-peter']);
  // ap widens by 10% of the distance to now: about ±2.6 years around 2000 when this was written.
  await expectIds(t, '/fhir/Patient?birthdate=ap2000-01-01', ['pat-updated']);
});

t.test('periods: bounded, open-ended and crossing a boundary', async (t) => {
  await expectIds(t, '/fhir/Encounter?date=eq2020-01', ['enc-1']);
  await expectIds(t, '/fhir/Encounter?date=2020-01-10', ['enc-1']);
  await expectIds(t, '/fhir/Encounter?date=ge2030-01-01', ['enc-2']);
  await expectIds(t, '/fhir/Encounter?date=lt2020-01-01', ['enc-3']);
  await expectIds(t, '/fhir/Encounter?date=eq2021-05', ['enc-4']);
});

t.test('quantity: prefixes, units with and without system, precision', async (t) => {
  await expectIds(t, '/fhir/Observation?value-quantity=72', ['obs-1']);
  await expectIds(t, '/fhir/Observation?value-quantity=lt80', ['obs-1']);
  await expectIds(t, '/fhir/Observation?value-quantity=gt90||/min', ['obs-3']);
  await expectIds(t, '/fhir/Observation?value-quantity=80.5|http://unitsofmeasure.org|kg', ['obs-2']);
  await expectIds(t, '/fhir/Observation?value-quantity=80.5|http://unitsofmeasure.org|g', []);
});

t.test('number: the implied precision of the value (probability 0.3)', async (t) => {
  await expectIds(t, '/fhir/RiskAssessment?probability=0.3', ['risk-1']);
  await expectIds(t, '/fhir/RiskAssessment?probability=0.31', []);
  await expectIds(t, '/fhir/RiskAssessment?probability=gt0.25', ['risk-1']);
  await expectIds(t, '/fhir/RiskAssessment?probability=ge0.4', []);
});

t.test('string: prefix, case and accents folded, every name part, :exact, :contains', async (t) => {
  await expectIds(t, '/fhir/Patient?name=PETE', ['pat-peter']);
  await expectIds(t, '/fhir/Patient?name=jose', ['pat-jose']);
  await expectIds(t, '/fhir/Patient?family=nunez', ['pat-jose']);
  await expectIds(t, '/fhir/Patient?name=andersson', ['pat-anna']);
  await expectIds(t, '/fhir/Patient?given=james', ['pat-peter']);
  await expectIds(t, '/fhir/Patient?address-city=sao', ['pat-jose']);
  await expectIds(t, '/fhir/Patient?family:exact=Núñez', ['pat-jose']);
  await expectIds(t, '/fhir/Patient?family:exact=nunez', []);
  await expectIds(t, '/fhir/Patient?family:contains=jones', ['pat-anna']);
  await expectIds(t, '/fhir/Patient?family=jones', []);
});

t.test('token: code, system|code, |code, system|, :not, :text, :of-type, booleans', async (t) => {
  await expectIds(t, '/fhir/Patient?gender=male', ['pat-peter', 'pat-jose']);
  await expectIds(t, '/fhir/Patient?gender=http://hl7.org/fhir/administrative-gender|female', ['pat-anna', 'pat-updated']);
  await expectIds(t, '/fhir/Patient?identifier=urn:example:mrn|1001', ['pat-peter']);
  await expectIds(t, '/fhir/Patient?identifier=1002', ['pat-jose']);
  await expectIds(t, '/fhir/Patient?identifier=|1002', []);
  await expectIds(t, '/fhir/Patient?identifier=urn:other|', ['pat-anna']);
  await expectIds(t, '/fhir/Patient?gender:not=male', ['pat-anna', 'pat-nobirth', 'pat-link', 'pat-updated']);
  await expectIds(t, '/fhir/Observation?code:text=heart', ['obs-1', 'obs-3']);
  await expectIds(t, '/fhir/Observation?code:text=free', ['obs-5']);
  await expectIds(t, '/fhir/Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|1001', ['pat-peter']);
  await expectIds(t, '/fhir/Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|1002', []);
  await expectIds(t, '/fhir/Patient?active=true', ['pat-peter']);
});

t.test('reference: Type/id, bare id, :Type, absolute URL on this server, :identifier', async (t) => {
  await expectIds(t, '/fhir/Observation?subject=Patient/pat-peter', ['obs-1', 'obs-2']);
  await expectIds(t, '/fhir/Observation?subject=pat-peter', ['obs-1', 'obs-2']);
  await expectIds(t, '/fhir/Observation?subject:Patient=pat-peter', ['obs-1', 'obs-2']);
  await expectIds(t, `/fhir/Observation?subject=${encodeURIComponent('http://localhost:8080/fhir/Patient/pat-peter')}`, ['obs-1', 'obs-2']);
  await expectIds(t, '/fhir/Observation?patient=pat-jose', ['obs-3']);
  await expectIds(t, '/fhir/Observation?performer:identifier=urn:npi|555', ['obs-5']);
});

t.test('uri: exact, :below, :above', async (t) => {
  await expectIds(t, '/fhir/ValueSet?url=http://example.org/fhir/ValueSet/colors', ['vs-1']);
  await expectIds(t, '/fhir/ValueSet?url=http://example.org/fhir', []);
  await expectIds(t, '/fhir/ValueSet?url:below=http://example.org/fhir', ['vs-1']);
  await expectIds(t, '/fhir/ValueSet?url:above=http://example.org/fhir/ValueSet/colors/v2', ['vs-1']);
});

t.test('composite: components of one entry', async (t) => {
  await expectIds(t, '/fhir/Observation?component-code-value-quantity=http://loinc.org|8480-6$120', ['obs-4']);
  await expectIds(t, '/fhir/Observation?component-code-value-quantity=http://loinc.org|8480-6$80', [], 'the 80 belongs to the other component');
  await expectIds(t, '/fhir/Observation?code-value-quantity=8867-4$gt90', ['obs-3']);
});

t.test(':missing', async (t) => {
  await expectIds(t, '/fhir/Patient?birthdate:missing=true', ['pat-nobirth']);
  await expectIds(t, '/fhir/Patient?gender:missing=false', ['pat-peter', 'pat-jose', 'pat-anna', 'pat-link', 'pat-updated']);
  await expectIds(t, '/fhir/Observation?subject:missing=true', ['obs-5']);
});

t.test('comma is OR, repetition is AND', async (t) => {
  await expectIds(t, '/fhir/Patient?family=doe,linked', ['pat-nobirth', 'pat-link']);
  await expectIds(t, '/fhir/Patient?gender=male&birthdate=1980', ['pat-jose']);
  await expectIds(t, '/fhir/Patient?birthdate=ge1980&birthdate=lt1995', ['pat-jose', 'pat-anna', 'pat-link']);
  await expectIds(t, '/fhir/Patient?family=doe&family=linked', []);
});

t.test('escaping: \\, \\| \\$ are literal', async (t) => {
  await expectIds(t, `/fhir/Patient?identifier=${encodeURIComponent('urn:other|X\\,1')}`, ['pat-anna']);
  await expectIds(t, `/fhir/Patient?identifier=${encodeURIComponent('urn:other|X,1')}`, [], 'unescaped: two values, X and 1');
  await expectIds(t, `/fhir/Patient?identifier=${encodeURIComponent('urn:other|a\\|b\\$c')}`, ['pat-anna']);
});

t.test('deleted resources are never found; an update replaces the old values', async (t) => {
  await expectIds(t, '/fhir/Patient?family=chalmers', ['pat-peter']);
  await expectIds(t, '/fhir/Patient?family=oldname', []);
  await expectIds(t, '/fhir/Patient?family=newname', ['pat-updated']);
  await expectIds(t, '/fhir/Patient?_id=pat-deleted', []);
  await expectIds(t, '/fhir/Patient', ALL_PATIENTS);
});
