import type { Document } from 'mongodb';
import type { AccessFilter } from '../../context';
import type { IncludeSpec } from '../../search/query';
import type { StoredEntry } from './documents';
import type { ResourceReader } from './resource-reader';
import { resolvedFilter, type SubqueryLimits } from './subqueries';
import { resourcesNamed, scopeOf } from './search-filter';

/**
 * `_include` and `_revinclude` (query.ts IncludeSpec) for one page of
 * matches. Round 0 applies every spec to the matches; each later round
 * applies the `:iterate` specs to what the previous round added, until a
 * round adds nothing or `maxRounds` is reached. Every resource fetched is
 * current and passes the access conditions of its type; none is returned
 * twice, and none of the matches is returned again.
 *
 * Limits, as the SQLite adapter's (the spec lets a server limit
 * iteration): at most `maxIncluded` resources per page, the rest is cut;
 * `:iterate` is followed for at most `maxRounds - 1` rounds after the first
 * (a reference cycle ends sooner anyway: seen resources are never fetched
 * again). A `_revinclude` reads at most `maxIncluded + 1` candidate sources
 * per spec and round.
 */
export interface IncludeLimits extends SubqueryLimits {
  maxIncluded: number;
  maxRounds: number;
}

export const defaultIncludeLimits: IncludeLimits = { maxRefs: 10_000, maxIncluded: 5_000, maxRounds: 4 };

/** The fields include needs of a document: what it is, and its references. */
export interface IncludeSource {
  type: string;
  id: string;
  idx?: { reference?: Array<StoredEntry<'reference'>> };
}

export async function findIncluded(
  reader: ResourceReader,
  matches: readonly IncludeSource[],
  specs: { include?: readonly IncludeSpec[]; revinclude?: readonly IncludeSpec[] },
  access: AccessFilter | undefined,
  projection: Document,
  limits: IncludeLimits = defaultIncludeLimits,
): Promise<Document[]> {
  const seen = new Set(matches.map(refOf));
  const included: Document[] = [];
  let frontier: readonly IncludeSource[] = matches;
  for (let round = 0; round < limits.maxRounds && frontier.length > 0 && included.length < limits.maxIncluded; round++) {
    const applies = (spec: IncludeSpec) => round === 0 || spec.iterate;
    const refs = new Set<string>();
    for (const spec of (specs.include ?? []).filter(applies)) for (const ref of forwardRefs(frontier, spec)) refs.add(ref);
    for (const spec of (specs.revinclude ?? []).filter(applies)) for (const ref of await reverseRefs(reader, frontier, spec, limits)) refs.add(ref);
    const fresh = [...refs].filter((ref) => !seen.has(ref));
    if (fresh.length === 0) break;
    const fetched = (await fetchVisible(reader, fresh, access, projection, limits)).slice(0, limits.maxIncluded - included.length);
    for (const doc of fetched) seen.add(refOf(doc as IncludeSource));
    included.push(...fetched);
    frontier = fetched as IncludeSource[];
  }
  return included;
}

const refOf = (doc: IncludeSource) => `${doc.type}/${doc.id}`;

const appliesTo = (spec: IncludeSpec, type: string) => spec.sourceType === '*' || spec.sourceType === type;

/** `_include`: the local targets of the spec's parameter (or every reference for `*`), of its target type if given. */
function forwardRefs(frontier: readonly IncludeSource[], spec: IncludeSpec): string[] {
  return frontier
    .filter((doc) => appliesTo(spec, doc.type))
    .flatMap((doc) => doc.idx?.reference ?? [])
    .filter((entry) => (spec.param === '*' || entry.param === spec.param) && entry.targetId !== null && entry.ref !== null)
    .filter((entry) => spec.targetType === undefined || entry.targetType === spec.targetType)
    .map((entry) => entry.ref!);
}

/** `_revinclude`: the current resources of the source type whose parameter points at one of the frontier. */
async function reverseRefs(reader: ResourceReader, frontier: readonly IncludeSource[], spec: IncludeSpec, limits: IncludeLimits): Promise<string[]> {
  const targets = frontier.filter((doc) => spec.targetType === undefined || doc.type === spec.targetType).map(refOf);
  if (targets.length === 0) return [];
  const filter: Document = {
    ...(spec.sourceType === '*' ? {} : { type: spec.sourceType }),
    deleted: false,
    'idx.reference': { $elemMatch: { ...(spec.param === '*' ? {} : { param: spec.param }), ref: { $in: targets } } },
  };
  const found = await reader.find(filter, { projection: { _id: 0, type: 1, id: 1 }, sort: { type: 1, id: 1 }, limit: limits.maxIncluded + 1 });
  return found.map((doc) => refOf(doc as IncludeSource));
}

/** The named resources that are current and visible under the access conditions of their type. */
async function fetchVisible(
  reader: ResourceReader,
  refs: readonly string[],
  access: AccessFilter | undefined,
  projection: Document,
  limits: SubqueryLimits,
): Promise<Document[]> {
  const types = [...new Set(refs.map((ref) => ref.slice(0, ref.indexOf('/'))))];
  const visible = await resolvedFilter(reader, scopeOf(types, [], access), access, limits);
  return reader.find({ $and: [visible, resourcesNamed(refs)] }, { projection, sort: { type: 1, id: 1 } });
}
