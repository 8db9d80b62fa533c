/**
 * Boolean algebra over search IR conditions with constant folding, so that a
 * consent compiled for one actor collapses to `true`/`false` wherever the
 * actor, purpose or clock already decide, and only resource-dependent tests
 * reach the storage.
 */
import type { Condition, ReferenceValue, TokenValue } from '../../search/query';

export const TRUE: Condition = { kind: 'constant', value: true };
export const FALSE: Condition = { kind: 'constant', value: false };

export const constant = (value: boolean): Condition => (value ? TRUE : FALSE);

const isConstant = (c: Condition, value: boolean) => c.kind === 'constant' && c.value === value;

export function and(...conditions: Condition[]): Condition {
  if (conditions.some((c) => isConstant(c, false))) return FALSE;
  const kept = conditions.filter((c) => !isConstant(c, true));
  if (kept.length === 0) return TRUE;
  if (kept.length === 1) return kept[0]!;
  return { kind: 'any', of: [kept] };
}

export function or(...conditions: Condition[]): Condition {
  if (conditions.some((c) => isConstant(c, true))) return TRUE;
  const kept = conditions.filter((c) => !isConstant(c, false));
  if (kept.length === 0) return FALSE;
  if (kept.length === 1) return kept[0]!;
  return { kind: 'any', of: kept.map((c) => [c]) };
}

export function not(condition: Condition): Condition {
  if (condition.kind === 'constant') return constant(!condition.value);
  if (condition.kind === 'not') return condition.condition;
  return { kind: 'not', condition };
}

/** An AND-list as the access filter returns it: `[]` for "everything", `[false]` for "nothing". */
export function toConditionList(condition: Condition): Condition[] {
  if (isConstant(condition, true)) return [];
  if (condition.kind === 'any' && condition.of.length === 1) return condition.of[0]!;
  return [condition];
}

export function tokenParam(code: string, values: TokenValue[]): Condition {
  return values.length === 0 ? FALSE : { kind: 'param', code, type: 'token', values };
}

export function idIn(ids: Iterable<string>): Condition {
  const values: TokenValue[] = [...new Set(ids)].sort().map((code) => ({ kind: 'token', code }));
  return tokenParam('_id', values);
}

/** The resource's `code` parameter points at one of `refs` (`Type/id`). */
export function referenceParam(code: string, refs: Iterable<string>): Condition {
  const values: ReferenceValue[] = [...new Set(refs)].sort().map((ref) => ({ kind: 'reference', ref }));
  return values.length === 0 ? FALSE : { kind: 'param', code, type: 'reference', values };
}
