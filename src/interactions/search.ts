import type { RequestContext } from '../context';
import { resourceTypes } from '../fhir/definitions';
import { pageLinks, searchsetBundle } from '../fhir/bundle';
import type { Bundle } from '../fhir/types';
import { parseSearch } from '../search/parse';
import type { QueryPairs } from './conditional';
import { FORMAT_PARAMS, lastValue, OFFSET_PARAM, pageUrlBuilder, parseWholeNumber } from './paging';
import { assertResourceType } from './resource-body';
import type { Services } from './services';

export interface SearchOptions {
  /** `Prefer: handling=strict`: unknown parameters are an error instead of a warning. */
  strict: boolean;
}

/**
 * Type-level search (`/Type?...`, `/Type/_search`) or, without a type,
 * system-level search (`/?_type=...`). The parser owns the syntax; the
 * storage applies the query, access filter included, in one go.
 */
export async function search(
  services: Services,
  ctx: RequestContext,
  resourceType: string | undefined,
  pairs: QueryPairs,
  options: SearchOptions,
): Promise<Bundle> {
  if (resourceType) assertResourceType(resourceType);
  const criteria = pairs.filter(([key]) => key !== OFFSET_PARAM && !FORMAT_PARAMS.has(key));
  const offset = parseWholeNumber(OFFSET_PARAM, lastValue(pairs, OFFSET_PARAM) ?? '0', Number.MAX_SAFE_INTEGER);
  const types = resourceType ? [resourceType] : [...resourceTypes()];
  const { query, warnings } = parseSearch(types, criteria, { strict: options.strict, baseUrl: ctx.baseUrl });
  const result = await services.storage.search(ctx, { ...query, offset });
  const path = resourceType ? `${ctx.baseUrl}/${resourceType}` : ctx.baseUrl;
  const links = pageLinks(pageUrlBuilder(path, criteria), offset, query.count, result.records.length, result.total);
  return searchsetBundle(ctx.baseUrl, result.records, links, result.total, warnings);
}
