import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { AnyResource } from '../../src/fhir/types';
import { MAX_INSTANT, MIN_INSTANT } from '../../src/search/date-range';
import type { IndexEntry } from '../../src/search/index-entry';
import { createIndexer, interpretedExpressions, skippedExpressions } from '../../src/search/indexer';

const BASE = 'https://concord.example/fhir';
const index = createIndexer({ baseUrl: BASE });

const fixture = (name: string): AnyResource =>
  JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'search', name), 'utf8')) as AnyResource;

const of = <K extends IndexEntry['kind']>(entries: IndexEntry[], param: string, kind: K) =>
  entries.filter((e): e is Extract<IndexEntry, { kind: K }> => e.param === param && e.kind === kind);

const ms = (iso: string) => Date.parse(iso);

t.test('official Patient example', async (t) => {
  const entries = index(fixture('Patient-example.json'));
  const family = of(entries, 'family', 'string').map((e) => e.exact);
  t.same(family.sort(), ['Chalmers', 'Windsor']);
  // `name` indexes every part of every HumanName.
  const name = of(entries, 'name', 'string').map((e) => e.norm);
  for (const part of ['chalmers', 'peter', 'james', 'jim', 'windsor']) t.ok(name.includes(part), part);
  t.same(of(entries, 'birthdate', 'date'), [{ param: 'birthdate', kind: 'date', low: ms('1974-12-25T00:00:00Z'), high: ms('1974-12-26T00:00:00Z') - 1 }]);
  t.same(of(entries, 'organization', 'reference'), [
    { param: 'organization', kind: 'reference', ref: 'Organization/1', targetType: 'Organization', targetId: '1' },
  ]);
  t.same(of(entries, 'identifier', 'token'), [
    {
      param: 'identifier', kind: 'token', system: 'urn:oid:1.2.36.146.595.217.0.1', code: '12345',
      typeSystem: 'http://terminology.hl7.org/CodeSystem/v2-0203', typeCode: 'MR',
    },
  ]);
  t.ok(of(entries, 'phone', 'token').some((e) => e.system === 'phone' && e.code === '(03) 5555 6473'));
  t.same(of(entries, 'address-city', 'string').map((e) => e.norm), ['pleasantville']);
  t.same(of(entries, 'gender', 'token').map((e) => e.code), ['male']);
  t.same(of(entries, 'active', 'token').map((e) => e.code), ['true']);
  // `_id` is a column of every store, not an index entry.
  t.equal(entries.filter((e) => e.param === '_id').length, 0);
});

t.test('official Observation example: tokens with text, composites per component', async (t) => {
  const entries = index(fixture('Observation-blood-pressure.json'));
  const code = of(entries, 'code', 'token');
  t.ok(code.some((e) => e.system === 'http://loinc.org' && e.code === '85354-9' && e.text === 'blood pressure panel with all children optional'));
  t.ok(code.some((e) => e.system === null && e.code === null && e.text === 'blood pressure systolic & diastolic'), 'CodeableConcept.text');
  t.same(of(entries, 'subject', 'reference').map((e) => e.ref), ['Patient/example']);
  t.same(of(entries, 'patient', 'reference').map((e) => e.ref), ['Patient/example'], 'where(resolve() is Patient) rewritten');

  const combos = of(entries, 'component-code-value-quantity', 'composite');
  const pairs = combos.map((c) => {
    const [codeEntry, quantity] = c.components as [IndexEntry, IndexEntry];
    return [codeEntry.kind === 'token' ? codeEntry.code : '?', quantity.kind === 'quantity' ? quantity.value : '?'];
  });
  // Each component's code is paired with its own value only.
  t.ok(pairs.some(([c, v]) => c === '8480-6' && v === 107));
  t.ok(pairs.some(([c, v]) => c === '8462-4' && v === 60));
  t.notOk(pairs.some(([c, v]) => c === '8480-6' && v === 60));
  t.equal(combos[0]!.components[0]!.param, 'component-code');
});

