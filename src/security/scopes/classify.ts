import { operationPermissions, REQUIRED_PERMISSIONS, type Interaction } from './interaction';
import type { Permission } from './scope';

/** What one FHIR request does, for the authorization decision and the audit record. */
export interface ClassifiedRequest {
  interaction: Interaction;
  /** The operation's name (`$validate`) when interaction is `operation`. */
  operation?: string;
  /** The URL's type; absent at system level. */
  resourceType?: string;
  /** The URL's id; absent at type and system level. */
  id?: string;
  /** Needed on `resourceType` (or, at system level, on some type). Empty: any grant on the type. */
  permissions: readonly Permission[];
  /** The permission whose conditions filter what the request sees or writes. */
  accessPermission: Permission;
}

/** Route pattern (relative to the FHIR base) and method → interaction, for the core routes. */
const ROUTES: Record<string, Exclude<Interaction, 'operation'>> = {
  'GET /': 'search-system',
  'GET /_history': 'history-system',
  'GET /:type': 'search-type',
  'POST /:type/_search': 'search-type',
  'POST /:type': 'create',
  'PUT /:type': 'update',
  'DELETE /:type': 'delete',
  'GET /:type/_history': 'history-type',
  'GET /:type/:id': 'read',
  'PUT /:type/:id': 'update',
  'PATCH /:type/:id': 'patch',
  'DELETE /:type/:id': 'delete',
  'GET /:type/:id/_history': 'history-instance',
  'GET /:type/:id/_history/:vid': 'vread',
};

/**
 * `GET /Patient/123/Observation` (or `/*`, or `POST .../_search`) searches
 * the named type (every type) inside the compartment; the compartment route also catches
 * `/Patient/123/$op` when no route names the operation.
 */
function compartmentSearch(method: string, pattern: string, params: Record<string, string | undefined>): ClassifiedRequest | undefined {
  const target = params.compartmentType;
  if (target === undefined) return undefined;
  if (method === 'POST' && pattern === '/:type/:id/:compartmentType/_search') return compartmentSearchOf(target);
  if (method !== 'GET' || pattern !== '/:type/:id/:compartmentType') return undefined;
  if (target.startsWith('$')) {
    const permissions = operationPermissions(target, true);
    return { interaction: 'operation', operation: target, resourceType: params.type, id: params.id, permissions, accessPermission: accessPermissionOf(permissions) };
  }
  return compartmentSearchOf(target);
}

function compartmentSearchOf(target: string): ClassifiedRequest {
  const permissions = REQUIRED_PERMISSIONS['search-type'];
  return { interaction: 'search-type', resourceType: target === '*' ? undefined : target, permissions, accessPermission: 's' };
}

/** The permission an access filter is built for: what the interaction exercises on the data it sees. */
function accessPermissionOf(permissions: readonly Permission[]): Permission {
  return permissions.includes('s') ? 's' : (permissions[0] ?? 'r');
}

/**
 * Classifies a request by its route pattern. Routes this table does not know
 * (operations added elsewhere, batch) are operations: `$name` from the last
 * literal segment, and an unknown one needs every permission, so that a new
 * route is never reachable with less than full rights by accident.
 */
export function classifyRequest(requestMethod: string, pattern: string, params: Record<string, string | undefined>): ClassifiedRequest {
  // HEAD is GET without the body (Fastify answers it from the GET route): the same rights.
  const method = requestMethod === 'HEAD' ? 'GET' : requestMethod;
  const resourceType = params.type;
  const id = params.id;
  // The base route is registered without a slash: `POST /` (a batch or transaction), not `POST `.
  const route = pattern === '' ? '/' : pattern;
  const interaction = ROUTES[`${method} ${route}`];
  if (interaction) {
    const permissions = REQUIRED_PERMISSIONS[interaction];
    return { interaction, resourceType, id, permissions, accessPermission: accessPermissionOf(permissions) };
  }
  const compartment = compartmentSearch(method, pattern, params);
  if (compartment) return compartment;
  const literal = pattern.split('/').reverse().find((segment) => segment.startsWith('$'));
  const operation = literal ?? `${method} ${route}`;
  const permissions = operationPermissions(operation, id !== undefined);
  return { interaction: 'operation', operation, resourceType, id, permissions, accessPermission: accessPermissionOf(permissions) };
}
