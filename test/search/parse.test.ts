import t, { type Test } from 'tap';
import { FhirError } from '../../src/errors';
import { parseSearch } from '../../src/search/parse';
import type { Condition, ParamCondition, SearchValue } from '../../src/search/query';

const BASE = 'https://concord.example/fhir';
const NOW = new Date('2020-01-01T00:00:00Z');
const parse = (types: string[], pairs: Array<[string, string]>, strict = false) =>
  parseSearch(types, pairs, { strict, baseUrl: BASE, now: NOW });
const where = (type: string, pairs: Array<[string, string]>) => parse([type], pairs).query.where;
const only = (type: string, key: string, value: string): ParamCondition => {
  const [c] = where(type, [[key, value]]);
  if (!c || c.kind !== 'param') throw new Error(`expected a param condition, got ${JSON.stringify(c)}`);
  return c;
};
const values = (type: string, key: string, value: string): SearchValue[] => only(type, key, value).values;
const ms = (iso: string) => Date.parse(iso);

/** Asserts a 400 whose issue names the parameter. */
function rejects(t: Test, type: string, pairs: Array<[string, string]>, param: string, strict = false) {
  try {
    parse([type], pairs, strict);
    t.fail(`expected 400 for ${JSON.stringify(pairs)}`);
  } catch (e) {
    t.ok(e instanceof FhirError, 'FhirError');
    t.equal((e as FhirError).status, 400);
    t.same((e as FhirError).issues[0]!.expression, [param]);
  }
}

t.test('defaults and the id tie-breaker', async (t) => {
  const { query, warnings } = parse(['Patient'], []);
  t.same(query, { types: ['Patient'], where: [], sort: [{ code: '_id', descending: false, type: 'token' }], count: 20, offset: 0, total: 'estimate' });
  t.same(warnings, []);
});

t.test('token syntax', async (t) => {
  t.same(values('Patient', 'identifier', 'http://s|123'), [{ kind: 'token', system: 'http://s', code: '123' }]);
  t.same(values('Patient', 'identifier', '123'), [{ kind: 'token', code: '123' }]);
  t.same(values('Patient', 'identifier', '|123'), [{ kind: 'token', system: null, code: '123' }]);
  t.same(values('Patient', 'identifier', 'http://s|'), [{ kind: 'token', system: 'http://s' }]);
  t.same(values('Patient', 'identifier', 'a\\|b'), [{ kind: 'token', code: 'a|b' }], 'escaped bar');
  t.same(values('Observation', 'code', 'a,b'), [{ kind: 'token', code: 'a' }, { kind: 'token', code: 'b' }], 'comma = OR');
  t.same(values('Observation', 'code', 'a\\,b'), [{ kind: 'token', code: 'a,b' }], 'escaped comma');
  t.equal(only('Patient', 'gender:not', 'male').modifier, 'not');
  t.same(only('Observation', 'code:text', 'Blöod').values, [{ kind: 'string', value: 'Blöod', norm: 'blood' }]);
  t.same(values('Patient', 'identifier:of-type', 'http://t|MR|123'), [{ kind: 'of-type', typeSystem: 'http://t', typeCode: 'MR', value: '123' }]);
  rejects(t, 'Patient', [['identifier', 'a|b|c']], 'identifier');
  rejects(t, 'Patient', [['identifier:of-type', 'MR|123']], 'identifier:of-type');
  rejects(t, 'Patient', [['gender:in', 'http://vs']], 'gender:in');
});

