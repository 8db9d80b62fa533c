import FindMyWay from 'find-my-way';
import { FhirError } from '../errors';
import type { Route, RouteFinder, RouteMatch, RouteMethod } from '../interactions/route';
import { ALL_PERMISSIONS, classifyRoute, type ClassifiedRequest } from '../security/scopes/classify';

const METHODS: readonly RouteMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** The router's options, the same ones the Fastify server is built with (src/http/server.ts). */
export const ROUTER_OPTIONS = { ignoreTrailingSlash: true, maxParamLength: 200 } as const;

/** A request id-less placeholder for each path parameter, to ask the router which route a path shape reaches. */
const SAMPLE_PARAMS: Record<string, string> = { type: 'Patient', id: 'x', vid: '1', compartmentType: 'Observation' };

const samplePath = (path: string) => path.replace(/:([A-Za-z]+)/g, (_, name: string) => SAMPLE_PARAMS[name] ?? 'x');

/** 405 with the methods the path takes (RFC 9110 section 15.5.6). */
export function methodNotAllowed(method: string, allow: readonly string[]): FhirError {
  return new FhirError(405, [{ severity: 'error', code: 'not-supported', diagnostics: `${method} is not allowed here; use ${allow.join(', ')}` }], {
    allow: allow.join(', '),
  });
}

/**
 * A route that only answers 405: the path is known but not with this
 * method, and another route would otherwise catch it (`GET /Patient/$match`
 * would read a Patient whose id is `$match`). No scope can make it succeed,
 * so admission does not weigh it.
 */
function notAllowedRoute(method: RouteMethod, path: string, allow: readonly string[]): Route {
  return {
    method,
    path,
    interaction: 'operation',
    operation: `${method} ${path}`,
    permissions: ALL_PERMISSIONS,
    body: 'none',
    changesState: false,
    methodNotAllowed: true,
    handler: async () => {
      throw methodNotAllowed(method, allow);
    },
  };
}

export interface RestRouter extends RouteFinder {
  /** The table's routes, then the 405 routes derived from it, for the HTTP server to register. */
  readonly routes: readonly Route[];
  /** The methods a path (relative to the base) takes, when some route of the table has its shape: the Allow of a 405. */
  allowed(path: string): readonly string[] | undefined;
}

/**
 * Everything derived from the route table: one find-my-way router (the one
 * Fastify uses) for the table's routes and the 405 routes of paths another
 * route would shadow, and a second one keyed by path alone for the Allow
 * header of any other method.
 */
export function createRouter(table: readonly Route[]): RestRouter {
  const byPath = new Map<string, Route[]>();
  for (const route of table) byPath.set(route.path, [...(byPath.get(route.path) ?? []), route]);

  const router = FindMyWay(ROUTER_OPTIONS);
  for (const route of table) router.on(route.method, route.path, () => undefined, route);
  const shadowed: Route[] = [];
  for (const [path, routes] of byPath) {
    const allow = routes.map((route) => route.method);
    for (const method of METHODS) {
      if (!allow.includes(method) && router.find(method, samplePath(path))) shadowed.push(notAllowedRoute(method, path, allow));
    }
  }
  for (const route of shadowed) router.on(route.method, route.path, () => undefined, route);

  const shapes = FindMyWay(ROUTER_OPTIONS);
  for (const [path, routes] of byPath)
    shapes.on(
      'GET',
      path,
      () => undefined,
      routes.map((route) => route.method),
    );

  return {
    routes: [...table, ...shadowed],
    find(method: string, path: string): RouteMatch | undefined {
      // HEAD is GET without the body: the same route, the same rights.
      const found = router.find((method === 'HEAD' ? 'GET' : method) as RouteMethod, path);
      return found ? { route: found.store as Route, params: found.params } : undefined;
    },
    allowed: (path) => (shapes.find('GET', path)?.store as string[] | undefined) ?? undefined,
  };
}

/**
 * The classification of `method` at `pattern` (a path of the table, as
 * Fastify reports `routeOptions.url` relative to the base): what admission
 * and the audit record see. A pattern the table does not have is an
 * operation nobody declared, which needs every permission.
 */
export function classifyPattern(
  table: readonly Route[],
  requestMethod: string,
  pattern: string,
  params: Record<string, string | undefined>,
): ClassifiedRequest {
  const method = requestMethod === 'HEAD' ? 'GET' : requestMethod;
  // The base route is registered without a slash: `POST /` (a batch or transaction), not `POST `.
  const path = pattern === '' ? '/' : pattern;
  const route = table.find((candidate) => candidate.method === method && candidate.path === path);
  if (route) return classifyRoute(route, params);
  const literal = path
    .split('/')
    .reverse()
    .find((segment) => segment.startsWith('$'));
  return {
    interaction: 'operation',
    operation: literal ?? `${method} ${path}`,
    resourceType: params.type,
    id: params.id,
    permissions: ALL_PERMISSIONS,
    accessPermission: 's',
  };
}
