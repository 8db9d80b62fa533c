import type { RequestContext } from '../context';
import { badRequest, FhirError } from '../errors';
import { parseSearch } from '../search/parse';
import type { StorageOps, VersionRecord } from '../storage/port';

/** Query parameters as decoded pairs, in order, repeats kept (repetition means AND). */
export type QueryPairs = Array<[string, string]>;

/** `identifier=a|b&_id=x` (optionally with a leading `?` or `Type?`), as in If-None-Exist. */
export function parseCriteria(raw: string): QueryPairs {
  const query = raw.includes('?') ? raw.slice(raw.indexOf('?') + 1) : raw;
  return [...new URLSearchParams(query).entries()];
}

/**
 * The resources a conditional interaction's criteria select. Unknown
 * parameters are an error here, never ignored: ignoring one would widen the
 * match and update or delete the wrong resource. At most two are fetched,
 * since the outcome only depends on none, one or many.
 */
export async function findMatches(ops: StorageOps, ctx: RequestContext, type: string, criteria: QueryPairs): Promise<VersionRecord[]> {
  if (criteria.length === 0) throw badRequest('A conditional interaction needs search criteria');
  const { query } = parseSearch([type], criteria, { strict: true, baseUrl: ctx.baseUrl });
  const result = await ops.search(ctx, { ...query, count: 2, offset: 0, total: 'none' });
  return result.records;
}

/**
 * The guard that serializes conditional interactions with the same criteria
 * (see UnitOfWorkOptions): the criteria sorted, so that the order in which a
 * client wrote them does not matter.
 */
export function criteriaGuard(type: string, criteria: QueryPairs): string {
  const sorted = [...criteria].sort(([a, x], [b, y]) => (a === b ? x.localeCompare(y) : a.localeCompare(b)));
  return `${type}?${new URLSearchParams(sorted).toString()}`;
}

/** One match or none; many is 412, as the spec allows for every conditional interaction. */
export function atMostOne(matches: VersionRecord[], interaction: string): VersionRecord | undefined {
  if (matches.length > 1) throw FhirError.of(412, 'multiple-matches', `The criteria of the conditional ${interaction} match more than one resource`);
  return matches[0];
}
