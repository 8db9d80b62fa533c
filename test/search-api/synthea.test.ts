/**
 * Realistic searches over two Synthea patients (test/fixtures/synthea,
 * Apache-2.0): Desmond Gutmann (born 1984-01-04, 9 encounters, SSN
 * 999-79-2897) and Edward Gulgowski (born 1992-09-13, 6 encounters, SSN
 * 999-87-9731), 9 claims each; the encounter dates below are read off the
 * bundles.
 */
import { join } from 'node:path';
import t from 'tap';
import { startHarness } from '../http/harness';
import { ids, loadSyntheaBundle, matchIds, searchBundle, type Harness } from './helpers';

const DESMOND = 'df3f2f4e-4b9c-47c4-b394-e172e245ffee';
const EDWARD = '4ef9f896-10bc-4479-acd6-1153e7318f14';
const fixtures = join(__dirname, '../fixtures/synthea');

let h: Harness;
t.before(async () => {
  h = await startHarness();
  await loadSyntheaBundle(h.storage, join(fixtures, 'Desmond_Gutmann_d49945ce-9f8c-4974-80e3-0b38054dd45d.json'));
  await loadSyntheaBundle(h.storage, join(fixtures, 'Edward_Gulgowski_43481611-2459-44f5-ab20-4b142dac160f.json'));
});
t.teardown(() => h.close());

t.test('Encounter?patient=..&date=ge..&_sort=-date: that patient\'s recent encounters, newest first', async (t) => {
  t.same(matchIds(await searchBundle(h, `/fhir/Encounter?patient=${DESMOND}&date=ge2020-01-01&_sort=-date`)), [
    'c4f2a940-b849-4f74-b187-6591c063b604', // 2021-03-31
    '8d989eaf-115b-40ce-b8f3-50095f34c716', // 2020-05-14
    'a87e0086-f028-4422-b482-f38b82548939', // 2020-05-07
    'b5e2ab62-b12f-4b83-88f0-2b58564e1498', // 2020-04-30
    '0c365c6d-090c-4247-a29e-b8bd7b3046ba', // 2020-04-02
  ]);
  t.same(matchIds(await searchBundle(h, `/fhir/Encounter?patient=Patient/${EDWARD}&date=ge2015-01-01&_sort=-date`)), [
    '755fd601-9cf7-446a-af1c-98f7bb3f0718', // 2018-04-08
    '2a3b56e8-aefe-42a4-9727-53dc003a798f', // 2016-03-16
    'cb640590-7961-49dc-b9fe-49a2f67d2d82', // 2015-04-05
  ]);
});

t.test('Claim?patient.identifier=..: claims found through the patient\'s SSN', async (t) => {
  const edward = await searchBundle(h, '/fhir/Claim?patient.identifier=http://hl7.org/fhir/sid/us-ssn|999-87-9731&_count=100');
  t.equal(edward.total, 9);
  t.ok((edward.entry ?? []).every((e) => (e.resource as { patient?: { reference?: string } }).patient?.reference === `Patient/${EDWARD}`));
  const desmond = await searchBundle(h, '/fhir/Claim?patient.identifier=999-79-2897&_summary=count');
  t.equal(desmond.total, 9);
  t.equal((await searchBundle(h, '/fhir/Claim?patient.identifier=http://hl7.org/fhir/sid/us-ssn|999-00-0000')).total, 0);
});

t.test('Patient?_has:Encounter:patient:date=..: patients with an encounter then', async (t) => {
  t.same(await ids(h, '/fhir/Patient?_has:Encounter:patient:date=2021-03-31'), [DESMOND]);
  t.same(await ids(h, '/fhir/Patient?_has:Encounter:patient:date=2013'), [EDWARD]);
  t.same(await ids(h, '/fhir/Patient?_has:Encounter:patient:date=2018'), [EDWARD, DESMOND].sort());
  t.same(await ids(h, '/fhir/Patient?_has:Encounter:patient:date=2019'), []);
});

t.test('Observation?code=http://loinc.org|..: by system and code, and with the patient', async (t) => {
  t.equal((await searchBundle(h, '/fhir/Observation?code=http://loinc.org|8302-2')).total, 6, 'Body Height: 3 each');
  t.equal((await searchBundle(h, `/fhir/Observation?code=http://loinc.org|8302-2&patient=${EDWARD}`)).total, 3);
  t.equal((await searchBundle(h, '/fhir/Observation?code=http://loinc.org|33914-3')).total, 3, 'eGFR: Edward only');
  t.equal((await searchBundle(h, '/fhir/Observation?code=http://snomed.info/sct|8302-2')).total, 0, 'the system matters');
});

t.test('demographics and the compartment', async (t) => {
  t.same(await ids(h, '/fhir/Patient?family=gutmann'), [DESMOND]);
  t.same(await ids(h, '/fhir/Patient?family=gulgowski&birthdate=1992-09-13'), [EDWARD]);
  t.same(await ids(h, '/fhir/Patient?birthdate=lt1990'), [DESMOND]);
  t.equal((await searchBundle(h, `/fhir/Patient/${EDWARD}/Encounter?_summary=count`)).total, 6);
  t.equal((await searchBundle(h, `/fhir/Patient/${DESMOND}/Claim?_summary=count`)).total, 9);
});
