/**
 * Searches over official R4 examples (test/fixtures/search, CC0): Patient
 * "example" (Peter James Chalmers, usual name Jim, maiden name Windsor),
 * Encounter "example" and Observation "blood-pressure" (systolic 107,
 * diastolic 60, 2012-09-17) for that patient, Observation "f205" (eGFR) for
 * Patient/f201, which is not loaded.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { AnyResource } from '../../src/fhir/types';
import { harnessWith, ids, includedRefs, matchIds, searchBundle, type Harness } from './helpers';

const folder = join(__dirname, '../fixtures/search');
const examples = readdirSync(folder)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(folder, f), 'utf8')) as AnyResource);

let h: Harness;
t.before(async () => {
  h = await harnessWith(examples);
});
t.teardown(() => h.close());

t.test('every name of the patient is searchable', async (t) => {
  for (const name of ['peter', 'jim', 'windsor', 'chalmers']) t.same(await ids(h, `/fhir/Patient?name=${name}`), ['example'], name);
  t.same(await ids(h, '/fhir/Patient?given:exact=Jim'), ['example']);
});

t.test('components of the blood pressure panel', async (t) => {
  t.same(await ids(h, '/fhir/Observation?component-code-value-quantity=http://loinc.org|8480-6$107'), ['blood-pressure']);
  t.same(await ids(h, '/fhir/Observation?component-code-value-quantity=http://loinc.org|8480-6$60'), []);
  t.same(await ids(h, '/fhir/Observation?combo-code=http://loinc.org|8462-4'), ['blood-pressure']);
  t.same(await ids(h, '/fhir/Observation?date=2012-09'), ['blood-pressure']);
});

t.test('references to a loaded and to a missing patient', async (t) => {
  const bundle = await searchBundle(h, '/fhir/Observation?subject=Patient/example&_include=Observation:subject');
  t.same(matchIds(bundle), ['blood-pressure']);
  t.same(includedRefs(bundle), ['Patient/example']);
  const dangling = await searchBundle(h, '/fhir/Observation?subject=Patient/f201&_include=Observation:subject');
  t.same(matchIds(dangling), ['f205']);
  t.same(includedRefs(dangling), [], 'nothing to include: Patient/f201 is not on this server');
  t.same(await ids(h, '/fhir/Observation?subject.name=roel'), [], 'a chain needs the target resource, not the display');
  t.same(await ids(h, '/fhir/Patient?_has:Encounter:subject:status=in-progress'), ['example']);
});
