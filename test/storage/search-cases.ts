/**
 * Engine-neutral search cases: hand-made fixtures, written through the port
 * with the real indexer, and searches whose expected ids were worked out by
 * hand from http://hl7.org/fhir/R4/search.html and the semantics in
 * src/search/query.ts. Every adapter (and the MongoDB differential test) runs
 * the same cases: `await writeSearchFixtures(storage)`, then for each case
 * `storage.search(searchContext(case), case.query)` must return
 * `case.expectedIds` in that order (`Type/id`).
 *
 * Queries are written as FHIR query strings and parsed by the server's own
 * parser, so a case reads like the request a client would send; the IR-only
 * conditions (any/not/constant, used by the access layer) are built by hand.
 */
import type { AccessFilter, RequestContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { createIndexer } from '../../src/search/indexer';
import { parseSearch } from '../../src/search/parse';
import type { Condition, SearchQuery } from '../../src/search/query';
import { conformanceTerminology } from '../../src/terminology/conformance-terminology';
import { layeredTerminology, resourceTerminology } from '../../src/terminology/resource-terminology';
import type { StorageOps } from '../../src/storage/port';
import { contextAt } from './contract-fixtures';

export const searchBaseUrl = 'http://concord.test/fhir';
export const searchIndexer = createIndexer({ baseUrl: searchBaseUrl });

const mrn = 'urn:example:mrn';
const loinc = 'http://loinc.org';
const ucum = 'http://unitsofmeasure.org';
const snomed = 'http://snomed.info/sct';
const v2IdentifierType = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const tagSystem = 'urn:example:tag';

/** "now" for the parser (`ap` on dates) and the clock of every fixture write: fixture i is written at writeTime(i). */
export const searchNow = new Date('2024-06-01T00:00:00.000Z');
export const writeTime = (i: number): string => new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString();

const patient = (id: string, extra: Record<string, unknown>): AnyResource => ({ resourceType: 'Patient', id, ...extra });
const quantity = (value: number, code?: string, unit?: string) => ({
  value,
  ...(code ? { system: ucum, code } : {}),
  ...(unit ? { unit } : {}),
});
const coding = (system: string, code: string, display?: string) => ({ system, code, ...(display ? { display } : {}) });

/**
 * Created in this order (fixture i at writeTime(i)); then `fixtureChanges`
 * run in their order at writeTime(100 + j).
 */
export const searchFixtures: AnyResource[] = [
  patient('pat-peter', {
    meta: { tag: [{ system: tagSystem, code: 'vip' }] },
    active: true,
    identifier: [{ system: mrn, value: 'P100', type: { coding: [coding(v2IdentifierType, 'MR')] } }],
    name: [
      { family: 'Chalmers', given: ['Peter', 'James'] },
      { use: 'nickname', family: 'Windsor' },
    ],
    gender: 'male',
    birthDate: '1974-12-25',
    address: [{ city: 'Brisbane' }],
  }),
  patient('pat-zoe', {
    meta: { tag: [{ system: tagSystem, code: 'research' }] },
    identifier: [{ system: mrn, value: 'P200' }],
    name: [{ family: 'Ångström', given: ['Zoë'] }],
    gender: 'female',
    birthDate: '1980-03',
    address: [{ city: 'Paris' }],
  }),
  patient('pat-anna', { name: [{ family: 'Chalmers-Smith', given: ['Anna'] }], gender: 'female', birthDate: '1980' }),
  patient('pat-nobirth', { name: [{ family: 'Unknown' }] }),
  patient('pat-deleted', { name: [{ family: 'Chalmers' }], gender: 'male', birthDate: '1980-03-03' }),
  patient('pat-updated', { name: [{ family: 'Oldname' }], gender: 'other' }),
  { resourceType: 'Practitioner', id: 'pr1', name: [{ family: 'Careful', given: ['Adam'] }], identifier: [{ system: 'urn:npi', value: 'N1' }] },
  { resourceType: 'Organization', id: 'org1', name: 'Acme Clinic' },
  {
    resourceType: 'Encounter',
    id: 'enc1',
    status: 'finished',
    class: coding('http://terminology.hl7.org/CodeSystem/v3-ActCode', 'AMB'),
    subject: { reference: 'Patient/pat-peter' },
    participant: [{ individual: { reference: 'Practitioner/pr1' } }],
    serviceProvider: { reference: 'Organization/org1' },
    period: { start: '2020-01-10T09:00:00Z', end: '2020-01-10T10:00:00Z' },
  },
  {
    resourceType: 'Encounter',
    id: 'enc2',
    status: 'in-progress',
    class: coding('http://terminology.hl7.org/CodeSystem/v3-ActCode', 'IMP'),
    subject: { reference: `${searchBaseUrl}/Patient/pat-peter` },
    period: { start: '2021-05-01' },
  },
  {
    resourceType: 'Encounter',
    id: 'enc3',
    status: 'finished',
    class: coding('http://terminology.hl7.org/CodeSystem/v3-ActCode', 'AMB'),
    subject: { reference: 'Patient/pat-zoe' },
    period: { start: '2020-01-01', end: '2020-01-31' },
  },
  {
    resourceType: 'Encounter',
    id: 'enc-del',
    status: 'cancelled',
    class: coding('http://terminology.hl7.org/CodeSystem/v3-ActCode', 'AMB'),
    subject: { reference: 'Patient/pat-zoe' },
  },
  {
    resourceType: 'Encounter',
    id: 'enc-of-deleted',
    status: 'finished',
    class: coding('http://terminology.hl7.org/CodeSystem/v3-ActCode', 'AMB'),
    subject: { reference: 'Patient/pat-deleted' },
  },
  {
    resourceType: 'Observation',
    id: 'obs1',
    status: 'final',
    code: { coding: [coding(loinc, '8867-4', 'Heart rate')] },
    subject: { reference: 'Patient/pat-peter' },
    encounter: { reference: 'Encounter/enc1' },
    effectiveDateTime: '2020-01-10T09:30:00Z',
    valueQuantity: quantity(72, '/min', 'beats/minute'),
  },
  {
    resourceType: 'Observation',
    id: 'obs2',
    status: 'final',
    code: { coding: [coding(loinc, '8867-4')], text: 'Heart rate' },
    subject: { reference: 'Patient/pat-zoe' },
    effectiveDateTime: '2020-01-15',
    valueQuantity: quantity(100, '/min'),
  },
  {
    resourceType: 'Observation',
    id: 'obs3',
    status: 'final',
    code: { coding: [coding(loinc, '85354-9', 'Blood pressure panel')] },
    subject: { reference: 'Patient/pat-peter' },
    effectiveDateTime: '2021-05-01',
    component: [
      { code: { coding: [coding(loinc, '8480-6', 'Systolic')] }, valueQuantity: quantity(120, 'mm[Hg]') },
      { code: { coding: [coding(loinc, '8462-4', 'Diastolic')] }, valueQuantity: quantity(80, 'mm[Hg]') },
      { code: { coding: [coding(loinc, '8357-6', 'Blood pressure method')] }, valueCodeableConcept: { coding: [coding(snomed, '46973005')] } },
    ],
  },
  {
    resourceType: 'Observation',
    id: 'obs4',
    status: 'final',
    code: { coding: [coding(loinc, '2345-7')] },
    subject: { reference: 'Patient/pat-anna' },
    valueQuantity: quantity(5.4, 'mg', 'mg'),
  },
  {
    resourceType: 'Observation',
    id: 'obs5',
    status: 'preliminary',
    code: { coding: [coding(loinc, '2345-7')] },
    subject: { identifier: { system: mrn, value: 'P300' } },
    valueQuantity: { value: 5.4, unit: 'mg' },
  },
  { resourceType: 'RiskAssessment', id: 'ra1', status: 'final', subject: { reference: 'Patient/pat-peter' }, prediction: [{ probabilityDecimal: 0.25 }] },
  { resourceType: 'RiskAssessment', id: 'ra2', status: 'final', subject: { reference: 'Patient/pat-zoe' }, prediction: [{ probabilityDecimal: 0.8 }] },
  { resourceType: 'ValueSet', id: 'vs1', status: 'active', url: 'http://example.org/fhir/ValueSet/a' },
  { resourceType: 'ValueSet', id: 'vs2', status: 'active', url: 'http://example.org/fhir/ValueSet/a/b' },
];

export type FixtureChange = { op: 'update'; resource: AnyResource } | { op: 'delete'; resourceType: string; id: string };

/** Run after the creates: a deleted patient (with an encounter still pointing at it), a deleted encounter, a renamed patient. */
export const fixtureChanges: FixtureChange[] = [
  { op: 'delete', resourceType: 'Patient', id: 'pat-deleted' },
  { op: 'delete', resourceType: 'Encounter', id: 'enc-del' },
  { op: 'update', resource: patient('pat-updated', { name: [{ family: 'Newname' }], gender: 'other' }) },
];

export async function writeSearchFixtures(storage: StorageOps): Promise<void> {
  for (const [i, resource] of searchFixtures.entries()) await storage.create(contextAt(writeTime(i)), resource);
  for (const [j, change] of fixtureChanges.entries()) {
    const ctx = contextAt(writeTime(100 + j));
    if (change.op === 'update') await storage.update(ctx, change.resource);
    else await storage.delete(ctx, change.resourceType, change.id);
  }
}

export interface SearchCase {
  name: string;
  query: SearchQuery;
  /** `Type/id`, in the order the query sorts them. */
  expectedIds: string[];
  /** Searched with this access filter in the context. */
  access?: AccessFilter;
}

/** The context to search a case with. */
export function searchContext(searchCase: Pick<SearchCase, 'access'>): RequestContext {
  const ctx = contextAt(searchNow.toISOString());
  return searchCase.access ? { ...ctx, access: searchCase.access } : ctx;
}

const officialVs = 'http://hl7.org/fhir/ValueSet';
const hl7Vs = 'http://terminology.hl7.org/ValueSet';
const actCode = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const heartVs = 'http://example.org/fhir/ValueSet/heart';
const cholesterolVs = 'http://example.org/fhir/ValueSet/cholesterol';
const maleVs = 'http://example.org/fhir/ValueSet/male';
const emptyVs = 'http://example.org/fhir/ValueSet/empty';
const largeVs = 'http://example.org/fhir/ValueSet/large';
/** Heart rate among 3,000 made-up codes, over SQLite's expression depth limit of 1,000 if each were an OR term. */
const largeConcepts = [{ code: '8867-4' }, ...Array.from({ length: 2999 }, (_, i) => ({ code: `x-${i}` }))];

/** pat-peter among 2,999 patients that do not exist, as a comma list. */
const manyPatients = (prefix: string): string => [...Array.from({ length: 2999 }, (_, i) => `${prefix}nobody-${i}`), `${prefix}pat-peter`].join(',');

/**
 * Value sets "stored on the server" for the `:in` cases: the parser reads
 * them like those loaded from storage, over the official definitions.
 */
export const searchTerminology = layeredTerminology(
  conformanceTerminology,
  resourceTerminology([
    { resourceType: 'ValueSet', status: 'active', url: heartVs, compose: { include: [{ system: loinc, concept: [{ code: '8867-4' }, { code: '85354-9' }] }] } },
    { resourceType: 'ValueSet', status: 'active', url: cholesterolVs, compose: { include: [{ system: loinc, concept: [{ code: '2345-7' }] }] } },
    {
      resourceType: 'ValueSet',
      status: 'active',
      url: maleVs,
      expansion: { timestamp: '2024-01-01', contains: [{ system: 'http://hl7.org/fhir/administrative-gender', code: 'male' }] },
    },
    { resourceType: 'ValueSet', status: 'active', url: emptyVs, compose: { include: [{ system: loinc, concept: [] }] } },
    { resourceType: 'ValueSet', status: 'active', url: largeVs, compose: { include: [{ system: loinc, concept: largeConcepts }] } },
  ]),
);

/** `Type?query` (or `?query` for a system search over `systemTypes`) through the server's parser, with a large page. */
export function parsed(request: string, systemTypes: string[] = []): SearchQuery {
  const [type, queryString = ''] = request.split('?') as [string, string?];
  const pairs = [...new URLSearchParams(queryString)];
  const options = { strict: true, baseUrl: searchBaseUrl, now: searchNow, terminology: searchTerminology };
  const { query } = parseSearch(type ? [type] : systemTypes, pairs, options);
  return { ...query, count: pairs.some(([k]) => k === '_count') ? query.count : 100 };
}

const c = (name: string, request: string, expectedIds: string[]): SearchCase => ({ name, query: parsed(request), expectedIds });

/** An IR query over one type with hand-built conditions (the access layer's kinds). */
function ir(type: string, where: Condition[]): SearchQuery {
  return { types: [type], where, sort: [{ code: '_id', descending: false, type: 'token' }], count: 100, offset: 0, total: 'accurate' };
}

const genderIs = (code: string): Condition => ({ kind: 'param', code: 'gender', type: 'token', values: [{ kind: 'token', code }] });
const tagIs = (code: string): Condition => ({ kind: 'param', code: '_tag', type: 'token', values: [{ kind: 'token', system: tagSystem, code }] });

export const searchCases: SearchCase[] = [
  // string
  c('string: starts-with, case-insensitive; deleted resources never match', 'Patient?family=chal', ['Patient/pat-anna', 'Patient/pat-peter']),
  c('string: :exact compares the value as written', 'Patient?family:exact=Chalmers', ['Patient/pat-peter']),
  c('string: :exact is case-sensitive', 'Patient?family:exact=chalmers', []),
  c('string: :contains matches anywhere', 'Patient?family:contains=SMI', ['Patient/pat-anna']),
  c('string: accents are folded on both sides', 'Patient?name=angstrom', ['Patient/pat-zoe']),
  c('string: accented search value', 'Patient?given=Zoë', ['Patient/pat-zoe']),
  c('string: every name of a patient is searched', 'Patient?family=windsor', ['Patient/pat-peter']),
  c('string: address parts', 'Patient?address-city=bris', ['Patient/pat-peter']),
  c('string: an update replaces the old values', 'Patient?name=oldname', []),
  c('string: the new value of an update is found', 'Patient?name=newname', ['Patient/pat-updated']),
  c('string: comma is OR', 'Patient?family=windsor,unknown', ['Patient/pat-nobirth', 'Patient/pat-peter']),
  c('string: repeated parameter is AND', 'Patient?family=chalmers&given=anna', ['Patient/pat-anna']),
  // token
  c('token: code in any system', 'Patient?gender=female', ['Patient/pat-anna', 'Patient/pat-zoe']),
  c('token: system|code', `Patient?identifier=${mrn}|P100`, ['Patient/pat-peter']),
  c('token: boolean', 'Patient?active=true', ['Patient/pat-peter']),
  c('token: :not also matches resources without the element', 'Patient?gender:not=male', [
    'Patient/pat-anna',
    'Patient/pat-nobirth',
    'Patient/pat-updated',
    'Patient/pat-zoe',
  ]),
  c('token: :not with several values excludes each', 'Patient?gender:not=male,female', ['Patient/pat-nobirth', 'Patient/pat-updated']),
  c('token: :text on Coding.display and CodeableConcept.text', 'Observation?code:text=heart', ['Observation/obs1', 'Observation/obs2']),
  c('token: :of-type', `Patient?identifier:of-type=${v2IdentifierType}|MR|P100`, ['Patient/pat-peter']),
  c('token: :of-type needs the type on the same identifier', `Patient?identifier:of-type=${v2IdentifierType}|MR|P200`, []),
  c('token: _tag', `Patient?_tag=${tagSystem}|vip`, ['Patient/pat-peter']),
  c('token: :missing=true', 'Patient?gender:missing=true', ['Patient/pat-nobirth']),
  c('token: :missing=false', 'Patient?gender:missing=false', ['Patient/pat-anna', 'Patient/pat-peter', 'Patient/pat-updated', 'Patient/pat-zoe']),
  c('_id: several ids', 'Patient?_id=pat-zoe,pat-deleted,enc1', ['Patient/pat-zoe']),
  // token modifiers that need terminology (src/search/modifiers-terminology.ts)
  c('token: :in an official value set (a code element carries its implied system)', `Patient?gender:in=${officialVs}/administrative-gender`, [
    'Patient/pat-anna',
    'Patient/pat-peter',
    'Patient/pat-updated',
    'Patient/pat-zoe',
  ]),
  c('token: :in a value set of the server', `Observation?code:in=${heartVs}`, ['Observation/obs1', 'Observation/obs2', 'Observation/obs3']),
  c('token: :not-in matches the rest, resources without the element too', `Patient?gender:not-in=${maleVs}`, [
    'Patient/pat-anna',
    'Patient/pat-nobirth',
    'Patient/pat-updated',
    'Patient/pat-zoe',
  ]),
  c('token: :not-in a value set of the server', `Observation?code:not-in=${heartVs}`, ['Observation/obs4', 'Observation/obs5']),
  c('token: :in with two value sets is their union', `Observation?code:in=${heartVs},${cholesterolVs}`, [
    'Observation/obs1',
    'Observation/obs2',
    'Observation/obs3',
    'Observation/obs4',
    'Observation/obs5',
  ]),
  c('token: :in an empty value set matches nothing', `Observation?code:in=${emptyVs}`, []),
  c('token: :not-in an empty value set matches everything', `Patient?gender:not-in=${emptyVs}`, [
    'Patient/pat-anna',
    'Patient/pat-nobirth',
    'Patient/pat-peter',
    'Patient/pat-updated',
    'Patient/pat-zoe',
  ]),
  c('token: :in a value set of thousands of codes (one IN list per system, not one OR term per code)', `Observation?code:in=${largeVs}`, ['Observation/obs1', 'Observation/obs2']),
  c('token: :in in a chain', `Encounter?subject:Patient.gender:in=${maleVs}`, ['Encounter/enc1', 'Encounter/enc2']),
  c('token: :in a value set defined by an is-a filter (v3 ActEncounterCode)', `Encounter?class:in=${hl7Vs}/v3-ActEncounterCode&status=in-progress`, ['Encounter/enc2']),
  c('token: :below includes the code and what it subsumes', `Encounter?class:below=${actCode}|_ActEncounterCode`, [
    'Encounter/enc-of-deleted',
    'Encounter/enc1',
    'Encounter/enc2',
    'Encounter/enc3',
  ]),
  c('token: :below a leaf is the code itself', `Encounter?class:below=${actCode}|IMP`, ['Encounter/enc2']),
  c('token: :above includes the code and what subsumes it', `Encounter?class:above=${actCode}|ACUTE`, ['Encounter/enc2']),
  c('token: :above does not go down', `Encounter?class:above=${actCode}|_ActEncounterCode`, []),
  // date
  c('date eq: the search range contains the resource range (partial dates)', 'Patient?birthdate=1980', ['Patient/pat-anna', 'Patient/pat-zoe']),
  c('date eq: a year is not inside a month', 'Patient?birthdate=1980-03', ['Patient/pat-zoe']),
  c('date ge: ends after, or contained', 'Patient?birthdate=ge1980-03-15', ['Patient/pat-anna', 'Patient/pat-zoe']),
  c('date lt: starts before', 'Patient?birthdate=lt1980-03-15', ['Patient/pat-anna', 'Patient/pat-peter', 'Patient/pat-zoe']),
  c('date sa: starts after the search range', 'Patient?birthdate=sa1979', ['Patient/pat-anna', 'Patient/pat-zoe']),
  c('date eb: ends before the search range', 'Patient?birthdate=eb1980-06', ['Patient/pat-peter', 'Patient/pat-zoe']),
  c('date ne: not contained', 'Patient?birthdate=ne1980', ['Patient/pat-peter']),
  c('date :missing=true', 'Patient?birthdate:missing=true', ['Patient/pat-nobirth', 'Patient/pat-updated']),
  c('date: Periods inside a month', 'Encounter?date=2020-01', ['Encounter/enc1', 'Encounter/enc3']),
  c('date: an open Period reaches every later date', 'Encounter?date=ge2030-01-01', ['Encounter/enc2']),
  c('date sa on an open Period', 'Encounter?date=sa2020-02', ['Encounter/enc2']),
  c('date le: a Period starting before', 'Encounter?date=le2020-01-05', ['Encounter/enc3']),
  c('date ap: overlaps the widened range', 'Observation?date=ap2020-01-12', ['Observation/obs1', 'Observation/obs2']),
  c('_lastUpdated on the column', `Patient?_lastUpdated=ge${writeTime(2)}&_lastUpdated=lt${writeTime(4)}`, ['Patient/pat-anna', 'Patient/pat-nobirth']),
  c('_lastUpdated: the update moved it', `Patient?_lastUpdated=gt${writeTime(100)}`, ['Patient/pat-updated']),
  // number
  c('number eq: the implied precision of the value', 'RiskAssessment?probability=0.25', ['RiskAssessment/ra1']),
  c('number gt', 'RiskAssessment?probability=gt0.5', ['RiskAssessment/ra2']),
  c('number ap: widened by 10%', 'RiskAssessment?probability=ap0.26', ['RiskAssessment/ra1']),
  c('number eq: no match between values', 'RiskAssessment?probability=0.3', []),
  // quantity
  c('quantity: number only, any unit', 'Observation?value-quantity=72', ['Observation/obs1']),
  c('quantity gt', 'Observation?value-quantity=gt80', ['Observation/obs2']),
  c('quantity lt: every unit', 'Observation?value-quantity=lt10', ['Observation/obs4', 'Observation/obs5']),
  c('quantity ||code matches the code or the unit text', 'Observation?value-quantity=5.4||mg', ['Observation/obs4', 'Observation/obs5']),
  c('quantity system|code', `Observation?value-quantity=5.4|${ucum}|mg`, ['Observation/obs4']),
  c('quantity ap', 'Observation?value-quantity=ap70', ['Observation/obs1']),
  // reference
  c('reference: Type/id', 'Observation?subject=Patient/pat-peter', ['Observation/obs1', 'Observation/obs3']),
  c('reference: a bare id over the parameter targets', 'Observation?subject=pat-zoe', ['Observation/obs2']),
  c('reference: thousands of ORed values (over SQLite\'s expression depth limit of 1,000 as one flat OR chain)', `Observation?subject=${manyPatients('Patient/')}`, ['Observation/obs1', 'Observation/obs3']),
  c('reference: thousands of ORed bare ids', `Observation?subject=${manyPatients('')}`, ['Observation/obs1', 'Observation/obs3']),
  c('token: thousands of ORed codes without a system', `Patient?gender=${Array.from({ length: 2999 }, (_, i) => `g-${i}`).join(',')},other`, ['Patient/pat-updated']),
  c('reference: :Type with a bare id', 'Observation?subject:Patient=pat-anna', ['Observation/obs4']),
  c('reference: an absolute URL on this server is local', `Encounter?subject=${searchBaseUrl}/Patient/pat-peter`, ['Encounter/enc1', 'Encounter/enc2']),
  c('reference: :identifier (logical reference)', `Observation?subject:identifier=${mrn}|P300`, ['Observation/obs5']),
  c('reference: :missing=true', 'Observation?encounter:missing=true', ['Observation/obs2', 'Observation/obs3', 'Observation/obs4', 'Observation/obs5']),
  // uri
  c('uri: equality', 'ValueSet?url=http://example.org/fhir/ValueSet/a', ['ValueSet/vs1']),
  c('uri :below', 'ValueSet?url:below=http://example.org/fhir/ValueSet/a', ['ValueSet/vs1', 'ValueSet/vs2']),
  c('uri :above', 'ValueSet?url:above=http://example.org/fhir/ValueSet/a/b/c', ['ValueSet/vs1', 'ValueSet/vs2']),
  // composite
  c('composite: code and value in one component', `Observation?component-code-value-quantity=${loinc}|8480-6$120`, ['Observation/obs3']),
  c('composite: code and value of different components never pair', `Observation?component-code-value-quantity=${loinc}|8480-6$80`, []),
  c('composite: prefixes apply to components', `Observation?component-code-value-quantity=${loinc}|8462-4$lt90`, ['Observation/obs3']),
  c('composite: on the resource', `Observation?code-value-quantity=${loinc}|8867-4$gt90`, ['Observation/obs2']),
  c('composite: a prefix and a unit on the quantity component', `Observation?code-value-quantity=${loinc}|8867-4$lt80|${ucum}|/min`, ['Observation/obs1']),
  c('composite: a unit that differs never matches', `Observation?code-value-quantity=${loinc}|8867-4$lt80|${ucum}|mg`, []),
  c('composite: ORed values, each its own pair', `Observation?code-value-quantity=${loinc}|8867-4$ge72,${loinc}|2345-7$5.4`, [
    'Observation/obs1',
    'Observation/obs2',
    'Observation/obs4',
    'Observation/obs5',
  ]),
  c('composite: ge includes the boundary', `Observation?component-code-value-quantity=${loinc}|8480-6$ge120`, ['Observation/obs3']),
  c('composite: gt excludes it', `Observation?component-code-value-quantity=${loinc}|8480-6$gt120`, []),
  c('composite: token and concept in one component', `Observation?component-code-value-concept=${loinc}|8357-6$${snomed}|46973005`, ['Observation/obs3']),
  c('composite: a concept of another component never pairs', `Observation?component-code-value-concept=${loinc}|8480-6$${snomed}|46973005`, []),
  c('composite: the concept code alone (any system)', `Observation?component-code-value-concept=${loinc}|8357-6$46973005`, ['Observation/obs3']),
  c('composite: :missing=false', 'Observation?component-code-value-quantity:missing=false', ['Observation/obs3']),
  c('composite: on the resource or a component (combo)', `Observation?combo-code-value-quantity=${loinc}|8480-6$120,${loinc}|8867-4$72`, ['Observation/obs1', 'Observation/obs3']),
  // chain and _has
  c('chain: one level', 'Encounter?subject:Patient.name=chalmers', ['Encounter/enc1', 'Encounter/enc2']),
  c('chain: a deleted target does not match', 'Encounter?subject:Patient.gender=male', ['Encounter/enc1', 'Encounter/enc2']),
  c('chain: two levels', `Observation?encounter.patient.identifier=${mrn}|P100`, ['Observation/obs1']),
  c('chain: through a non-Patient target', 'Encounter?service-provider.name=acme', ['Encounter/enc1']),
  c('_has: reverse chain', 'Patient?_has:Observation:patient:code=8867-4', ['Patient/pat-peter', 'Patient/pat-zoe']),
  c('_has: a deleted source does not count', 'Patient?_has:Encounter:patient:status=cancelled', []),
  c('_has: nested', 'Patient?_has:Encounter:patient:_has:Observation:encounter:code=8867-4', ['Patient/pat-peter']),
  c('_has and a condition', 'Patient?_has:Observation:patient:code=8867-4&gender=female', ['Patient/pat-zoe']),
  // sort
  c('sort asc by date: the smallest value; missing last', 'Patient?_sort=birthdate', [
    'Patient/pat-peter',
    'Patient/pat-anna',
    'Patient/pat-zoe',
    'Patient/pat-nobirth',
    'Patient/pat-updated',
  ]),
  c('sort desc by date: the largest value; missing last', 'Patient?_sort=-birthdate', [
    'Patient/pat-anna',
    'Patient/pat-zoe',
    'Patient/pat-peter',
    'Patient/pat-nobirth',
    'Patient/pat-updated',
  ]),
  c('sort asc by string: each patient’s smallest name', 'Patient?_sort=family', [
    'Patient/pat-zoe',
    'Patient/pat-peter',
    'Patient/pat-anna',
    'Patient/pat-updated',
    'Patient/pat-nobirth',
  ]),
  c('sort desc by string: each patient’s largest name', 'Patient?_sort=-family', [
    'Patient/pat-peter',
    'Patient/pat-nobirth',
    'Patient/pat-updated',
    'Patient/pat-anna',
    'Patient/pat-zoe',
  ]),
  c('sort on several keys; ties broken by id', 'Patient?gender=female,male&_sort=-gender,-_id', ['Patient/pat-peter', 'Patient/pat-zoe', 'Patient/pat-anna']),
  c('sort by reference', 'Observation?_sort=subject,_id', [
    'Observation/obs4',
    'Observation/obs1',
    'Observation/obs3',
    'Observation/obs2',
    'Observation/obs5',
  ]),
  c('sort by quantity desc', 'Observation?_sort=-value-quantity', [
    'Observation/obs2',
    'Observation/obs1',
    'Observation/obs4',
    'Observation/obs5',
    'Observation/obs3',
  ]),
  c('sort by _lastUpdated desc', 'Patient?_sort=-_lastUpdated', [
    'Patient/pat-updated',
    'Patient/pat-nobirth',
    'Patient/pat-anna',
    'Patient/pat-zoe',
    'Patient/pat-peter',
  ]),
  // IR conditions of the access layer
  { name: 'any: OR of AND-groups', query: ir('Patient', [{ kind: 'any', of: [[genderIs('female'), tagIs('research')], [tagIs('vip')]] }]), expectedIds: ['Patient/pat-peter', 'Patient/pat-zoe'] },
  { name: 'any: an empty group matches everything', query: ir('Patient', [{ kind: 'any', of: [[]] }, genderIs('female')]), expectedIds: ['Patient/pat-anna', 'Patient/pat-zoe'] },
  { name: 'any: no group matches nothing', query: ir('Patient', [{ kind: 'any', of: [] }]), expectedIds: [] },
  { name: 'not', query: ir('Patient', [{ kind: 'not', condition: tagIs('vip') }, genderIs('male')]), expectedIds: [] },
  { name: 'not: resources without the element match', query: ir('Patient', [{ kind: 'not', condition: genderIs('female') }]), expectedIds: ['Patient/pat-nobirth', 'Patient/pat-peter', 'Patient/pat-updated'] },
  { name: 'constant true', query: ir('Organization', [{ kind: 'constant', value: true }]), expectedIds: ['Organization/org1'] },
  { name: 'constant false', query: ir('Organization', [{ kind: 'constant', value: false }]), expectedIds: [] },
  // access filter in the context
  {
    name: 'access: only tagged resources are visible',
    query: parsed('Patient?family=chal'),
    expectedIds: ['Patient/pat-peter'],
    access: { conditionsFor: (type) => (type === 'Patient' ? [tagIs('vip')] : []) },
  },
  {
    name: 'access: chain targets are filtered',
    query: parsed('Encounter?subject:Patient.name=ångström'),
    expectedIds: [],
    access: { conditionsFor: (type) => (type === 'Patient' ? [tagIs('vip')] : []) },
  },
  {
    name: 'access: _has sources are filtered',
    query: parsed('Patient?_has:Observation:patient:code=8867-4'),
    expectedIds: ['Patient/pat-zoe'],
    access: { conditionsFor: (type) => (type === 'Observation' ? [{ kind: 'not', condition: { kind: 'param', code: '_id', type: 'token', values: [{ kind: 'token', code: 'obs1' }] } }] : []) },
  },
];
