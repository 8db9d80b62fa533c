import { classifyRequest, type ClassifiedRequest } from '../security/scopes/classify';
import { isReadOnlyPost, unsupportedRequest, type EntryRequest } from './bundle-request';

/** The route an entry's request would have matched as a REST call: its pattern (relative to the base) and parameters. */
export interface EntryRoute {
  pattern: string;
  params: Record<string, string | undefined>;
}

/** Literal path segments the router matches before any `:param` (fhir-routes.ts). */
const HISTORY = '_history';
const EVERYTHING = '$everything';

/** GET (and HEAD) URL shapes, as the router reads them; undefined when the bundle does not support the shape. */
function readRoute([type, id, third, vid, ...rest]: string[]): EntryRoute | undefined {
  if (rest.length > 0) return undefined;
  if (type === undefined) return { pattern: '/', params: {} };
  if (type === HISTORY) return id === undefined ? { pattern: '/_history', params: {} } : undefined;
  if (id === undefined) return { pattern: '/:type', params: { type } };
  if (id === HISTORY) return third === undefined ? { pattern: '/:type/_history', params: { type } } : undefined;
  if (third === undefined) return { pattern: '/:type/:id', params: { type, id } };
  if (third === HISTORY) {
    return vid === undefined ? { pattern: '/:type/:id/_history', params: { type, id } } : { pattern: '/:type/:id/_history/:vid', params: { type, id, vid } };
  }
  if (vid !== undefined) return undefined;
  if (third === EVERYTHING) return { pattern: '/:type/:id/$everything', params: { type, id } };
  if (third.startsWith('$')) return undefined;
  return { pattern: '/:type/:id/:compartmentType', params: { type, id, compartmentType: third } };
}

/** Write URL shapes: type level (create, conditional update or delete) or instance level. */
function writeRoute(method: EntryRequest['method'], [type, id, ...rest]: string[]): EntryRoute | undefined {
  if (type === undefined || type.startsWith('_') || type.startsWith('$') || rest.length > 0) return undefined;
  if (id === undefined) return method === 'PATCH' ? undefined : { pattern: '/:type', params: { type } };
  if (method === 'POST' || id.startsWith('_') || id.startsWith('$')) return undefined;
  return { pattern: '/:type/:id', params: { type, id } };
}

/** The type-level operations a bundle runs, by name, with the route each has as a REST call. */
const TYPE_OPERATIONS = new Set(['$validate', '$evaluate']);

/** POSTs that only read (`isReadOnlyPost`): a search by POST, or an operation with the route fhir-routes.ts gives it. */
function readOnlyPostRoute([type, name]: string[]): EntryRoute | undefined {
  // `/Patient/$match` is a static route: it wins over the `:type` ones and has no parameters.
  if (type === 'Patient' && name === '$match') return { pattern: '/Patient/$match', params: {} };
  if (type.startsWith('_') || type.startsWith('$')) return undefined;
  if (name === '_search') return { pattern: '/:type/_search', params: { type } };
  return TYPE_OPERATIONS.has(name) ? { pattern: `/:type/${name}`, params: { type } } : undefined;
}

/** The route of an entry, or 400 (naming the entry) for a shape no route of a bundle answers. */
export function entryRoute(request: EntryRequest): EntryRoute {
  const { method, segments } = request;
  const route =
    method === 'GET' || method === 'HEAD' ? readRoute(segments) : isReadOnlyPost(request) ? readOnlyPostRoute(segments) : writeRoute(method, segments);
  if (!route) throw unsupportedRequest(request);
  return route;
}

/**
 * What the entry does, exactly as the same REST call is classified (HEAD is
 * a GET without the body, so it needs what GET needs): the scopes, access
 * filter and audit record of the entry follow from this.
 */
export function classifyEntry(request: EntryRequest): ClassifiedRequest {
  const { pattern, params } = entryRoute(request);
  return classifyRequest(request.method, pattern, params);
}