t.test('token :in, :not-in, :above, :below compile to plain token conditions', async (t) => {
  const gender = 'http://hl7.org/fhir/administrative-gender';
  const inGender = only('Patient', 'gender:in', 'http://hl7.org/fhir/ValueSet/administrative-gender');
  t.equal(inGender.modifier, undefined, ':in is an OR of system|code values');
  t.same(inGender.values.map((v) => (v.kind === 'token' ? `${v.system}|${v.code}` : v.kind)).sort(), ['female', 'male', 'other', 'unknown'].map((c) => `${gender}|${c}`));
  t.equal(only('Patient', 'gender:not-in', 'http://hl7.org/fhir/ValueSet/administrative-gender').modifier, 'not', ':not-in is :not of the same values');
  t.same(only('Patient', 'gender:in', 'http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1').values, inGender.values, 'a |version is accepted');
  const actCode = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
  t.same(values('Encounter', 'class:below', `${actCode}|IMP`).map((v) => (v.kind === 'token' ? v.code : '')).sort(), ['ACUTE', 'IMP', 'NONAC']);
  t.same(values('Encounter', 'class:above', `${actCode}|AMB`).map((v) => (v.kind === 'token' ? v.code : '')).sort(), ['AMB', '_ActCareProvisionCode', '_ActEncounterCode'], 'every parent of a code under two');
  t.same(values('Encounter', 'class:below', `${actCode}|NOT-A-CODE`), [{ kind: 'token', system: actCode, code: 'NOT-A-CODE' }], 'an unknown code is only itself');
});

t.test('token terminology modifiers that cannot be answered are 400 naming the parameter', async (t) => {
  rejects(t, 'Observation', [['code:in', 'http://example.org/no-such-vs']], 'code:in');
  rejects(t, 'Condition', [['code:in', 'http://hl7.org/fhir/ValueSet/condition-code']], 'code:in');
  rejects(t, 'Observation', [['code:not-in', 'http://hl7.org/fhir/ValueSet/observation-codes']], 'code:not-in');
  rejects(t, 'Observation', [['code:below', 'http://loinc.org|8867-4']], 'code:below');
  rejects(t, 'Encounter', [['class:below', 'IMP']], 'class:below');
  rejects(t, 'Encounter', [['class:above', 'http://terminology.hl7.org/CodeSystem/v3-ActCode|']], 'class:above');
  rejects(t, 'Patient', [['family:in', 'http://hl7.org/fhir/ValueSet/administrative-gender']], 'family:in');
  try {
    parse(['Condition'], [['code:in', 'http://hl7.org/fhir/ValueSet/condition-code']]);
  } catch (e) {
    t.match((e as FhirError).issues[0], { code: 'not-supported', diagnostics: /code:in: .*snomed/ }, 'the reason is given');
  }
});

t.test('repetition = AND', async (t) => {
  const conditions = where('Patient', [['name', 'a'], ['name', 'b']]);
  t.equal(conditions.length, 2);
});

t.test('string syntax and modifiers', async (t) => {
  t.same(values('Patient', 'name', 'José  Núñez'), [{ kind: 'string', value: 'José  Núñez', norm: 'jose nunez' }]);
  t.equal(only('Patient', 'name:exact', 'Peter').modifier, 'exact');
  t.equal(only('Patient', 'name:contains', 'eter').modifier, 'contains');
  t.same(values('Patient', 'name', 'a\\$b\\\\c'), [{ kind: 'string', value: 'a$b\\c', norm: 'a$b\\c' }]);
  rejects(t, 'Patient', [['name:text', 'x']], 'name:text');
  t.same(where('Patient', [['name', '']]), [], 'an empty value is ignored');
});

