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
 * The permissions an interaction needs on its resource type (SMART
 * App Launch: r reads by id, s searches, c creates, u updates, d deletes).
 * Operations say what they need themselves, in their descriptors (src/operations/).
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