t.test('date precision, periods, timing and time zones', async (t) => {
  const dates = (resource: Record<string, unknown>, param: string) =>
    of(index({ resourceType: 'Observation', status: 'final', code: {}, ...resource } as AnyResource), param, 'date').map((e) => [e.low, e.high]);
  t.same(dates({ effectiveDateTime: '2020' }, 'date'), [[ms('2020-01-01T00:00:00Z'), ms('2021-01-01T00:00:00Z') - 1]]);
  t.same(dates({ effectiveDateTime: '2020-02' }, 'date'), [[ms('2020-02-01T00:00:00Z'), ms('2020-03-01T00:00:00Z') - 1]], 'leap February');
  t.same(dates({ effectiveDateTime: '2020-03-04T10:00:00+02:00' }, 'date'), [[ms('2020-03-04T08:00:00Z'), ms('2020-03-04T08:00:00.999Z')]]);
  t.same(dates({ effectivePeriod: { start: '2020-01-01' } }, 'date'), [[ms('2020-01-01T00:00:00Z'), MAX_INSTANT]], 'open end');
  t.same(dates({ effectivePeriod: { end: '2020-01-01' } }, 'date'), [[MIN_INSTANT, ms('2020-01-02T00:00:00Z') - 1]], 'open start');
  t.same(dates({ effectiveTiming: { event: ['2020-01-01', '2020-06-01'] } }, 'date').length, 2);
  t.same(dates({ effectiveDateTime: 'not a date' }, 'date'), [], 'garbage is not indexed');
});

t.test('strings: accents, case, whitespace; exact kept', async (t) => {
  const entries = index({ resourceType: 'Patient', name: [{ family: 'Ñúñez  Gómez', given: ['José'] }, { text: 'Zoë' }] } as AnyResource);
  const family = of(entries, 'family', 'string');
  t.same(family, [{ param: 'family', kind: 'string', norm: 'nunez gomez', exact: 'Ñúñez  Gómez' }]);
  t.same(of(entries, 'name', 'string').map((e) => e.norm).sort(), ['jose', 'nunez gomez', 'zoe']);
});

t.test('references: absolute under base, versioned, external, contained, identifier, canonical', async (t) => {
  const resource = {
    resourceType: 'Observation',
    status: 'final',
    code: {},
    contained: [{ resourceType: 'Practitioner', id: 'p1' }],
    subject: { reference: `${BASE}/Patient/42/_history/3` },
    performer: [
      { reference: '#p1' },
      { reference: 'http://elsewhere.org/fhir/Practitioner/9/_history/1' },
      { identifier: { system: 'urn:npi', value: '123' }, type: 'Practitioner' },
    ],
    focus: [{ reference: 'Condition/7/_history/2' }],
  } as AnyResource;
  const entries = index(resource);
  t.same(of(entries, 'subject', 'reference'), [{ param: 'subject', kind: 'reference', ref: 'Patient/42', targetType: 'Patient', targetId: '42' }]);
  t.same(of(entries, 'patient', 'reference').map((e) => e.ref), ['Patient/42']);
  t.same(of(entries, 'focus', 'reference').map((e) => e.ref), ['Condition/7']);
  const performer = of(entries, 'performer', 'reference');
  t.same(performer[0], { param: 'performer', kind: 'reference', ref: '#p1', targetType: 'Practitioner', targetId: null });
  t.same(performer[1], {
    param: 'performer', kind: 'reference', ref: 'http://elsewhere.org/fhir/Practitioner/9', targetType: 'Practitioner', targetId: null,
  });
  t.same(performer[2], {
    param: 'performer', kind: 'reference', ref: null, targetType: 'Practitioner', targetId: null, identifierSystem: 'urn:npi', identifierValue: '123',
  });

  const plan = index({ resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: 'Group/g' }, instantiatesCanonical: ['http://x.org/PlanDefinition/pd|2.0'] } as AnyResource);
  t.same(of(plan, 'patient', 'reference'), [], 'resolve() is Patient filters out a Group subject');
  t.same(of(plan, 'instantiates-canonical', 'reference').map((e) => [e.ref, e.version]), [['http://x.org/PlanDefinition/pd', '2.0']]);
});

