import type { Document } from 'mongodb';
import type { AccessFilter } from '../../context';
import { FhirError } from '../../errors';
import type { HistoryQuery, ResourceKey } from '../port';
import type { ResourceReader } from './resource-reader';
import { resourcesNamed, scopeOf } from './search-filter';
import { defaultSubqueryLimits, resolvedFilter, type SubqueryLimits } from './subqueries';

/**
 * The access layer (ctx.access) on reads other than search. The conditions
 * are about a resource's index entries, which only its current document in
 * `resources` has, so:
 * - read: the current document must match them (a deleted resource has no
 *   entries and is then as unknown as a hidden one: 404, not 410);
 * - vread and instance history: shown when the resource's current document
 *   is visible (a version is judged by the resource it belongs to);
 * - type and system history: restricted to the resources whose current
 *   document is visible, found first with the sub-query bound (400
 *   too-costly above it, as for chains; see subqueries.ts).
 * Without an access filter none of this runs.
 */

/** `{type, id}` plus the access conditions: the filter of a read. */
export async function visibleResourceFilter(reader: ResourceReader, access: AccessFilter, type: string, id: string): Promise<Document> {
  const visible = await resolvedFilter(reader, scopeOf([type], [], access), access);
  return { $and: [{ type, id }, visible] };
}

/** The filter of `exists`: the named resources, not deleted, and (with `access`) visible. */
export async function existingResourcesFilter(reader: ResourceReader, refs: readonly ResourceKey[], access?: AccessFilter): Promise<Document> {
  const named = { $and: [resourcesNamed(refs.map((ref) => `${ref.resourceType}/${ref.id}`)), { deleted: false }] };
  if (!access) return named;
  const types = [...new Set(refs.map((ref) => ref.resourceType))];
  return { $and: [named, await resolvedFilter(reader, scopeOf(types, [], access), access)] };
}

export async function isVisible(reader: ResourceReader, access: AccessFilter, type: string, id: string): Promise<boolean> {
  return (await reader.count(await visibleResourceFilter(reader, access, type, id), 1)) > 0;
}

/** The history filter narrowed to visible resources; undefined when none of them is. */
export async function visibleHistoryFilter(
  reader: ResourceReader,
  access: AccessFilter,
  query: HistoryQuery,
  historyFilter: Document,
  limits: SubqueryLimits = defaultSubqueryLimits,
): Promise<Document | undefined> {
  if (query.resourceType !== undefined && query.id !== undefined) {
    return (await isVisible(reader, access, query.resourceType, query.id)) ? historyFilter : undefined;
  }
  const types = query.resourceType !== undefined ? [query.resourceType] : await storedTypes(reader);
  if (types.length === 0) return undefined;
  const visible = await resolvedFilter(reader, scopeOf(types, [], access), access, limits);
  const found = await reader.find(visible, { projection: { _id: 0, type: 1, id: 1 }, limit: limits.maxRefs + 1 });
  if (found.length > limits.maxRefs) {
    throw FhirError.of(400, 'too-costly', `History over more than ${limits.maxRefs} visible resources is not available; ask for one resource's history`);
  }
  if (found.length === 0) return undefined;
  return { $and: [historyFilter, resourcesNamed(found.map((doc) => `${doc.type as string}/${doc.id as string}`))] };
}

async function storedTypes(reader: ResourceReader): Promise<string[]> {
  return (await reader.aggregate([{ $group: { _id: '$type' } }])).map((doc) => doc._id as string);
}
