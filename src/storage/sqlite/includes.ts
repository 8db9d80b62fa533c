/**
 * `_include` and `_revinclude` for one page: the resources the page's
 * resources point at (or that point at them), then with `:iterate` the same
 * from the resources just included. Every included resource is current, not
 * deleted, visible to the request (the access filter of its type), and
 * listed once; none of them is in the page itself.
 *
 * Bounds: `:iterate` is followed for at most `maxIterations` rounds after the
 * first, and at most `maxIncluded` resources are included per page; a graph
 * deeper or larger than that is cut there (the spec allows a server to limit
 * iteration).
 */
import type { AccessFilter } from '../../context';
import type { IncludeSpec } from '../../search/query';
import { ConditionCompiler, paramIs } from './condition-sql';
import { resourceColumns } from './search-sql';
import { and, raw, sql, type Sql } from './sql-fragment';

export const maxIterations = 3;
export const maxIncluded = 5000;

/** A row of the page or of an earlier round, enough to follow its references. */
export interface IncludedRow {
  pk: number;
  type: string;
  id: string;
}

type Run = (statement: Sql) => unknown[];

export function findIncluded<R extends IncludedRow>(
  run: Run,
  access: AccessFilter | undefined,
  page: readonly IncludedRow[],
  include: readonly IncludeSpec[] = [],
  revinclude: readonly IncludeSpec[] = [],
): R[] {
  const seen = new Set(page.map(key));
  const included: R[] = [];
  let frontier: readonly IncludedRow[] = page;
  for (let round = 0; round <= maxIterations && frontier.length > 0 && included.length < maxIncluded; round++) {
    const applies = (spec: IncludeSpec) => round === 0 || spec.iterate;
    const candidates = [
      ...include.filter(applies).flatMap((spec) => run(targetsOf(spec, frontier)) as Candidate[]),
      ...revinclude.filter(applies).flatMap((spec) => run(sourcesOf(spec, frontier)) as Candidate[]),
    ];
    const fresh = new Map<string, string[]>();
    for (const candidate of candidates) {
      if (seen.has(key(candidate))) continue;
      seen.add(key(candidate));
      fresh.set(candidate.type, [...(fresh.get(candidate.type) ?? []), candidate.id]);
    }
    const found = [...fresh].flatMap(([type, ids]) => run(visible(access, type, ids)) as R[]);
    const room = maxIncluded - included.length;
    included.push(...found.slice(0, room));
    frontier = found.slice(0, room);
  }
  return included;
}

interface Candidate {
  type: string;
  id: string;
}

const key = (row: Candidate) => `${row.type}/${row.id}`;

/** Local targets of the spec's reference parameter (any, for `*`) in the frontier's resources of its source type. */
function targetsOf(spec: IncludeSpec, frontier: readonly IncludedRow[]): Sql {
  const pks = frontier.filter((row) => spec.sourceType === '*' || row.type === spec.sourceType).map((row) => row.pk);
  const filters = [raw('s.target_id IS NOT NULL'), sql`s.resource IN (SELECT value FROM json_each(${JSON.stringify(pks)}))`];
  if (spec.param !== '*') filters.push(paramIs('s.param', spec.sourceType === '*' ? undefined : [spec.sourceType], spec.param));
  if (spec.targetType !== undefined) filters.push(sql`s.target_type = ${spec.targetType}`);
  return sql`SELECT DISTINCT s.target_type AS type, s.target_id AS id FROM idx_reference s WHERE ${and(filters)}`;
}

/** Current resources of the spec's source type whose reference parameter points at one of the frontier's resources. */
function sourcesOf(spec: IncludeSpec, frontier: readonly IncludedRow[]): Sql {
  const refs = frontier.filter((row) => spec.targetType === undefined || row.type === spec.targetType).map(key);
  const filters = [raw('h.deleted = 0'), sql`s.ref IN (SELECT value FROM json_each(${JSON.stringify(refs)}))`];
  if (spec.param !== '*') filters.push(paramIs('s.param', spec.sourceType === '*' ? undefined : [spec.sourceType], spec.param));
  if (spec.sourceType !== '*') filters.push(sql`h.type = ${spec.sourceType}`);
  // CROSS JOIN keeps the references (by ref) as the outer loop: the planner would rather walk every resource of the source type.
  return sql`SELECT DISTINCT h.type AS type, h.id AS id FROM idx_reference s CROSS JOIN resources h ON h.pk = s.resource WHERE ${and(filters)}`;
}

/** The current, visible resources of one type among `ids`. */
function visible(access: AccessFilter | undefined, type: string, ids: string[]): Sql {
  const where = new ConditionCompiler(access).rows('r', [type], [], false);
  return sql`SELECT r.pk, ${raw(resourceColumns)} FROM resources r WHERE ${where} AND r.id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;
}
