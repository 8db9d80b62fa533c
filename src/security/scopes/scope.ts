import type { Condition } from '../../search/query';

/** SMART permission letters, in the order a v2 scope writes them. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

export const PERMISSION_ORDER: readonly Permission[] = ['c', 'r', 'u', 'd', 's'];

/** `patient/`, `user/` or `system/`: whose data the scope reaches. */
export type ScopeContext = 'patient' | 'user' | 'system';

/**
 * One granted SMART clinical scope
 * (http://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html).
 */
export interface Scope {
  /** As written in the token, for the audit record and the 403 message. */
  readonly text: string;
  readonly context: ScopeContext;
  /** A resource type, or `*` for every type. */
  readonly resourceType: string;
  readonly permissions: ReadonlySet<Permission>;
  /**
   * A granular scope's query (`?category=laboratory`) as search conditions on
   * `resourceType`; absent for a plain scope.
   */
  readonly where?: readonly Condition[];
}
