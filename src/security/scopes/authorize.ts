import type { Principal } from '../../context';
import { FhirError } from '../../errors';
import type { Permission, Scope } from './scope';

/** The scopes of a principal that grant `permission` on `resourceType`. */
export function scopesGranting(scopes: readonly Scope[], resourceType: string, permission: Permission): Scope[] {
  return scopes.filter((scope) => (scope.resourceType === '*' || scope.resourceType === resourceType) && scope.permissions.has(permission));
}

/** Scopes of a token; undefined for the operator without a token (no scopes apply). */
export function tokenScopes(principal: Principal): readonly Scope[] | undefined {
  return principal.kind === 'operator' ? principal.token?.scopes : principal.token.scopes;
}

/**
 * The authorization layer's decision: every permission the interaction needs
 * must be granted on each resource type it touches by some scope, else 403
 * `forbidden`. The caller knows its own scopes, so naming what is missing
 * leaks nothing. An empty `permissions` list asks for any grant on the type.
 * `resourceTypes` empty means a system-level interaction: any type will do.
 */
export function authorize(principal: Principal, resourceTypes: readonly string[], permissions: readonly Permission[]): void {
  const scopes = tokenScopes(principal);
  if (scopes === undefined) return;
  const grants = (type: string, permission: Permission) =>
    type === '' ? scopes.some((scope) => scope.permissions.has(permission)) : scopesGranting(scopes, type, permission).length > 0;
  for (const type of resourceTypes.length === 0 ? [''] : resourceTypes) {
    const missing = permissions.filter((permission) => !grants(type, permission));
    const anyGrant = permissions.length > 0 || scopes.some((scope) => scope.resourceType === '*' || scope.resourceType === type);
    if (missing.length > 0 || !anyGrant) {
      const what = type === '' ? 'any resource type' : type;
      const needs = missing.length > 0 ? `'${missing.join('')}'` : 'a scope';
      throw FhirError.of(403, 'forbidden', `The token's scopes do not grant ${needs} on ${what}`);
    }
  }
}
