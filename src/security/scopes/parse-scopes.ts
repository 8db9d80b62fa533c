import { isResourceType } from '../../fhir/definitions';
import { parseSearch } from '../../search/parse';
import type { Condition } from '../../search/query';
import { PERMISSION_ORDER, type Permission, type Scope, type ScopeContext } from './scope';

/** `patient/Observation.rs?category=laboratory`, `user/*.cruds`, and v1 `patient/Observation.read`. */
const CLINICAL_SCOPE = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]+)\.([a-z*]+)(?:\?(.+))?$/;

/** SMART v1 permission words and what they mean in v2 letters. */
const V1_PERMISSIONS: Record<string, Permission[]> = {
  read: ['r', 's'],
  write: ['c', 'u', 'd'],
  '*': ['c', 'r', 'u', 'd', 's'],
};

/** v2 letters must appear in the order c r u d s, each at most once. */
const V2_LETTERS = /^c?r?u?d?s?$/;

/**
 * Search parameters that shape a result instead of filtering it: they have no
 * meaning in a scope and could only confuse what it grants.
 */
const CONTROL_PARAMS = new Set(['_sort', '_count', '_offset', '_include', '_revinclude', '_summary', '_elements', '_total', '_type', '_format', '_pretty', '_contained', '_containedType']);

function permissionsOf(word: string): Permission[] | undefined {
  if (word in V1_PERMISSIONS) return V1_PERMISSIONS[word];
  if (word === '' || !V2_LETTERS.test(word)) return undefined;
  return PERMISSION_ORDER.filter((letter) => word.includes(letter));
}

/** A granular scope's query as conditions; undefined when any part of it is not a plain filter. */
function granularConditions(resourceType: string, query: string, baseUrl: string): Condition[] | undefined {
  const pairs = [...new URLSearchParams(query).entries()];
  if (pairs.length === 0 || pairs.some(([key]) => CONTROL_PARAMS.has(key.split(':')[0]!))) return undefined;
  try {
    // Strict: an unknown parameter must not be dropped, which would widen the grant.
    return parseSearch([resourceType], pairs, { strict: true, baseUrl }).query.where;
  } catch {
    return undefined;
  }
}

/** One scope, or undefined when it is not a clinical scope this server understands. */
export function parseScope(text: string, baseUrl: string): Scope | undefined {
  const match = CLINICAL_SCOPE.exec(text);
  if (!match) return undefined;
  const [, context, resourceType, word, query] = match;
  if (context === undefined || resourceType === undefined || word === undefined) return undefined;
  if (resourceType !== '*' && !isResourceType(resourceType)) return undefined;
  const permissions = permissionsOf(word);
  if (!permissions) return undefined;
  const scope: Scope = { text, context: context as ScopeContext, resourceType, permissions: new Set(permissions) };
  if (query === undefined) return scope;
  // A query on `*` would have to mean the same parameter on every type: not supported, so not granted.
  if (resourceType === '*') return undefined;
  const where = granularConditions(resourceType, query, baseUrl);
  return where ? { ...scope, where } : undefined;
}

/**
 * The clinical scopes of a space-separated `scope` claim. Anything else
 * (`openid`, `fhirUser`, `launch/patient`, `offline_access`, a malformed or
 * unsupported scope) grants nothing and is skipped, as SMART asks servers to
 * do with scopes they do not recognize: skipping can only narrow access.
 */
export function parseScopes(scopeClaim: string, baseUrl: string): Scope[] {
  const scopes: Scope[] = [];
  for (const text of scopeClaim.split(/\s+/)) {
    const scope = text === '' ? undefined : parseScope(text, baseUrl);
    if (scope) scopes.push(scope);
  }
  return scopes;
}
