import { badRequest } from '../errors';
import type { QueryPairs } from './conditional';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 1000;

/**
 * Server paging parameters. They are not FHIR search parameters, so they
 * carry a double underscore to stay clear of the spec's `_` names:
 * `__cursor` is the keyset position of a search page (src/search/cursor.ts),
 * `__offset` the position of a page by count (history, and searches that
 * ask for it), `__until` pins history paging to the moment the first page
 * was read.
 */
export const CURSOR_PARAM = '__cursor';
export const OFFSET_PARAM = '__offset';
export const UNTIL_PARAM = '__until';

/** Parameters about the response format, not the result: never search criteria. */
export const FORMAT_PARAMS = new Set(['_format', '_pretty']);

export function parseWholeNumber(name: string, raw: string, max: number): number {
  if (!/^\d{1,9}$/.test(raw)) throw badRequest(`${name} must be a whole number, got "${raw}"`, [name]);
  return Math.min(Number(raw), max);
}

/** The last value of a parameter (a repeated paging parameter is not meaningful, the last wins). */
export function lastValue(pairs: QueryPairs, name: string): string | undefined {
  let value: string | undefined;
  for (const [key, v] of pairs) if (key === name) value = v;
  return value;
}

/** `path?pairs`, or the path alone. */
export function urlWith(baseUrlAndPath: string, pairs: QueryPairs): string {
  const query = new URLSearchParams(pairs).toString();
  return query ? `${baseUrlAndPath}?${query}` : baseUrlAndPath;
}

/** Builds the URL of another page: the same parameters with a new offset. */
export function pageUrlBuilder(baseUrlAndPath: string, pairs: QueryPairs): (offset: number) => string {
  const kept = pairs.filter(([key]) => key !== OFFSET_PARAM);
  return (offset) => urlWith(baseUrlAndPath, offset > 0 ? [...kept, [OFFSET_PARAM, String(offset)]] : kept);
}
