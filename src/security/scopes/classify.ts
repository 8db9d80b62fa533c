import type { Interaction } from './interaction';
import { PERMISSION_ORDER, type Permission } from './scope';

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

/**
 * What a route of the route table (src/rest/routes.ts) says about itself
 * for admission: the interaction, the operation's name, the permissions.
 */
export interface RouteClass {
  interaction: Interaction;
  operation?: string;
  permissions: readonly Permission[];
  /**
   * The path parameter naming the resource type the request reads: `type`,
   * or for a compartment search `compartmentType` (`*`: every type).
   */
  typeParam?: 'type' | 'compartmentType';
}

/** Every permission: what a route that says nothing about its needs requires, so it is never open by accident. */
export const ALL_PERMISSIONS: readonly Permission[] = PERMISSION_ORDER;

/** The permission an access filter is built for: what the interaction exercises on the data it sees. */
export function accessPermissionOf(permissions: readonly Permission[]): Permission {
  return permissions.includes('s') ? 's' : (permissions[0] ?? 'r');
}

/**
 * `GET /Patient/123/Observation` (or `/*`) searches the named type (every
 * type) inside the compartment. The compartment route also catches
 * `/Patient/123/$op` when no route names the operation: an operation
 * nobody declared, which needs every permission.
 */
function compartmentSearch(route: RouteClass, params: Record<string, string | undefined>): ClassifiedRequest {
  const target = params.compartmentType ?? '*';
  if (target.startsWith('$')) {
    return { interaction: 'operation', operation: target, resourceType: params.type, id: params.id, permissions: ALL_PERMISSIONS, accessPermission: 's' };
  }
  return { interaction: route.interaction, resourceType: target === '*' ? undefined : target, permissions: route.permissions, accessPermission: accessPermissionOf(route.permissions) };
}

/** The classification of a request that matched `route` with these path parameters. */
export function classifyRoute(route: RouteClass, params: Record<string, string | undefined>): ClassifiedRequest {
  if (route.typeParam === 'compartmentType') return compartmentSearch(route, params);
  const { interaction, operation, permissions } = route;
  return {
    interaction,
    ...(operation !== undefined ? { operation } : {}),
    resourceType: params.type,
    id: params.id,
    permissions,
    accessPermission: accessPermissionOf(permissions),
  };
}