t.test('date values: prefixes and precision ranges', async (t) => {
  t.same(values('Patient', 'birthdate', '2020'), [{ kind: 'date', prefix: 'eq', low: ms('2020-01-01T00:00:00Z'), high: ms('2021-01-01T00:00:00Z') - 1 }]);
  t.same(values('Patient', 'birthdate', 'lt2020-02-03'), [{ kind: 'date', prefix: 'lt', low: ms('2020-02-03T00:00:00Z'), high: ms('2020-02-04T00:00:00Z') - 1 }]);
  t.same(values('Observation', 'date', 'ge2020-01-01T10:00:00+01:00'), [{ kind: 'date', prefix: 'ge', low: ms('2020-01-01T09:00:00Z'), high: ms('2020-01-01T09:00:00.999Z') }]);
  t.same(values('Observation', 'date', 'sa2020-01-01T10:00Z'), [{ kind: 'date', prefix: 'sa', low: ms('2020-01-01T10:00:00Z'), high: ms('2020-01-01T10:01:00Z') - 1 }], 'minute precision');
  for (const p of ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']) {
    t.equal((values('Patient', 'birthdate', `${p}2019`)[0] as { prefix: string }).prefix, p);
  }
  // ap: widened by 10% of the distance to now (2020-01-01): 2010 is ~10 years away → ~1 year on each side.
  const [ap] = values('Patient', 'birthdate', 'ap2010-01-01') as Array<{ low: number; high: number }>;
  t.ok(ap!.low < ms('2009-01-15T00:00:00Z') && ap!.high > ms('2010-12-15T00:00:00Z'));
  rejects(t, 'Patient', [['birthdate', '2020-13']], 'birthdate');
  rejects(t, 'Patient', [['birthdate', '2019-02-29']], 'birthdate');
  rejects(t, 'Patient', [['birthdate', 'xx2020']], 'birthdate');
  rejects(t, 'Patient', [['birthdate', 'yesterday']], 'birthdate');
  rejects(t, 'Patient', [['birthdate:exact', '2020']], 'birthdate:exact');
});

t.test('number and quantity values', async (t) => {
  t.same(values('RiskAssessment', 'probability', '100'), [{ kind: 'number', prefix: 'eq', value: 100, low: 99.5, high: 100.5 }]);
  t.same(values('RiskAssessment', 'probability', 'gt1e2'), [{ kind: 'number', prefix: 'gt', value: 100, low: 50, high: 150 }]);
  const [ap] = values('RiskAssessment', 'probability', 'ap100') as Array<{ low: number; high: number }>;
  t.same([ap!.low, ap!.high], [90, 110]);
  const [q] = values('Observation', 'value-quantity', 'le5.4|http://unitsofmeasure.org|mg');
  t.match(q, { kind: 'quantity', prefix: 'le', value: 5.4, system: 'http://unitsofmeasure.org', code: 'mg' });
  t.ok(q?.kind === 'quantity' && Math.abs(q.low - 5.35) < 1e-9 && Math.abs(q.high - 5.45) < 1e-9, 'implied precision');
  t.same(values('Observation', 'value-quantity', '5||mg').map((v) => v.kind === 'quantity' && [v.system, v.code]), [[undefined, 'mg']]);
  rejects(t, 'RiskAssessment', [['probability', 'abc']], 'probability');
  rejects(t, 'RiskAssessment', [['probability', '1.2.3']], 'probability');
  rejects(t, 'Observation', [['value-quantity', '5|mg']], 'value-quantity');
  rejects(t, 'Patient', [['name', 'x'], ['given', 'y'], ['identifier:text', ''], ['active:exact', 'true']], 'active:exact');
});

t.test('prefixes only on ordered types', async (t) => {
  t.same(values('Patient', 'name', 'gt2020'), [{ kind: 'string', value: 'gt2020', norm: 'gt2020' }], 'a string keeps its text');
  t.same(values('Patient', 'identifier', 'ge5'), [{ kind: 'token', code: 'ge5' }]);
});

t.test('reference values', async (t) => {
  t.same(values('Observation', 'subject', 'Patient/1'), [{ kind: 'reference', ref: 'Patient/1' }]);
  t.same(values('Observation', 'subject', `${BASE}/Patient/1/_history/2`), [{ kind: 'reference', ref: 'Patient/1' }], 'under the base → relative');
  t.same(values('Observation', 'subject', 'http://other.org/fhir/Patient/1'), [{ kind: 'reference', ref: 'http://other.org/fhir/Patient/1' }]);
  t.same(values('Observation', 'subject:Patient', '1'), [{ kind: 'reference', ref: 'Patient/1' }]);
  t.notOk(only('Observation', 'subject:Patient', '1').modifier, 'the type is in the value, not the modifier');
  t.same(values('Observation', 'subject', '1'), [{ kind: 'reference', id: '1', targetTypes: ['Device', 'Group', 'Location', 'Patient'] }]);
  t.same(values('Patient', 'organization', '1'), [{ kind: 'reference', ref: 'Organization/1' }], 'single target');
  t.same(values('CarePlan', 'instantiates-canonical', 'http://x.org/PlanDefinition/pd|2.0'), [{ kind: 'reference', ref: 'http://x.org/PlanDefinition/pd', version: '2.0' }]);
  const identifier = only('Observation', 'subject:identifier', 'urn:npi|123');
  t.equal(identifier.modifier, 'identifier');
  t.same(identifier.values, [{ kind: 'token', system: 'urn:npi', code: '123' }]);
  rejects(t, 'Observation', [['subject:Practitioner', '1']], 'subject:Practitioner');
  rejects(t, 'Observation', [['subject:Patient', 'Group/1']], 'subject:Patient');
});

