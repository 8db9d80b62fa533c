import type { RequestContext } from '../context';
import { badRequest, FhirError, type Issue } from '../errors';
import { resourceTypes } from '../fhir/definitions';
import { pageLinks, recordEntry, searchsetBundle, type PageLinks } from '../fhir/bundle';
import type { Bundle, BundleEntry } from '../fhir/types';
import {
  compartmentAccess,
  compartmentCondition,
  compartmentConditionForTypes,
  compartmentTypes,
  type Compartment,
} from '../search/compartment';
import { decodeCursor, encodeCursor, type Cursor } from '../search/cursor';
import type { SearchQuery } from '../search/query';
import { subsetResource } from '../search/subset';
import type { SearchResult } from '../storage/port';
import { parseSearchWithStoredTerminology } from '../terminology/stored-terminology';
import type { QueryPairs } from './conditional';
import { CURSOR_PARAM, FORMAT_PARAMS, lastValue, OFFSET_PARAM, pageUrlBuilder, parseWholeNumber, urlWith } from './paging';
import { assertResourceType } from './resource-body';
import type { Services } from './services';

export interface SearchOptions {
  /** `Prefer: handling=strict`: unknown parameters are an error instead of a warning. */
  strict: boolean;
  /** Compartment search (`/Patient/123/Encounter`, or `/Patient/123/*` without a type). */
  compartment?: Compartment;
}

/** Where the page starts: the beginning, a keyset cursor (the links this server writes) or an offset (`__offset`). */
type PagePosition = { kind: 'first' } | { kind: 'cursor'; raw: string; cursor: Cursor } | { kind: 'offset'; offset: number };

const PAGING_PARAMS = new Set([CURSOR_PARAM, OFFSET_PARAM]);

/**
 * Type-level search (`/Type?...`, `/Type/_search`), system-level search
 * (`/?_type=...`, no type) and compartment search. The parser owns the
 * syntax; the storage applies the query, access filter included, in one go;
 * this function adds what is about the response: paging links, totals,
 * includes, `_summary` and `_elements`.
 */
export async function search(
  services: Services,
  ctx: RequestContext,
  resourceType: string | undefined,
  pairs: QueryPairs,
  options: SearchOptions,
): Promise<Bundle> {
  if (resourceType) assertResourceType(resourceType);
  const criteria = pairs.filter(([key]) => !PAGING_PARAMS.has(key) && !FORMAT_PARAMS.has(key));
  const scope = searchScope(ctx, resourceType, options.compartment);
  // Value sets and code systems stored on this server count for :in, :not-in, :above and :below,
  // read with the caller's own access (one it may not see is unknown to it).
  const { query, warnings } = await parseSearchWithStoredTerminology(services.storage, scope.ctx, scope.types, criteria, { strict: options.strict, baseUrl: ctx.baseUrl });
  if (scope.condition) query.where.push(scope.condition);
  const position = pagePosition(pairs, query);
  const result = await services.storage.search(scope.ctx, positioned(query, position));

  const path = scope.path;
  const links = searchLinks(path, criteria, position, query, result);
  const issues = [...warnings, ...totalWarnings(result)];
  // Without _summary or _elements the bodies stay the stored bytes (fhir/stored-body.ts).
  const subset = query.summary !== undefined || (query.elements !== undefined && query.elements.length > 0);
  const matches = subset
    ? result.records.map((record) => ({
        ...record,
        ...(record.resource ? { resource: subsetResource(record.resource, query.summary, query.elements) } : {}),
      }))
    : result.records;
  const bundle = searchsetBundle(ctx.baseUrl, matches, links, result.total, issues);
  bundle.entry = [...(bundle.entry ?? []), ...includeEntries(ctx.baseUrl, result)];
  return bundle;
}

interface SearchScope {
  types: string[];
  /** The compartment's condition, added to the parsed ones. */
  condition?: SearchQuery['where'][number];
  ctx: RequestContext;
  /** Base URL and path the links are built on. */
  path: string;
}

