import { createHash } from 'node:crypto';
import type { SearchQuery } from '../../search/query';

/**
 * The name of the lock that serializes "search, then write" units of work
 * over the same criteria (conditional create, update, delete). Two queries
 * that select the same resources must get the same key however their
 * conditions and values were ordered, so both are put in a canonical order;
 * paging, sort and total do not change what is selected and are left out.
 * Hashed so the key's length does not depend on the criteria's.
 */
export function guardKey(query: Pick<SearchQuery, 'types' | 'where'>): string {
  const conditions = query.where.map((condition) =>
    canonicalJson(condition.kind === 'param' ? { ...condition, values: unique(condition.values.map(canonicalJson)) } : condition),
  );
  const criteria = canonicalJson({ types: unique(query.types), where: unique(conditions) });
  return hashed(criteria);
}

/**
 * The lock of a unit of work's guard (UnitOfWorkOptions.guard: the caller
 * already made it canonical). Prefixed so that it can never name the same
 * lock as a search's criteria, and hashed for a bounded length.
 */
export function unitGuardKey(guard: string): string {
  return hashed(`unit:${guard}`);
}

/**
 * The lock of a key a unit touches itself (StorageOps.touchGuards): its own
 * prefix, so that it never names a search's or a unit guard's lock.
 */
export function namedGuardKey(key: string): string {
  return hashed(`named:${key}`);
}

function hashed(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Sorted and deduplicated: order and repetition change neither an OR of values nor an AND of conditions. */
function unique(values: string[]): string[] {
  return [...new Set(values)].sort();
}

/** JSON with object keys sorted; undefined members dropped (as JSON does), null kept: `|code` and `code` differ. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, member: unknown) =>
    member !== null && typeof member === 'object' && !Array.isArray(member)
      ? Object.fromEntries(Object.entries(member).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : member,
  );
}