t.test('uri and :missing', async (t) => {
  t.same(only('ValueSet', 'url:below', 'http://x.org/').values, [{ kind: 'uri', value: 'http://x.org/' }]);
  t.same(only('Patient', 'birthdate:missing', 'true').values, [{ kind: 'missing', missing: true }]);
  t.same(only('Patient', 'name:missing', 'false').values, [{ kind: 'missing', missing: false }]);
  rejects(t, 'Patient', [['name:missing', 'yes']], 'name:missing');
});

t.test('composite values', async (t) => {
  t.same(values('Observation', 'code-value-quantity', 'http://loinc.org|8480-6$lt60'), [
    { kind: 'composite', components: [{ kind: 'token', system: 'http://loinc.org', code: '8480-6' }, { kind: 'quantity', prefix: 'lt', value: 60, low: 59.5, high: 60.5 }] },
  ]);
  t.same((values('Observation', 'code-value-string', 'a\\$b$x')[0] as { components: unknown[] }).components[0], { kind: 'token', code: 'a$b' }, 'escaped $');
  rejects(t, 'Observation', [['code-value-quantity', '8480-6']], 'code-value-quantity');
});

t.test('chains', async (t) => {
  const [chain] = where('Observation', [['subject:Patient.name', 'peter']]);
  t.same(chain, {
    kind: 'chain', code: 'subject',
    targets: [{ resourceType: 'Patient', where: { kind: 'param', code: 'name', type: 'string', values: [{ kind: 'string', value: 'peter', norm: 'peter' }] } }],
  });
  // Two levels; without a type modifier every target that defines the next parameter is kept.
  const [nested] = where('Observation', [['encounter.subject.identifier', 'a|b']]) as Condition[];
  t.equal(nested!.kind, 'chain');
  const inner = nested!.kind === 'chain' ? nested!.targets[0]!.where : undefined;
  t.equal(inner?.kind, 'chain');
  t.same(inner?.kind === 'chain' ? inner.targets.map((x) => x.resourceType) : [], ['Group', 'Patient']);
  // Among the subject targets (Device, Group, Location, Patient) only Location and Patient define `name`.
  const [ambiguous] = where('Observation', [['subject.name', 'x']]);
  t.same(ambiguous?.kind === 'chain' ? ambiguous.targets.map((x) => x.resourceType) : [], ['Location', 'Patient']);
  rejects(t, 'Observation', [['subject:Patient.birthdate', 'nope']], 'subject:Patient.birthdate');
  t.equal(parse(['Observation'], [['status.name', 'x']]).warnings.length, 1, 'chaining through a non-reference is unknown');
});

t.test('_has (reverse chain), nested', async (t) => {
  const [has] = where('Patient', [['_has:Observation:patient:_has:Provenance:target:agent', 'x']]);
  t.equal(has!.kind, 'has');
  if (has!.kind !== 'has') return;
  t.equal(has?.resourceType, 'Observation');
  t.equal(has?.referenceParam, 'patient');
  t.equal(has?.where.kind, 'has');
  rejects(t, 'Patient', [['_has:Observation:code:status', 'x']], '_has:Observation:code:status');
  rejects(t, 'Patient', [['_has:Nope:patient:code', 'x']], '_has:Nope:patient:code');
  rejects(t, 'Patient', [['_has:Observation', 'x']], '_has:Observation');
  // The access log is kept apart from the index tables _has joins (src/search/audit-log-search.ts).
  rejects(t, 'Patient', [['_has:AuditEvent:entity:type', 'x']], '_has:AuditEvent:entity:type');
});

