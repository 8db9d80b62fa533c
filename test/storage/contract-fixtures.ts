/**
 * Data and helpers shared by every storage adapter's contract run, and
 * reusable for differential tests between adapters (same writes, same answers).
 */
import { systemContext, type RequestContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import type { IndexEntry, Indexer } from '../../src/search/index-entry';
import { createIndexer } from '../../src/search/indexer';
import type { ParamCondition, SearchQuery, TokenValue } from '../../src/search/query';

export const mrn = 'urn:example:mrn';
export const otherSystem = 'urn:example:other';
export const genderSystem = 'http://hl7.org/fhir/administrative-gender';
export const loinc = 'http://loinc.org';

/** Three patients and two observations; tokens chosen so that each token search form selects a different set. */
export const contractFixtures: AnyResource[] = [
  { resourceType: 'Patient', id: 'p1', gender: 'female', identifier: [{ system: mrn, value: '100' }] },
  { resourceType: 'Patient', id: 'p2', gender: 'male', identifier: [{ system: mrn, value: '200' }, { value: 'no-system' }] },
  { resourceType: 'Patient', id: 'p3', gender: 'female', identifier: [{ system: otherSystem, value: '100' }] },
  { resourceType: 'Observation', id: 'o1', status: 'final', code: { coding: [{ system: loinc, code: '8867-4' }] }, identifier: [{ system: mrn, value: '100' }] },
  { resourceType: 'Observation', id: 'o2', status: 'final', code: { coding: [{ system: loinc, code: '1234-5' }] } },
];

/** `contractFixtures[i]` is written at `fixtureTime(i)`: distinct, increasing instants. */
export const fixtureTime = (i: number): string => new Date(Date.UTC(2024, 0, 1, 10, 0, i)).toISOString();

/**
 * A stand-in for the real indexer, independent of it: `identifier`
 * (system|value), `gender` (administrative-gender|code) and `code` (each coding).
 */
/** AuditEvents are indexed by the server's own indexer: the access log's rules are about its real parameters. */
const auditIndexer = createIndexer({ baseUrl: 'http://localhost/fhir' });

export const contractIndexer: Indexer = (resource) => {
  if (resource.resourceType === 'AuditEvent') return auditIndexer(resource);
  const entries: IndexEntry[] = [];
  const token = (param: string, system: unknown, code: unknown) =>
    entries.push({ param, kind: 'token', system: typeof system === 'string' ? system : null, code: typeof code === 'string' ? code : null });
  for (const identifier of asArray(resource.identifier)) token('identifier', identifier.system, identifier.value);
  if (typeof resource.gender === 'string') token('gender', genderSystem, resource.gender);
  const code = resource.code as { coding?: unknown } | undefined;
  for (const coding of asArray(code?.coding)) token('code', coding.system, coding.code);
  return entries;
};

function asArray(value: unknown): Array<Record<string, unknown>> {
  return Array.isArray(value) ? (value as Array<Record<string, unknown>>) : [];
}

/** A request context whose clock reads `instant`: the storage stamps lastUpdated from it. */
export function contextAt(instant: string): RequestContext {
  return { ...systemContext('http://concord.test/fhir', 'contract'), now: new Date(instant) };
}

export function token(code: string, ...values: Array<Omit<TokenValue, 'kind'>>): ParamCondition {
  return { kind: 'param', code, type: 'token', values: values.map((value) => ({ kind: 'token', ...value })) };
}

/** A search over `types` with defaults: no condition, sorted by id, one large page, exact total. */
export function searchOf(types: string[], query: Partial<Omit<SearchQuery, 'types'>> = {}): SearchQuery {
  return { types, where: [], sort: [{ code: '_id', descending: false }], count: 100, offset: 0, total: 'accurate', ...query };
}

/**
 * Searches that no adapter can compile, each refused with 400 not-supported:
 * the contract runs them on every engine, and the MongoDB differential test
 * on MongoDB's compiler without a server, so that the engines agree.
 */
export const uncompilableSearches: Array<{ name: string; query: SearchQuery }> = [
  { name: 'a condition of an unknown kind', query: searchOf(['Patient'], { where: [{ kind: 'bogus', code: 'x' } as unknown as ParamCondition] }) },
  { name: 'a sort by an unknown parameter', query: searchOf(['Patient'], { sort: [{ code: 'no-such-sort', descending: false }] }) },
  { name: 'a sort by a composite parameter', query: searchOf(['Observation'], { sort: [{ code: 'code-value-quantity', descending: false, type: 'composite' }] }) },
  { name: 'a sort by a special parameter', query: searchOf(['Location'], { sort: [{ code: 'near', descending: false, type: 'special' }] }) },
];

/**
 * More patients than the estimate's cap (DEFAULT_TOTAL_CAP, 10,000), so that
 * an exact count is told from a capped one: every 100th is male, the rest
 * female, and every 7th has an MRN. Written in one unit where the engine has units.
 */
export const manyPatients = {
  count: 10_500,
  male: 105,
  female: 10_395,
  /** Female and with an MRN: i % 7 === 0 and i % 100 !== 0. */
  femaleWithMrn: 1_485,
  resource(i: number): AnyResource {
    return {
      resourceType: 'Patient',
      id: `many-${i}`,
      gender: i % 100 === 0 ? 'male' : 'female',
      ...(i % 7 === 0 ? { identifier: [{ system: mrn, value: `m${i}` }] } : {}),
    };
  },
};

/** Visible only where the patient is female: the shape of a consent's per-row condition. */
export const onlyFemale = { conditionsFor: (type: string) => (type === 'Patient' ? [token('gender', { code: 'female' })] : []) };
