/** Reads the consent layer makes to decide: always unfiltered, since they decide what the filter is. */
import type { RequestContext } from '../../context';
import type { AnyResource } from '../../fhir/types';
import type { Condition } from '../../search/query';
import type { StorageOps } from '../../storage/port';

const PAGE = 1000;

/** The request's context without its access filter: the consent layer's own reads must see everything. */
export function unfiltered(ctx: RequestContext): RequestContext {
  const { access: _access, ...rest } = ctx;
  return rest;
}

/** Every current resource of `resourceType` matching `where`, page by page (`T`: the type's shape). */
export async function searchAll<T = AnyResource>(ops: StorageOps, ctx: RequestContext, resourceType: string, where: Condition[]): Promise<T[]> {
  const found: AnyResource[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await ops.search(unfiltered(ctx), {
      types: [resourceType],
      where,
      sort: [{ code: '_id', descending: false, type: 'token' }],
      count: PAGE,
      offset,
      total: 'none',
    });
    found.push(...page.records.map((r) => r.resource!).filter((r) => r !== undefined));
    if (page.records.length < PAGE) return found as unknown as T[];
  }
}

export async function readCurrent<T = AnyResource>(ops: StorageOps, ctx: RequestContext, ref: string): Promise<T | undefined> {
  const [type, id] = ref.split('/');
  if (!type || !id) return undefined;
  const record = await ops.read(unfiltered(ctx), type, id);
  return record && !record.deleted ? (record.resource as unknown as T) : undefined;
}
