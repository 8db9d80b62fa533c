/** Chained parameters, `_has` and `_include` / `_revinclude` over HTTP (expected ids worked out from fixtures.ts). */
import t, { type Test } from 'tap';
import { searchDeletions, searchFixtures } from './fixtures';
import { harnessWith, ids, includedRefs, matchIds, searchBundle, type Harness } from './helpers';

let h: Harness;
t.before(async () => {
  h = await harnessWith(searchFixtures, searchDeletions);
});
t.teardown(() => h.close());

const expectIds = async (t: Test, url: string, expected: string[]) => t.same(await ids(h, url), [...expected].sort(), url);

t.test('chain one level, with and without the :Type of the reference', async (t) => {
  await expectIds(t, '/fhir/Observation?subject:Patient.name=peter', ['obs-1', 'obs-2']);
  await expectIds(t, '/fhir/Observation?subject.name=peter', ['obs-1', 'obs-2']);
  await expectIds(t, '/fhir/Observation?subject:Patient.birthdate=1980', ['obs-3', 'obs-4']);
});

t.test('chain two levels deep', async (t) => {
  await expectIds(t, '/fhir/Observation?encounter.subject.identifier=urn:example:mrn|1001', ['obs-1']);
  await expectIds(t, '/fhir/Observation?encounter.subject:Patient.birthdate=1980', ['obs-3']);
  await expectIds(t, '/fhir/Encounter?subject:Patient.organization.name=acme', ['enc-1', 'enc-2']);
});

t.test('_has, through relative and absolute references', async (t) => {
  await expectIds(t, '/fhir/Patient?_has:Observation:subject:code=8867-4', ['pat-peter', 'pat-jose']);
  await expectIds(t, '/fhir/Patient?_has:Observation:patient:code=29463-7', ['pat-peter']);
  await expectIds(t, '/fhir/Patient?_has:Encounter:subject:status=cancelled', ['pat-anna']);
});

t.test('_has nested', async (t) => {
  await expectIds(t, '/fhir/Patient?_has:Encounter:subject:_has:Observation:encounter:code=8867-4', ['pat-peter', 'pat-jose']);
  await expectIds(t, '/fhir/Patient?_has:Encounter:subject:_has:Observation:encounter:value-quantity=gt90', ['pat-jose']);
});

t.test('_include: marked include, never a repeat of a match', async (t) => {
  const bundle = await searchBundle(h, '/fhir/Observation?code=8867-4&_include=Observation:subject');
  t.same(matchIds(bundle).sort(), ['obs-1', 'obs-3']);
  t.same(includedRefs(bundle), ['Patient/pat-jose', 'Patient/pat-peter']);
  const targetTyped = await searchBundle(h, '/fhir/Observation?_id=obs-1&_include=Observation:subject:Group');
  t.same(includedRefs(targetTyped), [], 'only targets of the named type');
  const selfLinked = await searchBundle(h, '/fhir/Patient?_id=pat-peter,pat-link&_include=Patient:link');
  t.same(matchIds(selfLinked).sort(), ['pat-link', 'pat-peter']);
  t.same(includedRefs(selfLinked), [], 'pat-peter is already a match');
});

t.test('_include:iterate follows included resources; plain _include does not', async (t) => {
  const iterated = await searchBundle(h, '/fhir/Encounter?_id=enc-1&_include=Encounter:subject&_include:iterate=Patient:organization');
  t.same(includedRefs(iterated), ['Organization/org-1', 'Patient/pat-peter']);
  const plain = await searchBundle(h, '/fhir/Encounter?_id=enc-1&_include=Encounter:subject&_include=Patient:organization');
  t.same(includedRefs(plain), ['Patient/pat-peter']);
});

t.test('_include=* includes every reference of the matches', async (t) => {
  const bundle = await searchBundle(h, '/fhir/Encounter?_id=enc-1&_include=*');
  t.same(includedRefs(bundle), ['Patient/pat-peter', 'Practitioner/prac-1']);
});

t.test('_revinclude, with :iterate and *', async (t) => {
  const rev = await searchBundle(h, '/fhir/Patient?_id=pat-peter&_revinclude=Observation:subject');
  t.same(includedRefs(rev), ['Observation/obs-1', 'Observation/obs-2']);
  const iterated = await searchBundle(h, '/fhir/Patient?_id=pat-peter&_revinclude=Encounter:subject&_revinclude:iterate=Observation:encounter');
  t.same(includedRefs(iterated), ['Encounter/enc-1', 'Encounter/enc-2', 'Observation/obs-1']);
  const all = await searchBundle(h, '/fhir/Patient?_id=pat-jose&_revinclude=*');
  t.same(includedRefs(all), ['Encounter/enc-3', 'Observation/obs-3', 'RiskAssessment/risk-1']);
});
