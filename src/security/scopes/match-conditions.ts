import type { AnyResource } from '../../fhir/types';
import type { IndexEntry, ReferenceEntry, TokenEntry } from '../../search/index-entry';
import type { Condition, ParamCondition, SearchValue } from '../../search/query';

/**
 * Evaluates access conditions against one resource in memory, for writes:
 * the resource being written is not stored yet, so the storage cannot be
 * asked. Covers what the scope layer produces (compartment references, `_id`,
 * token queries of granular scopes and their boolean combinations); any other
 * condition does not match, so an unsupported granular scope refuses a write
 * rather than allowing it.
 */
export function matchesConditions(conditions: readonly Condition[], resource: AnyResource, entries: readonly IndexEntry[]): boolean {
  return conditions.every((condition) => matches(condition, resource, entries));
}

/** Whether the in-memory matcher decides these conditions exactly as the storage would. */
export function coveredInMemory(conditions: readonly Condition[]): boolean {
  return conditions.every((condition) => {
    switch (condition.kind) {
      case 'constant':
        return true;
      case 'any':
        return condition.of.every(coveredInMemory);
      case 'not':
        return coveredInMemory([condition.condition]);
      case 'param':
        if (condition.code === '_id') return condition.modifier === undefined;
        if (condition.type === 'token') return (condition.modifier === undefined || condition.modifier === 'not') && condition.values.every((value) => value.kind === 'token');
        return condition.type === 'reference' && condition.modifier === undefined && condition.values.every((value) => value.kind === 'reference');
      default:
        return false;
    }
  });
}

function matches(condition: Condition, resource: AnyResource, entries: readonly IndexEntry[]): boolean {
  switch (condition.kind) {
    case 'constant':
      return condition.value;
    case 'any':
      return condition.of.some((group) => matchesConditions(group, resource, entries));
    case 'not':
      return !matches(condition.condition, resource, entries);
    case 'param':
      return matchesParam(condition, resource, entries);
    default:
      return false;
  }
}

function matchesParam(condition: ParamCondition, resource: AnyResource, entries: readonly IndexEntry[]): boolean {
  if (condition.code === '_id' && condition.modifier === undefined) {
    return condition.values.some((value) => value.kind === 'token' && value.code === resource.id);
  }
  const own = entries.filter((entry) => entry.param === condition.code);
  if (condition.type === 'token' && (condition.modifier === undefined || condition.modifier === 'not')) {
    const tokens = own.filter((entry): entry is TokenEntry => entry.kind === 'token');
    const found = condition.values.some((value) => tokens.some((entry) => tokenMatches(value, entry)));
    return condition.modifier === 'not' ? !found : found;
  }
  if (condition.type === 'reference' && condition.modifier === undefined) {
    const references = own.filter((entry): entry is ReferenceEntry => entry.kind === 'reference');
    return condition.values.some((value) => references.some((entry) => referenceMatches(value, entry)));
  }
  return false;
}

function tokenMatches(value: SearchValue, entry: TokenEntry): boolean {
  if (value.kind !== 'token') return false;
  if (value.system === null && entry.system !== null) return false;
  if (value.system !== undefined && value.system !== null && value.system !== entry.system) return false;
  if (value.code !== undefined && value.code !== entry.code) return false;
  return value.code !== undefined || value.system !== undefined;
}

function referenceMatches(value: SearchValue, entry: ReferenceEntry): boolean {
  if (value.kind !== 'reference') return false;
  if (value.ref !== undefined) return entry.ref === value.ref && (value.version === undefined || entry.version === value.version);
  return value.id !== undefined && entry.targetId === value.id && (value.targetTypes ?? []).includes(entry.targetType ?? '');
}
