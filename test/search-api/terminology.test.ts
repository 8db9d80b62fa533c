/**
 * Value set expansion and subsumption (src/terminology/) for the token
 * modifiers `:in`, `:not-in`, `:above` and `:below`: the expansion rules on
 * hand-made definitions, value sets and code systems stored on the server
 * (loaded before parsing), and the HTTP answers (results, 400s).
 */
import type { CodeSystem, ValueSet } from 'fhir/r4';
import t from 'tap';
import { systemContext } from '../../src/context';
import { FhirError } from '../../src/errors';
import type { SearchQuery } from '../../src/search/query';
import { KnownCodeSystem } from '../../src/terminology/code-system';
import { parseSearchWithStoredTerminology } from '../../src/terminology/stored-terminology';
import { resourceTerminology } from '../../src/terminology/resource-terminology';
import { TerminologyError } from '../../src/terminology/terminology-error';
import { expandValueSet, MAX_EXPANSION_CODES } from '../../src/terminology/value-set-expansion';
import { searchDeletions, searchFixtures } from './fixtures';
import { BASE_URL, get, harnessWith, ids, put, type Harness } from './helpers';

const SYS = 'http://example.org/cs/animals';
const OTHER = 'http://example.org/cs/other';
const vs = (url: string, rest: Partial<ValueSet> = {}): ValueSet => ({ resourceType: 'ValueSet', status: 'active', url, ...rest });
/** animal > mammal > (dog, cat), animal > bird; `fish` names `animal` as parent by property. */
const animals: CodeSystem = {
  resourceType: 'CodeSystem',
  url: SYS,
  status: 'active',
  content: 'complete',
  hierarchyMeaning: 'is-a',
  concept: [
    { code: 'animal', concept: [{ code: 'mammal', concept: [{ code: 'dog' }, { code: 'cat' }] }, { code: 'bird' }] },
    { code: 'fish', property: [{ code: 'parent', valueCode: 'animal' }] },
  ],
};
const codesOf = (url: string, definitions: Array<ValueSet | CodeSystem>) =>
  expandValueSet(url, resourceTerminology(definitions))
    .map((c) => `${c.system === SYS ? '' : `${c.system}|`}${c.code}`)
    .sort();

function refusal(run: () => unknown): TerminologyError | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof TerminologyError ? error : undefined;
  }
}

t.test('compose: listed concepts, whole code systems, subsumption filters, excludes, nested value sets', async (t) => {
  t.same(codesOf('u:all', [animals, vs('u:all', { compose: { include: [{ system: SYS }] } })]), ['animal', 'bird', 'cat', 'dog', 'fish', 'mammal']);
  const filtered = (op: 'is-a' | 'descendent-of' | 'is-not-a', value: string) =>
    codesOf('u:f', [animals, vs('u:f', { compose: { include: [{ system: SYS, filter: [{ property: 'concept', op, value }] }] } })]);
  t.same(filtered('is-a', 'mammal'), ['cat', 'dog', 'mammal']);
  t.same(filtered('descendent-of', 'mammal'), ['cat', 'dog']);
  t.same(filtered('is-not-a', 'mammal'), ['animal', 'bird', 'fish']);
  t.same(filtered('is-a', 'animal'), ['animal', 'bird', 'cat', 'dog', 'fish', 'mammal'], 'the parent property is a hierarchy too');
  const composed = vs('u:c', {
    compose: {
      include: [{ system: SYS, concept: [{ code: 'dog' }, { code: 'bird' }] }, { system: OTHER, concept: [{ code: 'x' }] }],
      exclude: [{ system: SYS, concept: [{ code: 'bird' }] }],
    },
  });
  t.same(codesOf('u:c', [composed]), ['dog', `${OTHER}|x`], 'listed concepts need no code system; excludes subtract');
  const nested = vs('u:n', { compose: { include: [{ valueSet: ['u:c'] }, { system: SYS, valueSet: ['u:all'], concept: [{ code: 'cat' }, { code: 'zebra' }] }] } });
  const all = vs('u:all', { compose: { include: [{ system: SYS }] } });
  t.same(codesOf('u:n', [animals, composed, all, nested]), ['cat', 'dog', `${OTHER}|x`], 'a system with value sets is their intersection');
});

