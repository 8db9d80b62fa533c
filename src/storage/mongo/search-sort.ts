import type { Document } from 'mongodb';
import { badRequest, FhirError } from '../../errors';
import type { CursorPosition, SortKey } from '../../search/query';
import { isFieldSafe } from './documents';

/**
 * The total order of a search (query.ts, "Sort") as a MongoDB sort, and
 * keyset paging over it. Pure, for the differential test.
 *
 * A parameter sorts by the key precomputed at write time (documents.ts,
 * `sort.<code>`): ascending on its `min`, descending on its `max`, and
 * resources without the key last in both directions, which `sort.<code>.has`
 * (true, or absent) gives: `has: -1` puts true before absent. `_id` and
 * `_lastUpdated` are the document's `id` and `lastUpdated`. Then, over
 * several types, `type`, and `id` when the keys do not have it (the parser
 * always ends them with `_id`): the order is total, so a keyset position
 * names exactly one place in it. The same order as the SQLite adapter's.
 */

/** One step of the order: a field, a direction, and whether a resource may lack it. */
interface OrderTerm {
  field: string;
  direction: 1 | -1;
  /** For a parameter key: the flag field whose absence means "no value" (sorted last). */
  hasField?: string;
  /** This term's value in a keyset position. */
  positionValue: (position: CursorPosition) => string | number | null;
}

/**
 * The parameter types that have a sort key (documents.ts, sortValues): a
 * key of another type, or of no known parameter, is refused as SQLite
 * refuses it, rather than sorting by a field no document has.
 */
const sortableTypes: ReadonlySet<string> = new Set(['date', 'number', 'quantity', 'string', 'token', 'reference', 'uri']);

const columns = new Map([
  ['_id', 'id'],
  ['_lastUpdated', 'lastUpdated'],
]);

function orderTerms(keys: readonly SortKey[], severalTypes: boolean): OrderTerm[] {
  const terms: OrderTerm[] = [];
  const seen = new Set<string>();
  keys.forEach((key, i) => {
    // A repeated key cannot change an order its first occurrence already fixed.
    if (seen.has(key.code)) return;
    seen.add(key.code);
    const direction = key.descending ? -1 : 1;
    const positionValue = (position: CursorPosition) => position.values[i] ?? null;
    const column = columns.get(key.code);
    if (column !== undefined) terms.push({ field: column, direction, positionValue });
    else {
      if (!isFieldSafe(key.code) || key.type === undefined || !sortableTypes.has(key.type)) throw FhirError.of(400, 'not-supported', `Sorting by '${key.code}' is not supported`);
      const base = `sort.${key.code}`;
      terms.push({ field: `${base}.${key.descending ? 'max' : 'min'}`, direction, hasField: `${base}.has`, positionValue });
    }
  });
  // Ties: type (over several types: they may share ids), then id, unless a key already ordered by it.
  if (severalTypes) terms.push({ field: 'type', direction: 1, positionValue: (p) => p.resourceType });
  if (!seen.has('_id')) terms.push({ field: 'id', direction: 1, positionValue: (p) => p.id });
  return terms;
}

/** Key order is priority order. `backwards` is the exact reverse order (for `before` pages, read then reversed). */
export function compileSort(keys: readonly SortKey[], severalTypes: boolean, backwards = false): Record<string, 1 | -1> {
  const sign = backwards ? -1 : 1;
  const sort: Record<string, 1 | -1> = {};
  for (const term of orderTerms(keys, severalTypes)) {
    if (term.hasField !== undefined) sort[term.hasField] = (-1 * sign) as 1 | -1;
    sort[term.field] = (term.direction * sign) as 1 | -1;
  }
  return sort;
}

/**
 * The rows strictly after (`after`) or strictly before (`before`) a
 * position, in the order above: for some term, every earlier term equal and
 * this one past the position's value. A missing value is last: nothing is
 * after it within its term, and every present value is before it.
 */
export function keysetFilter(keys: readonly SortKey[], severalTypes: boolean, position: CursorPosition, side: 'after' | 'before'): Document {
  if (position.values.length !== keys.length) throw badRequest('The paging position does not belong to this search');
  const terms = orderTerms(keys, severalTypes);
  const alternatives: Document[] = [];
  const equalSoFar: Document[] = [];
  for (const term of terms) {
    const value = term.positionValue(position);
    const past = side === 'after' ? strictlyAfter(term, value) : strictlyBefore(term, value);
    if (past !== undefined) alternatives.push(equalSoFar.length === 0 ? past : { $and: [...equalSoFar, past] });
    equalSoFar.push(equalTo(term, value));
  }
  return alternatives.length === 0 ? { id: { $in: [] } } : alternatives.length === 1 ? alternatives[0]! : { $or: alternatives };
}

const absent = (term: OrderTerm): Document => ({ [term.hasField!]: { $exists: false } });

function equalTo(term: OrderTerm, value: string | number | null): Document {
  return value === null && term.hasField !== undefined ? absent(term) : { [term.field]: value };
}

function strictlyAfter(term: OrderTerm, value: string | number | null): Document | undefined {
  if (value === null) return undefined;
  const later = { [term.field]: { [term.direction === 1 ? '$gt' : '$lt']: value } };
  return term.hasField === undefined ? later : { $or: [later, absent(term)] };
}

function strictlyBefore(term: OrderTerm, value: string | number | null): Document | undefined {
  if (value === null) return term.hasField === undefined ? undefined : { [term.hasField]: true };
  return { [term.field]: { [term.direction === 1 ? '$lt' : '$gt']: value } };
}

/** The position of a stored document (it must carry `sort`, `id`, `type`, `lastUpdated`). */
export function positionOf(doc: Document, keys: readonly SortKey[]): CursorPosition {
  const values = keys.map((key) => {
    const column = columns.get(key.code);
    if (column !== undefined) return doc[column] as string;
    const sortKey = (doc.sort as Record<string, { min: string | number; max: string | number }> | undefined)?.[key.code];
    return sortKey === undefined || !Object.hasOwn(doc.sort as object, key.code) ? null : key.descending ? sortKey.max : sortKey.min;
  });
  return { values, resourceType: doc.type as string, id: doc.id as string };
}