function searchScope(ctx: RequestContext, resourceType: string | undefined, compartment: Compartment | undefined): SearchScope {
  if (!compartment) {
    return { types: resourceType ? [resourceType] : [...resourceTypes()], ctx, path: resourceType ? `${ctx.baseUrl}/${resourceType}` : ctx.baseUrl };
  }
  const compartmentPath = `${ctx.baseUrl}/${compartment.type}/${encodeURIComponent(compartment.id)}`;
  if (resourceType) {
    const condition = compartmentCondition(compartment, resourceType);
    if (!condition) throw badRequest(`${resourceType} is not part of the ${compartment.type} compartment`);
    return { types: [resourceType], condition, ctx, path: `${compartmentPath}/${resourceType}` };
  }
  // `*`: the union condition narrows cheaply; the access filter makes it exact per type (compartment.ts).
  const types = compartmentTypes();
  return {
    types,
    condition: compartmentConditionForTypes(compartment, types),
    ctx: { ...ctx, access: compartmentAccess(compartment, ctx.access) },
    path: `${compartmentPath}/*`,
  };
}

function pagePosition(pairs: QueryPairs, query: SearchQuery): PagePosition {
  const rawCursor = lastValue(pairs, CURSOR_PARAM);
  const rawOffset = lastValue(pairs, OFFSET_PARAM);
  if (rawCursor !== undefined && rawOffset !== undefined) {
    throw badRequest(`${CURSOR_PARAM} and ${OFFSET_PARAM} are two ways to name a page: use one`, [CURSOR_PARAM]);
  }
  if (rawCursor !== undefined) return { kind: 'cursor', raw: rawCursor, cursor: decodeCursor(CURSOR_PARAM, rawCursor, query.sort.length) };
  if (rawOffset !== undefined) return { kind: 'offset', offset: parseWholeNumber(OFFSET_PARAM, rawOffset, Number.MAX_SAFE_INTEGER) };
  return { kind: 'first' };
}

function positioned(query: SearchQuery, position: PagePosition): SearchQuery {
  switch (position.kind) {
    case 'cursor':
      return { ...query, offset: 0, ...position.cursor };
    case 'offset':
      return { ...query, offset: position.offset };
    default:
      return query;
  }
}

/**
 * self, first, and previous/next when there is such a page. Keyset links
 * carry the position of the page's first or last row, so rows written or
 * deleted elsewhere meanwhile neither repeat nor vanish between pages. An
 * offset page (asked for with `__offset`, or returned by an engine that
 * reports no positions) is linked by offset.
 */
function searchLinks(path: string, criteria: QueryPairs, position: PagePosition, query: SearchQuery, result: SearchResult): PageLinks {
  const self = position.kind === 'first' ? urlWith(path, criteria) : urlWith(path, [...criteria, positionParam(position)]);
  const links: PageLinks = { self, first: urlWith(path, criteria) };
  // A count-only answer (`_count=0`, `_summary=count`) has no pages to link to.
  if (query.count === 0) return links;
  const keysetCapable = result.first !== undefined || result.last !== undefined || result.hasMore !== undefined;
  if (position.kind === 'offset' || (position.kind === 'first' && !keysetCapable)) {
    const offset = position.kind === 'offset' ? position.offset : query.offset;
    return pageLinks(pageUrlBuilder(path, criteria), offset, query.count, result.records.length, result.total);
  }
  const at = (cursor: Cursor) => urlWith(path, [...criteria, [CURSOR_PARAM, encodeCursor(cursor)]]);
  if (result.hasPrevious && result.first) links.previous = at({ before: result.first });
  if (result.hasMore && result.last) links.next = at({ after: result.last });
  return links;
}

function positionParam(position: Exclude<PagePosition, { kind: 'first' }>): [string, string] {
  return position.kind === 'cursor' ? [CURSOR_PARAM, position.raw] : [OFFSET_PARAM, String(position.offset)];
}

function totalWarnings(result: SearchResult): Issue[] {
  if (result.totalExceeds === undefined) return [];
  return [
    {
      severity: 'warning',
      code: 'informational',
      diagnostics: `More than ${result.totalExceeds} resources match; the total was not counted further (Bundle.total is omitted; _total=accurate counts every match)`,
    },
  ];
}

function includeEntries(baseUrl: string, result: SearchResult): BundleEntry[] {
  return (result.included ?? []).map((record) => recordEntry(baseUrl, record, 'include'));
}

/** A compartment search asked for with a compartment type the server has no definition for. */
export function unsupportedCompartment(compartmentType: string): FhirError {
  return FhirError.of(404, 'not-found', `There is no ${compartmentType} compartment: only the Patient compartment is defined`);
}