t.test('a complete stored expansion is used; a partial one is not', async (t) => {
  const contains = [{ system: SYS, code: 'dog', contains: [{ system: SYS, code: 'puppy' }] }, { code: 'no-system' }];
  t.same(codesOf('u:e', [vs('u:e', { expansion: { timestamp: '2024-01-01', contains } })]), ['dog', 'puppy'], 'nested contains flattened');
  const partial = vs('u:p', { expansion: { timestamp: '2024-01-01', total: 10, contains }, compose: { include: [{ system: SYS, concept: [{ code: 'cat' }] }] } });
  t.same(codesOf('u:p', [partial]), ['cat'], 'a partial expansion falls back to the compose');
  t.equal(refusal(() => codesOf('u:q', [vs('u:q', { expansion: { timestamp: '2024-01-01', offset: 0, contains } })]))?.code, 'not-supported');
});

t.test('what cannot be expanded is refused with a reason, never answered empty', async (t) => {
  t.equal(refusal(() => codesOf('u:none', []))?.code, 'not-found', 'unknown value set');
  t.match(refusal(() => codesOf('u:x', [vs('u:x', { compose: { include: [{ system: 'http://snomed.info/sct' }] } })]))?.message, /snomed.*does not hold completely/);
  const fragment: CodeSystem = { ...animals, url: OTHER, content: 'fragment' };
  t.ok(refusal(() => codesOf('u:fr', [fragment, vs('u:fr', { compose: { include: [{ system: OTHER }] } })])), 'a fragment code system is not complete');
  const regex = vs('u:r', { compose: { include: [{ system: SYS, filter: [{ property: 'code', op: 'regex', value: 'd.*' }] }] } });
  t.match(refusal(() => codesOf('u:r', [animals, regex]))?.message, /cannot evaluate/);
  const grouped: CodeSystem = { ...animals, url: OTHER, hierarchyMeaning: 'grouped-by' };
  const isA = vs('u:g', { compose: { include: [{ system: OTHER, filter: [{ property: 'concept', op: 'is-a', value: 'mammal' }] }] } });
  t.ok(refusal(() => codesOf('u:g', [grouped, isA])), 'grouped-by nesting is not subsumption');
  const cycle = [vs('u:a', { compose: { include: [{ valueSet: ['u:b'] }] } }), vs('u:b', { compose: { include: [{ valueSet: ['u:a'] }] } })];
  t.match(refusal(() => codesOf('u:a', cycle))?.message, /includes itself/);
  const listing = (url: string, n: number) => vs(url, { compose: { include: [{ system: SYS, concept: Array.from({ length: n }, (_, i) => ({ code: `c${i}` })) }] } });
  t.equal(refusal(() => codesOf('u:big', [listing('u:big', MAX_EXPANSION_CODES + 1)]))?.code, 'too-costly');
  t.equal(codesOf('u:cap', [listing('u:cap', MAX_EXPANSION_CODES)]).length, MAX_EXPANSION_CODES, 'the cap itself is allowed');
});

t.test('subsumption: a code with several parents, and self-inclusion', async (t) => {
  const known = new KnownCodeSystem(SYS, { concept: [{ code: 'a', concept: [{ code: 'c' }] }, { code: 'b', concept: [{ code: 'c', concept: [{ code: 'd' }] }] }] });
  t.same(known.selfAndAncestors('d').sort(), ['a', 'b', 'c', 'd']);
  t.same(known.selfAndDescendants('a').sort(), ['a', 'c', 'd']);
  t.same(known.codes(), ['a', 'c', 'b', 'd']);
});

// ---- value sets and code systems stored on the server

let h: Harness;
t.before(async () => {
  h = await harnessWith(searchFixtures, searchDeletions);
  await put(h, { ...vs('http://example.org/vs/vitals', { compose: { include: [{ valueSet: ['http://example.org/vs/heart'] }, { system: 'http://loinc.org', concept: [{ code: '29463-7' }] }] } }), id: 'vitals' });
  await put(h, { ...vs('http://example.org/vs/heart', { compose: { include: [{ system: 'http://loinc.org', concept: [{ code: '8867-4' }] }] } }), id: 'heart' });
  await put(h, { ...vs('http://example.org/vs/acute', { compose: { include: [{ system: SYS, filter: [{ property: 'concept', op: 'is-a', value: 'mammal' }] }] } }), id: 'acute' });
  await put(h, { ...animals, id: 'animals' });
});
t.teardown(() => h.close());

/** Counts the storage searches the loading makes. */
function countingStorage() {
  const counter = { searches: 0, search: (ctx: Parameters<Harness['storage']['search']>[0], query: SearchQuery) => (counter.searches++, h.storage.search(ctx, query)) };
  return counter;
}

