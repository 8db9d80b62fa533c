import type { Permission } from './scope';

/**
 * The FHIR interactions as the authorization layer sees them; the same names
 * are the AuditEvent subtypes (http://hl7.org/fhir/restful-interaction).
 */
export type Interaction =
  | 'read'
  | 'vread'
  | 'history-instance'
  | 'history-type'
  | 'history-system'
  | 'search-type'
  | 'search-system'
  | 'create'
  | 'update'
  | 'patch'
  | 'delete'
  | 'operation';

/**
 * The permissions an interaction needs on its resource type (issue 4, SMART
 * App Launch: r reads by id, s searches, c creates, u updates, d deletes).
 * Operations say what they need themselves (see `operationPermissions`).
 */
export const REQUIRED_PERMISSIONS: Record<Exclude<Interaction, 'operation'>, readonly Permission[]> = {
  read: ['r'],
  vread: ['r'],
  'history-instance': ['r'],
  'history-type': ['s'],
  'history-system': ['s'],
  'search-type': ['s'],
  'search-system': ['s'],
  create: ['c'],
  update: ['u'],
  patch: ['u'],
  delete: ['d'],
};

/**
 * `$everything` returns a compartment: it reads and searches. Instance
 * `$validate` reads the stored resource. Type-level `$validate` reads nothing
 * and needs any grant on the type; unknown operations need every permission.
 */
export function operationPermissions(operation: string, instanceLevel: boolean): readonly Permission[] {
  if (operation === '$everything') return ['r', 's'];
  if (operation === '$validate') return instanceLevel ? ['r'] : [];
  // Patient/$match is a search by example.
  if (operation === '$match') return ['s'];
  // Consent/$evaluate decides itself who may ask (the consent layer); any grant on Consent gets there.
  if (operation === '$evaluate') return [];
  return ['c', 'r', 'u', 'd', 's'];
}
