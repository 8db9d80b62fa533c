/**
 * The search response's own rules, without an adapter in the way: cursors,
 * subsetting, compartment conditions, the total cap warning, supported
 * parameters.
 */
import t from 'tap';
import { systemContext } from '../../src/context';
import { FhirError } from '../../src/errors';
import type { AnyResource } from '../../src/fhir/types';
import { search } from '../../src/interactions/search';
import type { Services } from '../../src/interactions/services';
import { compartmentAccess, compartmentCondition, compartmentConditionForTypes } from '../../src/search/compartment';
import { decodeCursor, encodeCursor } from '../../src/search/cursor';
import type { SearchQuery } from '../../src/search/query';
import { applyElements, applySummary } from '../../src/search/subset';
import { includeValues, isSupportedParameter, revincludeValues } from '../../src/search/supported-parameters';
import { searchParameter } from '../../src/fhir/definitions';
import type { SearchResult, Storage } from '../../src/storage/port';

t.test('cursor: round trip, and every malformed form is a 400 naming the parameter', async (t) => {
  const position = { values: ['chalmers', 155_000_000_000, null], resourceType: 'Patient', id: 'p-1' };
  t.same(decodeCursor('__cursor', encodeCursor({ after: position }), 3), { after: position });
  t.same(decodeCursor('__cursor', encodeCursor({ before: position }), 3), { before: position });
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const bad = [
    'not base64!',
    b64('just a string'),
    b64({ after: position, before: position }),
    b64({ sideways: position }),
    b64({ after: { ...position, id: 'has space' } }),
    b64({ after: { ...position, resourceType: 'Patient; DROP' } }),
    b64({ after: { ...position, values: [{ $ne: null }, 1, 2] } }),
    b64({ after: { ...position, values: [true, 1, 2] } }),
    encodeCursor({ after: position }).slice(0, -3),
    'A'.repeat(10_000),
  ];
  for (const raw of bad) {
    const error = t.throws(() => decodeCursor('__cursor', raw, 3)) as unknown;
    t.ok(error instanceof FhirError && error.status === 400 && error.issues[0]!.expression![0] === '__cursor', raw.slice(0, 40));
  }
  t.throws(() => decodeCursor('__cursor', encodeCursor({ after: position }), 2), 'one value per sort key');
});

const patient: AnyResource = {
  resourceType: 'Patient',
  id: 'p',
  meta: { versionId: '1', tag: [{ system: 'urn:t', code: 'keep' }] },
  text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
  name: [{ family: 'F' }],
  _gender: { extension: [] },
  gender: 'male',
  deceasedBoolean: false,
  photo: [{ contentType: 'image/png' }],
};

t.test('_summary=true keeps summary elements, choice elements and their _ companions; tags SUBSETTED once', async (t) => {
  const summary = applySummary(patient, 'true');
  t.same(Object.keys(summary).sort(), ['_gender', 'deceasedBoolean', 'gender', 'id', 'meta', 'name', 'resourceType']);
  t.same(summary.meta?.tag?.map((tag) => tag.code), ['keep', 'SUBSETTED']);
  t.same(applySummary(summary, 'true').meta?.tag?.map((tag) => tag.code), ['keep', 'SUBSETTED'], 'not tagged twice');
  t.equal(applySummary(patient, 'false'), patient, 'false leaves the resource alone');
  t.notOk('SUBSETTED' in (patient.meta ?? {}), 'the input is not modified');
  t.same(patient.meta?.tag?.length, 1);
});

t.test('_elements: Type.element applies to that type only; mandatory elements stay', async (t) => {
  t.same(Object.keys(applyElements(patient, ['Patient.photo', 'Observation.value'])).sort(), ['id', 'meta', 'photo', 'resourceType']);
  const observation: AnyResource = { resourceType: 'Observation', id: 'o', status: 'final', code: { text: 'x' }, valueString: 'v', note: [{ text: 'n' }] };
  t.same(Object.keys(applyElements(observation, ['value'])).sort(), ['code', 'id', 'meta', 'resourceType', 'status', 'valueString']);
});