t.test('numbers and quantities', async (t) => {
  const entries = index({
    resourceType: 'Observation', status: 'final', code: {},
    valueQuantity: { value: 100, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
  } as AnyResource);
  t.same(of(entries, 'value-quantity', 'quantity'), [
    { param: 'value-quantity', kind: 'quantity', value: 100, low: 99.5, high: 100.5, system: 'http://unitsofmeasure.org', code: 'mg', unit: 'mg' },
  ]);
  const risk = index({ resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/1' }, prediction: [{ probabilityDecimal: 0.25 }] } as AnyResource);
  const probability = of(risk, 'probability', 'number')[0]!;
  t.equal(probability.value, 0.25);
  t.ok(Math.abs(probability.low - 0.245) < 1e-12 && Math.abs(probability.high - 0.255) < 1e-12);
});

t.test('meta parameters and resource-level tokens', async (t) => {
  const entries = index({
    resourceType: 'Patient',
    meta: { lastUpdated: '2021-05-06T07:08:09.123Z', tag: [{ system: 's', code: 't' }], security: [{ system: 'v', code: 'R' }], profile: ['http://p.org/SD/x'], source: 'http://src#1' },
  } as AnyResource);
  t.same(of(entries, '_lastUpdated', 'date'), [{ param: '_lastUpdated', kind: 'date', low: ms('2021-05-06T07:08:09.123Z'), high: ms('2021-05-06T07:08:09.123Z') }]);
  t.same(of(entries, '_tag', 'token').map((e) => [e.system, e.code]), [['s', 't']]);
  t.same(of(entries, '_security', 'token').map((e) => [e.system, e.code]), [['v', 'R']]);
  t.ok(entries.some((e) => e.param === '_profile'), '_profile indexed');
  t.same(of(entries, '_source', 'uri').map((e) => e.value), ['http://src#1']);
});

t.test('a failing expression never breaks a write', async (t) => {
  const errors: string[] = [];
  const guarded = createIndexer({ baseUrl: BASE, onError: (_e, type, param) => errors.push(`${type}.${param}`) });
  // A Quantity with a comparator inside a union used to make fhirpath.js throw; now evaluated part by part.
  const entries = guarded({
    resourceType: 'Observation', status: 'final', code: {},
    component: [{ code: { text: 'x' }, valueQuantity: { value: 5, comparator: '<' } }, { code: { text: 'y' }, valueCodeableConcept: { text: 'z' } }],
  } as AnyResource);
  t.same(errors, []);
  t.equal(of(entries, 'component-value-quantity', 'quantity').length, 1);
  t.same(skippedExpressions('Location').map((s) => s.code), ['near']);
  t.same(skippedExpressions('Patient'), []);
});

t.test('indexing leaves the resource unchanged', async (t) => {
  const resource = fixture('Encounter-example.json');
  const before = JSON.stringify(resource);
  t.ok(index(resource).length > 0);
  t.equal(JSON.stringify(resource), before);
});

t.test('the common expression shapes run as compiled navigation, not through fhirpath.js', async (t) => {
  // Dotted paths, ofType(), where(system='phone'), extension(url) and the composite components all compile.
  for (const type of ['Observation', 'Encounter', 'Condition', 'Claim', 'ExplanationOfBenefit', 'MedicationRequest', 'Appointment', 'Consent']) {
    t.same(interpretedExpressions(type), [], type);
  }
  // What remains interpreted: a boolean expression, an index, %resource, a where() with a function inside.
  t.same(interpretedExpressions('Patient'), [{ code: 'deceased', expression: 'Patient.deceased.exists() and Patient.deceased != false' }]);
  t.same(interpretedExpressions('Bundle').map((e) => e.expression), ['Bundle.entry[0].resource', 'Bundle.entry[0].resource']);
  // The interpreted ones still index.
  const entries = index({ resourceType: 'Patient', deceasedDateTime: '2020-01-01' } as AnyResource);
  t.same(of(entries, 'deceased', 'token').map((e) => e.code), ['true']);
});
