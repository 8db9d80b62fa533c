import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { projectRoot } from '../../src/paths';
import { errorKeys, errors, validator } from './helpers';

/** The official examples that claim a vital-signs profile (copied by `npm run conformance`). */
const dir = join(projectRoot, 'test', 'fixtures', 'profile-examples');
const SD = 'http://hl7.org/fhir/StructureDefinition/';

function vital(name: string, profile?: string): Record<string, unknown> {
  const resource = JSON.parse(readFileSync(join(dir, `Observation-${name}.json`), 'utf8')) as Record<string, unknown>;
  if (profile) resource.meta = { profile: [`${SD}${profile}`] };
  return resource;
}

/** Each example's own profile of the family (they claim only the vitalsigns parent). */
const OWN_PROFILE: Record<string, string> = {
  'blood-pressure': 'bp', 'blood-pressure-cancel': 'bp', 'blood-pressure-dar': 'bp', bmi: 'bmi', 'body-height': 'bodyheight',
  'body-length': 'bodyheight', 'body-temperature': 'bodytemp', 'head-circumference': 'headcircum', 'heart-rate': 'heartrate',
  'respiratory-rate': 'resprate', satO2: 'oxygensat', 'vitals-panel': 'vitalspanel',
};

t.test('the official vital-signs examples conform to vitalsigns and to their own profile', async (t) => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  t.equal(files.length, 12, 'the twelve examples are present');
  for (const file of files) {
    const name = file.slice('Observation-'.length, -'.json'.length);
    t.same(validator.validate(vital(name)), [], `${file} as published (vitalsigns), no issue at all`);
    t.same(errorKeys(vital(name, OWN_PROFILE[name])), [], `${file} against ${OWN_PROFILE[name]}`);
  }
});

t.test('a claimed core profile is checked, no longer "unknown"', async (t) => {
  const issues = validator.validate(vital('heart-rate', 'heartrate'));
  t.notOk(issues.some((i) => i.code === 'not-supported'));
});

t.test('vitalsigns: the VSCat category slice, the subject, effective[x] and vs-2', async (t) => {
  const o = vital('heart-rate');
  t.same(errorKeys({ ...o, category: undefined }), ['required@Observation.category', 'required@Observation.category'], 'no category: the element and its slice');
  const other = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }];
  t.same(errorKeys({ ...o, category: other }), ['required@Observation.category'], 'a category, but not vital-signs: the required slice is missing');
  const twice = [...(o.category as unknown[]), ...(o.category as unknown[])];
  t.same(errorKeys({ ...o, category: twice }), ['structure@Observation.category'], 'two entries in a slice of max 1');
  t.same(errorKeys({ ...o, subject: { reference: 'Group/g1' } }), ['invalid@Observation.subject.reference'], 'subject narrowed to Patient');
  t.same(errorKeys({ ...o, effectiveDateTime: undefined }), ['required@Observation.effective'], 'effective[x] is required');
  t.same(errorKeys({ ...o, effectiveDateTime: '2012' }), ['invariant@Observation.effectiveDateTime'], 'vs-1: a dateTime precise to the day');
  t.same(errorKeys({ ...o, valueQuantity: undefined }), ['invariant@Observation'], 'vs-2: a value, a component, a member or a data absent reason');
});

t.test('bp: the systolic and diastolic component slices', async (t) => {
  const bp = vital('blood-pressure', 'bp');
  const [systolic, diastolic] = bp.component as Record<string, unknown>[];
  const diag = (r: unknown) => errors(validator.validate(r)).map((i) => i.diagnostics ?? '');

  t.same(errorKeys({ ...bp, component: [diastolic, diastolic] }), ['required@Observation.component', 'structure@Observation.component'], 'no systolic, two diastolic');
  t.match(diag({ ...bp, component: [diastolic, diastolic] }), [/slice SystolicBP: minimum required = 1, but only found 0 \(profile observation-bp\)/, /slice DiastolicBP: maximum allowed = 1, but found 2/]);
  t.same(errorKeys({ ...bp, component: [diastolic] }), ['required@Observation.component', 'required@Observation.component'], 'one component of min 2, the systolic slice missing');

  const wrongUnit = { ...systolic, valueQuantity: { ...(systolic!.valueQuantity as object), code: 'kPa' } };
  t.same(errorKeys({ ...bp, component: [wrongUnit, diastolic] }), ['value@Observation.component[0].valueQuantity.code'], 'wrong fixed unit code in a slice');

  const wrongCode = { ...systolic, code: { coding: [{ system: 'http://loinc.org', code: '8478-0' }] } };
  t.same(errorKeys({ ...bp, component: [wrongCode, diastolic] }), ['required@Observation.component'], 'a component whose code is not systolic belongs to no slice');

  const stringValue = { code: systolic!.code, valueString: '107' };
  t.same(errorKeys({ ...bp, component: [stringValue, diastolic] }), ['structure@Observation.component[0].valueString'], 'the slice allows Quantity only');

  t.same(errorKeys({ ...bp, valueQuantity: { value: 1, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } }), ['structure@Observation.value'], 'value[x] slice of max 0');
  t.same(errorKeys({ ...bp, code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] } }), ['required@Observation.code.coding'], 'the BPCode coding slice');
});

t.test('bodytemp: value type, required unit codes and pinned unit system', async (t) => {
  const temp = vital('body-temperature', 'bodytemp');
  const quantity = temp.valueQuantity as Record<string, unknown>;
  t.same(errorKeys({ ...temp, valueQuantity: undefined, valueString: '36.5' }), ['structure@Observation.valueString'], 'a string value where only Quantity is allowed');
  t.same(errorKeys({ ...temp, valueQuantity: { ...quantity, code: 'K' } }), ['code-invalid@Observation.valueQuantity.code'], 'Kelvin is not in ucum-bodytemp');
  t.same(errorKeys({ ...temp, valueQuantity: { ...quantity, system: 'http://example.org/units' } }), ['value@Observation.valueQuantity.system'], 'the UCUM system is fixed');
  const { unit: _u, ...noUnit } = quantity;
  t.same(errorKeys({ ...temp, valueQuantity: noUnit }), ['required@Observation.valueQuantity.unit'], 'unit is required in the slice');
});

t.test('a profile of the profiles folder and the core profiles share one engine', async (t) => {
  t.same(errorKeys({ ...vital('heart-rate'), meta: { profile: ['http://concord.example/fhir/StructureDefinition/concord-consent'] } }), ['invalid@Observation.meta.profile[0]']);
});