t.test('compartment conditions follow the Patient CompartmentDefinition', async (t) => {
  const compartment = { type: 'Patient' as const, id: '123' };
  t.same(compartmentCondition(compartment, 'Encounter'), {
    kind: 'any',
    of: [[{ kind: 'param', code: 'patient', type: 'reference', values: [{ kind: 'reference', ref: 'Patient/123' }] }]],
  });
  const forPatient = compartmentCondition(compartment, 'Patient');
  t.same(forPatient, {
    kind: 'any',
    of: [
      [{ kind: 'param', code: '_id', type: 'token', values: [{ kind: 'token', code: '123' }] }],
      [{ kind: 'param', code: 'link', type: 'reference', values: [{ kind: 'reference', ref: 'Patient/123' }] }],
    ],
  });
  t.equal(compartmentCondition(compartment, 'Organization'), undefined, 'not in the compartment');
  const claim = compartmentCondition(compartment, 'Claim');
  t.same(claim && claim.kind === 'any' ? claim.of.map(([c]) => (c as { code: string }).code) : [], ['patient', 'payee']);
  const union = compartmentConditionForTypes(compartment, ['Basic', 'Account']);
  t.same(union.kind === 'any' ? union.of.map(([c]) => (c as { code: string }).code) : [], ['author', 'patient', 'subject']);
  const access = compartmentAccess(compartment, { conditionsFor: (type) => (type === 'Encounter' ? [{ kind: 'constant', value: true }] : []) });
  t.equal(access.conditionsFor('Encounter').length, 2, 'on top of the inner filter');
  t.same(access.conditionsFor('Basic'), [compartmentCondition(compartment, 'Basic')], 'Basic.subject does not put a Basic in the compartment');
  t.same(access.conditionsFor('Organization'), [], 'types outside the compartment are not restricted');
});

/** A storage that answers every search with `result` and remembers the query. */
function fakeServices(result: SearchResult): { services: Services; queries: SearchQuery[] } {
  const queries: SearchQuery[] = [];
  const storage = {
    search: async (_ctx: unknown, query: SearchQuery) => {
      queries.push(query);
      return result;
    },
  } as unknown as Storage;
  return { services: { storage } as Services, queries };
}

t.test('above the total cap: no Bundle.total, a warning that says "more than N"', async (t) => {
  const { services } = fakeServices({ records: [], totalExceeds: 10_000 });
  const bundle = await search(services, systemContext('http://x/fhir'), 'Patient', [['gender', 'male']], { strict: false });
  t.equal(bundle.total, undefined);
  const outcome = bundle.entry?.find((e) => e.search?.mode === 'outcome')?.resource as unknown as { issue: Array<{ severity: string; diagnostics: string }> };
  t.equal(outcome.issue[0]!.severity, 'warning');
  t.match(outcome.issue[0]!.diagnostics, /more than 10000/i);
});

t.test('keyset links from the positions the storage reports; a cursor reaches the storage as after/before', async (t) => {
  const first = { values: ['2020'], resourceType: 'Patient', id: 'a' };
  const last = { values: ['2021'], resourceType: 'Patient', id: 'b' };
  const { services, queries } = fakeServices({ records: [], first, last, hasMore: true, hasPrevious: true, total: 10 });
  const ctx = systemContext('http://x/fhir');
  const bundle = await search(services, ctx, 'Patient', [['_count', '2'], ['_format', 'json']], { strict: false });
  const url = (relation: string) => new URL(bundle.link!.find((l) => l.relation === relation)!.url);
  t.same(decodeCursor('c', url('next').searchParams.get('__cursor')!, 1), { after: last });
  t.same(decodeCursor('c', url('previous').searchParams.get('__cursor')!, 1), { before: first });
  t.equal(url('first').search, '?_count=2', 'format parameters are not search criteria');
  await search(services, ctx, 'Patient', [['_count', '2'], ['__cursor', url('previous').searchParams.get('__cursor')!]], { strict: false });
  t.same(queries.at(-1)!.before, first);
  t.equal(queries.at(-1)!.after, undefined);
  const both = search(services, ctx, 'Patient', [['__cursor', url('next').searchParams.get('__cursor')!], ['__offset', '2']], { strict: false });
  const error = await both.catch((e: unknown) => e);
  t.ok(error instanceof FhirError && error.status === 400, '__cursor and __offset together');
});

t.test('supported parameters: what the parser and the indexer answer', async (t) => {
  t.ok(isSupportedParameter(searchParameter('Patient', 'family')!));
  t.notOk(isSupportedParameter(searchParameter('Location', 'near')!), 'special');
  t.notOk(isSupportedParameter(searchParameter('Patient', '_text')!), 'no expression');
  t.ok(includeValues('Encounter').includes('Encounter:subject'));
  t.ok(includeValues('Encounter').includes('*'));
  t.notOk(includeValues('Encounter').includes('Encounter:status'), 'not a reference');
  t.ok(revincludeValues('Organization').includes('Patient:organization'));
  t.notOk(revincludeValues('Organization').includes('Observation:encounter'), 'Observation.encounter cannot point at an Organization');
});
