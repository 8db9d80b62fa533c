import type { Scope } from '../scopes/scope';
import { parseScope } from '../scopes/parse-scopes';

/** Whether an allowed scope covers a requested one: same context, same or `*` type, at least its permissions, and the same query if any. */
function covers(allowed: Scope, requested: Scope): boolean {
  if (allowed.context !== requested.context) return false;
  if (allowed.resourceType !== '*' && allowed.resourceType !== requested.resourceType) return false;
  if ([...requested.permissions].some((permission) => !allowed.permissions.has(permission))) return false;
  const query = (scope: Scope) => scope.text.split('?')[1];
  return query(allowed) === undefined || query(allowed) === query(requested);
}

/**
 * The scopes a Backend Services client is granted: each requested scope that
 * the client's allowed scopes cover (a client allowed `system/*.rs` may ask
 * for `system/Patient.r`). Non-clinical scopes are granted only when listed
 * verbatim.
 */
export function grantedScopes(requested: readonly string[], allowed: readonly string[], baseUrl: string): string[] {
  const allowedScopes = allowed.map((text) => parseScope(text, baseUrl)).filter((scope): scope is Scope => scope !== undefined);
  return requested.filter((text) => {
    if (allowed.includes(text)) return true;
    const scope = parseScope(text, baseUrl);
    return scope !== undefined && allowedScopes.some((candidate) => covers(candidate, scope));
  });
}
