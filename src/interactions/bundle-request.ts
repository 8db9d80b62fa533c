import { badRequest, FhirError } from '../errors';
import type { BundleEntry } from '../fhir/types';
import type { QueryPairs } from './conditional';
import { parseCriteria } from './conditional';
import type { RouteFinder, RouteMatch } from './route';

export type EntryMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const METHODS = new Set<string>(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** One bundle entry's request, parsed once: what the REST route would have taken from the HTTP request. */
export interface EntryRequest {
  /** The entry's position in the bundle (0-based): every error names it. */
  index: number;
  method: EntryMethod;
  /** The URL as written, relative to the base. */
  url: string;
  /** Path segments after the base, decoded: `['Patient', '123', '_history', '2']`. */
  segments: string[];
  query: QueryPairs;
  fullUrl?: string;
  resource?: unknown;
  ifNoneExist?: QueryPairs;
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  /** The route the entry's URL reaches, found by the same router as a REST call's (src/rest/router.ts). */
  match: RouteMatch;
}

type EntryRequestElement = NonNullable<BundleEntry['request']>;

const optionalString = (value: unknown, index: number, element: string): string | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`Bundle.entry[${index}].request.${element} must be a string`, [`Bundle.entry[${index}].request.${element}`]);
  return value;
};

/** `Patient/1?x=y`, or an absolute URL under this server's base, to its path (as sent), path segments and query pairs. */
function splitUrl(raw: string, baseUrl: string, index: number): { url: string; path: string; segments: string[]; query: QueryPairs } {
  let url = raw;
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) {
    if (!url.startsWith(`${baseUrl}/`) && url !== baseUrl) {
      throw badRequest(`Bundle.entry[${index}].request.url must be relative to this server's base, got ${raw}`, [`Bundle.entry[${index}].request.url`]);
    }
    url = url.slice(baseUrl.length);
  }
  const at = url.indexOf('?');
  const path = at < 0 ? url : url.slice(0, at);
  const query = at < 0 ? [] : parseCriteria(url.slice(at + 1));
  try {
    const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    return { url: url.replace(/^\//, ''), path: `/${path.replace(/^\//, '')}`, segments, query };
  } catch {
    throw badRequest(`Bundle.entry[${index}].request.url is not a valid URL: ${raw}`, [`Bundle.entry[${index}].request.url`]);
  }
}

/**
 * The route of an entry, as the router finds it for the same REST call; 400
 * (naming the entry) for a shape no route answers in a bundle: an unknown
 * one, one that only answers 405, a nested batch or transaction, a create
 * with a query string.
 */
function entryRoute(router: RouteFinder, method: EntryMethod, url: { url: string; path: string; query: QueryPairs }, index: number): RouteMatch {
  const match = router.find(method, url.path);
  const unsupported = !match || match.route.methodNotAllowed || (match.route.method === 'POST' && match.route.path === '/');
  if (unsupported || (match.route.interaction === 'create' && url.query.length > 0)) throw unsupportedRequest({ method, url: url.url, index });
  return match;
}

/** Checks and parses `entry` (of a batch or transaction); 400 naming the element when it is malformed. */
export function parseEntryRequest(entry: unknown, index: number, baseUrl: string, router: RouteFinder): EntryRequest {
  const where = `Bundle.entry[${index}]`;
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw badRequest(`${where} must be an object`, [where]);
  const { request, resource, fullUrl } = entry as { request?: EntryRequestElement; resource?: unknown; fullUrl?: unknown };
  if (request === null || typeof request !== 'object') throw badRequest(`${where}.request is required in a batch or transaction`, [`${where}.request`]);
  if (typeof request.method !== 'string' || !METHODS.has(request.method)) {
    throw badRequest(`${where}.request.method must be one of ${[...METHODS].join(', ')}`, [`${where}.request.method`]);
  }
  if (typeof request.url !== 'string' || request.url.trim() === '') throw badRequest(`${where}.request.url is required`, [`${where}.request.url`]);
  const method = request.method as EntryMethod;
  const { path, ...url } = splitUrl(request.url.trim(), baseUrl, index);
  const match = entryRoute(router, method, { ...url, path }, index);
  // A search or an operation by POST may carry everything in its URL; the operation says what it lacks.
  const body = match.route.body;
  if (resource === undefined && (body === 'resource' || body === 'patch')) throw badRequest(`${where}.resource is required for ${method}`, [`${where}.resource`]);
  const ifNoneExist = optionalString(request.ifNoneExist, index, 'ifNoneExist');
  return {
    index,
    method,
    ...url,
    fullUrl: optionalString(fullUrl, index, 'fullUrl'),
    resource,
    ifNoneExist: ifNoneExist === undefined ? undefined : parseCriteria(ifNoneExist),
    ifMatch: optionalString(request.ifMatch, index, 'ifMatch'),
    ifNoneMatch: optionalString(request.ifNoneMatch, index, 'ifNoneMatch'),
    ifModifiedSince: optionalString(request.ifModifiedSince, index, 'ifModifiedSince'),
    match,
  };
}

/**
 * Entries that change state: creates, updates, patches, deletes, and the
 * operations that say so (affectsState). They are checked as writes and
 * ordered with the writes, never with the reads.
 */
export function isWrite(request: Pick<EntryRequest, 'match'>): boolean {
  return request.match.route.changesState;
}

/** An entry whose URL has no shape this server answers: 400 naming the entry. */
export function unsupportedRequest(request: Pick<EntryRequest, 'method' | 'url' | 'index'>): FhirError {
  return FhirError.of(400, 'not-supported', `${request.method} ${request.url} is not an interaction this server supports in a bundle`, [
    `Bundle.entry[${request.index}].request.url`,
  ]);
}
