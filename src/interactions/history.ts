import type { RequestContext } from '../context';
import { badRequest, notFound } from '../errors';
import { historyBundle, pageLinks } from '../fhir/bundle';
import { startInstant } from '../fhir/datetime';
import type { Bundle } from '../fhir/types';
import type { QueryPairs } from './conditional';
import { DEFAULT_PAGE_SIZE, FORMAT_PARAMS, lastValue, MAX_PAGE_SIZE, OFFSET_PARAM, pageUrlBuilder, parseWholeNumber, UNTIL_PARAM } from './paging';
import { assertResourceType } from './resource-body';
import type { Services } from './services';

const HISTORY_PARAMS = new Set(['_count', '_since', OFFSET_PARAM, UNTIL_PARAM]);

function instantParam(pairs: QueryPairs, name: string): string | undefined {
  const raw = lastValue(pairs, name);
  if (raw === undefined) return undefined;
  const instant = startInstant(raw);
  if (!instant) throw badRequest(`${name} must be a FHIR instant such as 2024-01-31T10:00:00Z, got "${raw}"`, [name]);
  return instant;
}

/**
 * History at system (`/_history`), type (`/Type/_history`) or instance
 * (`/Type/id/_history`) level. Every page after the first is pinned to the
 * time the first page was read, so versions written meanwhile do not shift it.
 */
export async function history(
  services: Services,
  ctx: RequestContext,
  target: { resourceType?: string; id?: string },
  pairs: QueryPairs,
): Promise<Bundle> {
  const { resourceType, id } = target;
  if (resourceType) assertResourceType(resourceType);
  for (const [key] of pairs) {
    if (!HISTORY_PARAMS.has(key) && !FORMAT_PARAMS.has(key)) throw badRequest(`History does not support the parameter ${key}`, [key]);
  }
  const count = parseWholeNumber('_count', lastValue(pairs, '_count') ?? String(DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE);
  const offset = parseWholeNumber(OFFSET_PARAM, lastValue(pairs, OFFSET_PARAM) ?? '0', Number.MAX_SAFE_INTEGER);
  const since = instantParam(pairs, '_since');
  const at = instantParam(pairs, UNTIL_PARAM) ?? ctx.now.toISOString();

  if (resourceType && id) {
    const current = await services.storage.read(ctx, resourceType, id);
    if (!current) throw notFound(`${resourceType}/${id} is not known`);
  }
  const page = await services.storage.history(ctx, { resourceType, id, since, at, count, offset });
  const path = [ctx.baseUrl, resourceType, id, '_history'].filter(Boolean).join('/');
  const pinned: QueryPairs = [...pairs.filter(([key]) => key !== UNTIL_PARAM && !FORMAT_PARAMS.has(key)), [UNTIL_PARAM, at]];
  const links = pageLinks(pageUrlBuilder(path, pinned), offset, count, page.records.length, page.total);
  return historyBundle(ctx.baseUrl, page.records, links, page.total);
}
