import type { Document } from 'mongodb';
import type { AccessFilter } from '../../context';
import { FhirError } from '../../errors';
import type { ChainCondition, HasCondition } from '../../search/query';
import type { ResourceReader } from './resource-reader';
import { compileFilter, scopeOf, type FilterScope, type Resolutions } from './search-filter';

/**
 * Chains and `_has` look up other resources. MongoDB has no join a find can
 * use, so the adapter runs those lookups first, innermost first, each as a
 * bounded query that yields `Type/id` refs; the outer filter then tests
 * membership (`$in`). Each lookup applies the access conditions of the
 * type it reads (a hidden target or source counts as absent).
 *
 * - chain `code:T.where`: the current T resources matching `where` →
 *   refs; the outer resource matches when an entry of `code` has one of them.
 * - `_has:S:param:where`: the current S resources matching `where` →
 *   the distinct local refs of their `param` entries; the outer resource
 *   matches when it is one of them.
 *
 * Limit: a lookup yielding more than `maxRefs` refs is refused (400
 * too-costly) rather than truncated, which would drop matches silently.
 */
export interface SubqueryLimits {
  maxRefs: number;
}

export const defaultSubqueryLimits: SubqueryLimits = { maxRefs: 10_000 };

export async function resolveScope(
  reader: ResourceReader,
  scope: FilterScope,
  access: AccessFilter | undefined,
  limits: SubqueryLimits = defaultSubqueryLimits,
): Promise<Resolutions> {
  const resolved = new Map<ChainCondition | HasCondition, readonly string[]>();
  const pending = [...scope.where, ...[...scope.access.values()].flat()];
  for (let condition = pending.pop(); condition !== undefined; condition = pending.pop()) {
    switch (condition.kind) {
      case 'chain':
        if (!resolved.has(condition)) resolved.set(condition, await chainTargets(reader, condition, access, limits));
        break;
      case 'has':
        if (!resolved.has(condition)) resolved.set(condition, await hasSources(reader, condition, access, limits));
        break;
      case 'any':
        pending.push(...condition.of.flat());
        break;
      case 'not':
        pending.push(condition.condition);
        break;
    }
  }
  return resolved;
}

/** The filter of a scope, its own chains and `_has` resolved first. */
export async function resolvedFilter(
  reader: ResourceReader,
  scope: FilterScope,
  access: AccessFilter | undefined,
  limits: SubqueryLimits = defaultSubqueryLimits,
): Promise<Document> {
  return compileFilter(scope, await resolveScope(reader, scope, access, limits));
}

async function chainTargets(reader: ResourceReader, chain: ChainCondition, access: AccessFilter | undefined, limits: SubqueryLimits): Promise<string[]> {
  const refs: string[] = [];
  for (const target of chain.targets) {
    const filter = await resolvedFilter(reader, scopeOf([target.resourceType], [target.where], access), access, limits);
    const found = await reader.find(filter, { projection: { _id: 0, type: 1, id: 1 }, limit: limits.maxRefs + 1 - refs.length });
    refs.push(...found.map((doc) => `${doc.type as string}/${doc.id as string}`));
    if (refs.length > limits.maxRefs) throw tooCostly(`the chained parameter '${chain.code}'`, limits);
  }
  return refs;
}

async function hasSources(reader: ResourceReader, has: HasCondition, access: AccessFilter | undefined, limits: SubqueryLimits): Promise<string[]> {
  const filter = await resolvedFilter(reader, scopeOf([has.resourceType], [has.where], access), access, limits);
  const grouped = await reader.aggregate([
    { $match: filter },
    { $project: { _id: 0, ref: '$idx.reference' } },
    { $unwind: '$ref' },
    // A local target only (targetId set): a `_has` names resources of this server.
    { $match: { 'ref.param': has.referenceParam, 'ref.targetId': { $type: 'string' } } },
    { $group: { _id: '$ref.ref' } },
    { $limit: limits.maxRefs + 1 },
  ]);
  if (grouped.length > limits.maxRefs) throw tooCostly(`_has:${has.resourceType}:${has.referenceParam}`, limits);
  return grouped.map((doc) => doc._id as string);
}

const tooCostly = (what: string, limits: SubqueryLimits) =>
  FhirError.of(400, 'too-costly', `${what} selects more than ${limits.maxRefs} resources; add criteria that narrow it`);
