import type { Document } from 'mongodb';
import { badRequest, FhirError } from '../../errors';
import type { IndexEntryKind } from '../../search/index-entry';
import type { Condition, ParamCondition, SearchQuery, SearchValue, SortKey } from '../../search/query';

/**
 * The search IR compiled to one MongoDB find over `resources` (see
 * documents.ts for the shape). Pure, so the differential test can evaluate
 * exactly these documents with mingo and compare with SQLite.
 */
export interface CompiledSearch {
  filter: Document;
  /** Key order is priority order; ends with id (then type, over several types), so the order is total. */
  sort: Record<string, 1 | -1>;
  skip: number;
  /** The page size. 0 means "no records, only the total": do not run the find (MongoDB reads limit 0 as "no limit"). */
  limit: number;
}

const notSupported = (msg: string) => FhirError.of(400, 'not-supported', msg);

/**
 * Anything the compiler does not know is refused with 400 rather than
 * ignored, because dropping a condition would return too much.
 */
export function compileSearch(query: SearchQuery): CompiledSearch {
  if (query.types.length === 0) throw badRequest('A search needs at least one resource type');
  const filter: Document = {
    type: query.types.length === 1 ? query.types[0] : { $in: query.types },
    deleted: false,
  };
  // $and, not merged keys: two conditions on the same parameter address the same field.
  if (query.where.length > 0) filter.$and = query.where.map(compileCondition);
  return { filter, sort: compileSort(query.sort, query.types.length > 1), skip: query.offset, limit: query.count };
}

function compileCondition(condition: Condition): Document {
  if (condition.kind !== 'param') throw notSupported(`Search condition kind '${(condition as { kind: string }).kind}' is not supported`);
  if (condition.modifier !== undefined) throw notSupported(`Modifier ':${condition.modifier}' on '${condition.code}' is not supported`);
  if (condition.values.length === 0) throw badRequest(`Search parameter '${condition.code}' has no value`);
  if (condition.code === '_id') return compileId(condition);
  return compileIndexedParam(condition);
}

/** `_id` is the document's own `id` field, not an index entry. */
function compileId(condition: ParamCondition): Document {
  const ids = condition.values.map((value) => {
    const code = expectKind(value, 'token', condition.code).code;
    if (code === undefined) throw badRequest('_id needs an id');
    return code;
  });
  return { id: ids.length === 1 ? ids[0] : { $in: ids } };
}

/** Matches one search value against one index entry (the fields of `idx.<kind>[i]`). */
type EntryMatcher<V extends SearchValue['kind']> = (value: Extract<SearchValue, { kind: V }>) => Document;

/**
 * What this compiler can search: by parameter type (which picks the
 * `idx.<kind>` array, see documents.ts), then by value kind (which picks the
 * fields compared, e.g. token `:text` has a string value). A new pair adds one
 * entry here, and an index in indexes.ts; the ORing and `$elemMatch` follow.
 * The semantics are those documented in src/search/query.ts.
 */
const entryMatchers: { [T in IndexEntryKind]?: { [V in SearchValue['kind']]?: EntryMatcher<V> } } = {
  token: {
    token: (value) => {
      if (value.code === undefined && (value.system === undefined || value.system === null)) {
        throw badRequest('A token search value needs a system or a code');
      }
      // system null means "no system": the adapter stores null explicitly, and {system: null} matches it.
      return {
        ...(value.system !== undefined ? { system: value.system } : {}),
        ...(value.code !== undefined ? { code: value.code } : {}),
      };
    },
  },
};

/**
 * The values are ORed, and each alternative must hold within ONE entry
 * (system and code of the same coding), hence one `$elemMatch` with the
 * parameter and the alternatives inside it.
 */
function compileIndexedParam(condition: ParamCondition): Document {
  const kind = condition.type;
  // hasOwn, not `in` or a lookup: a type such as 'constructor' must not find a prototype member.
  const matchers = Object.hasOwn(entryMatchers, kind) ? entryMatchers[kind as IndexEntryKind] : undefined;
  if (matchers === undefined) throw notSupported(`Search parameter type '${kind}' ('${condition.code}') is not supported`);
  const alternatives = condition.values.map((value) => {
    const matcher = Object.hasOwn(matchers, value.kind) ? (matchers[value.kind] as EntryMatcher<typeof value.kind>) : undefined;
    if (matcher === undefined) throw notSupported(`Value kind '${value.kind}' for '${condition.code}' is not supported`);
    return matcher(value as never);
  });
  const withinEntry = alternatives.length === 1 ? alternatives[0] : { $or: alternatives };
  return { [`idx.${kind}`]: { $elemMatch: { param: condition.code, ...withinEntry } } };
}

function expectKind<K extends SearchValue['kind']>(value: SearchValue, kind: K, code: string): Extract<SearchValue, { kind: K }> {
  if (value.kind !== kind) throw notSupported(`Value kind '${value.kind}' for '${code}' is not supported`);
  return value as Extract<SearchValue, { kind: K }>;
}

// A Map, not an object literal: a sort code such as 'constructor' must not find a prototype member.
const sortFields = new Map([
  ['_id', 'id'],
  ['_lastUpdated', 'lastUpdated'],
]);

/**
 * The IR ends with an id tie-breaker; type follows when several types are
 * searched, because they may share ids (for one type it would change nothing
 * but could keep the planner from taking the order from an index).
 */
function compileSort(keys: SortKey[], severalTypes: boolean): Record<string, 1 | -1> {
  const sort: Record<string, 1 | -1> = {};
  for (const key of keys) {
    const field = sortFields.get(key.code);
    if (field === undefined) throw notSupported(`Sorting by '${key.code}' is not supported`);
    // A repeated key cannot change an order its first occurrence already fixed; re-assigning it would keep its first position anyway.
    if (!(field in sort)) sort[field] = key.descending ? -1 : 1;
  }
  if (!('id' in sort)) sort.id = 1;
  if (severalTypes) sort.type = 1;
  return sort;
}