t.test('_include and _revinclude', async (t) => {
  const { query } = parse(['Observation'], [
    ['_include', 'Observation:subject:Patient'],
    ['_include:iterate', 'Patient:general-practitioner'],
    ['_revinclude', 'Provenance:target'],
    ['_include', '*'],
  ]);
  t.same(query.include, [
    { sourceType: 'Observation', param: 'subject', iterate: false, targetType: 'Patient' },
    { sourceType: 'Patient', param: 'general-practitioner', iterate: true },
    { sourceType: '*', param: '*', iterate: false },
  ]);
  t.same(query.revinclude, [{ sourceType: 'Provenance', param: 'target', iterate: false }]);
  rejects(t, 'Observation', [['_include', 'Observation']], '_include');
  rejects(t, 'Observation', [['_include', 'Observation:subject:Medication']], '_include');
  rejects(t, 'Observation', [['_include:deep', 'Observation:subject']], '_include:deep');
});

t.test('_sort, _count, _total, _summary, _elements', async (t) => {
  const { query, warnings } = parse(['Observation'], [
    ['_sort', '-date,code'], ['_count', '5000'], ['_total', 'none'], ['_elements', 'id,code'],
  ]);
  t.same(query.sort, [
    { code: 'date', descending: true, type: 'date' },
    { code: 'code', descending: false, type: 'token' },
    { code: '_id', descending: false, type: 'token' },
  ]);
  t.equal(query.count, 1000, 'capped');
  t.equal(warnings.length, 1);
  t.equal(query.total, 'none');
  t.same(query.elements, ['id', 'code']);
  t.equal(parse(['Patient'], [['_summary', 'count']]).query.count, 0);
  t.equal(parse(['Patient'], []).query.total, 'estimate', 'no _total: counted up to the cap');
  t.equal(parse(['Patient'], [['_total', 'accurate']]).query.total, 'accurate');
  t.equal(parse(['Patient'], [['_summary', 'count']]).query.total, 'accurate', '_summary=count asks for the exact count');
  t.equal(parse(['Patient'], [['_summary', 'count'], ['_total', 'estimate']]).query.total, 'estimate', 'unless _total says otherwise');
  t.equal(parse(['Patient'], [['_total', 'none'], ['_summary', 'count']]).query.total, 'none', 'whatever the order');
  rejects(t, 'Patient', [['_count', '-1']], '_count');
  rejects(t, 'Patient', [['_count', 'ten']], '_count');
  rejects(t, 'Patient', [['_total', 'some']], '_total');
  rejects(t, 'Patient', [['_summary', 'yes']], '_summary');
  rejects(t, 'Patient', [['_sort', 'code-value-quantity']], '_sort', true);
});

t.test('_type narrows a system search; only common parameters apply', async (t) => {
  const all = ['Patient', 'Observation', 'Practitioner'];
  t.same(parse(all, [['_type', 'Patient,Practitioner']]).query.types, ['Patient', 'Practitioner']);
  t.same(parse(all, [['_type', 'Patient,Practitioner'], ['name', 'x']]).query.where.length, 1, 'name is common to both');
  t.equal(parse(all, [['name', 'x']]).warnings.length, 1, 'name is not defined on Observation');
  t.equal(parse(all, [['_lastUpdated', 'gt2020']]).query.where.length, 1);
  rejects(t, 'Patient', [['_type', 'Nope']], '_type');
});

t.test('unknown parameters: warning, or 400 when strict', async (t) => {
  const { warnings, query } = parse(['Patient'], [['foo', '1'], ['_format', 'json'], ['_text', 'x']]);
  t.same(warnings.map((w) => [w.severity, w.expression]), [['warning', ['foo']], ['warning', ['_text']]]);
  t.same(query.where, []);
  rejects(t, 'Patient', [['foo', '1']], 'foo', true);
  rejects(t, 'Patient', [['name:fuzzy', 'x']], 'name:fuzzy');
});