async function storedSearch(type: string, query: string): Promise<{ ids: string[]; searches: number }> {
  const storage = countingStorage();
  const ctx = systemContext(BASE_URL);
  const { query: parsed } = await parseSearchWithStoredTerminology(storage, ctx, [type], [...new URLSearchParams(query)], { strict: true, baseUrl: BASE_URL });
  const result = await h.storage.search(ctx, parsed);
  return { ids: result.records.map((r) => r.id).sort(), searches: storage.searches };
}

t.test('stored value sets: loaded before parsing, one storage search per level of nesting', async (t) => {
  t.same(await storedSearch('Observation', 'code:in=http://example.org/vs/heart'), { ids: ['obs-1', 'obs-3'], searches: 1 });
  t.same(await storedSearch('Observation', 'code:in=http://example.org/vs/vitals'), { ids: ['obs-1', 'obs-2', 'obs-3'], searches: 2 }, 'a stored value set including another');
  t.same(await storedSearch('Observation', 'code:not-in=http://example.org/vs/vitals&_id=obs-1,obs-4'), { ids: ['obs-4'], searches: 2 });
  t.same(await storedSearch('Patient', 'gender:in=http://hl7.org/fhir/ValueSet/administrative-gender&family=chalmers'), { ids: ['pat-peter'], searches: 0 }, 'official value sets never touch storage');
  t.same((await storedSearch('Observation', 'code:in=http://example.org/vs/acute')).ids, [], 'a filter on a stored code system expands (no animal observations)');
});

t.test('stored code systems answer :below and :above', async (t) => {
  const ctx = systemContext(BASE_URL);
  const { query } = await parseSearchWithStoredTerminology(countingStorage(), ctx, ['Observation'], [['code:below', `${SYS}|mammal`]], { strict: true, baseUrl: BASE_URL });
  const codes = query.where[0]!.kind === 'param' ? query.where[0]!.values.map((v) => (v.kind === 'token' ? v.code : '')) : [];
  t.same(codes.sort(), ['cat', 'dog', 'mammal']);
});

t.test('a stored value set that cannot be expanded, or none, is 400 naming the parameter', async (t) => {
  const ctx = systemContext(BASE_URL);
  const attempt = (query: string) =>
    parseSearchWithStoredTerminology(countingStorage(), ctx, ['Observation'], [...new URLSearchParams(query)], { strict: true, baseUrl: BASE_URL }).then(
      () => undefined,
      (error: unknown) => error,
    );
  const unknown = (await attempt('code:in=http://example.org/vs/nothing')) as FhirError;
  t.equal(unknown.status, 400);
  t.same(unknown.issues[0]!.expression, ['code:in']);
  const badDate = (await attempt('code:in=http://example.org/vs/heart&date=not-a-date')) as FhirError;
  t.same(badDate.issues[0]!.expression, ['date'], 'other errors still surface after the loading');
});

t.test('over HTTP: official and stored value sets and hierarchies work; what cannot be answered is a 400 OperationOutcome', async (t) => {
  t.same(await ids(h, '/fhir/Encounter?class:below=http://terminology.hl7.org/CodeSystem/v3-ActCode|_ActEncounterCode&status=finished'), ['enc-1', 'enc-3'].sort());
  t.same(await ids(h, '/fhir/Encounter?class:in=http://terminology.hl7.org/ValueSet/v3-ActEncounterCode&class:not-in=http://terminology.hl7.org/ValueSet/v3-ActEncounterCode'), []);
  t.same(await ids(h, '/fhir/Observation?code:in=http://example.org/vs/vitals'), ['obs-1', 'obs-2', 'obs-3'], 'a value set stored on the server');
  t.same(await ids(h, `/fhir/Observation?code:below=${SYS}|mammal`), [], 'a stored code system (no animal observations, and no 400)');
  for (const [query, param] of [
    ['Observation?code:in=http://example.org/vs/never-stored', 'code:in'],
    ['Observation?code:below=http://loinc.org|8867-4', 'code:below'],
    ['Condition?code:not-in=http://hl7.org/fhir/ValueSet/condition-code', 'code:not-in'],
  ] as const) {
    const res = await get(h, `/fhir/${query}`);
    t.equal(res.statusCode, 400, query);
    t.equal(res.json().resourceType, 'OperationOutcome');
    t.same(res.json().issue[0].expression, [param], query);
  }
});
