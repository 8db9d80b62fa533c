/**
 * The parsed form of a FHIR search: one intermediate representation that every
 * storage adapter compiles to its own query (SQL over the index tables, a MongoDB
 * filter over indexed fields). Parsing and semantics live in `src/search`; the
 * adapters only translate. The index entries compared against are described
 * in index-entry.ts; both sides are normalized by the same functions.
 *
 * ## Semantics every compiler implements
 *
 * A ParamCondition matches a resource when ANY of its values matches ANY of
 * the resource's entries for `code` (comma = OR); the conditions of
 * `SearchQuery.where` are ANDed (a repeated parameter = two conditions).
 * Exception: `:not` (token) is a negation over the whole resource.
 *
 * - token (TokenValue vs TokenEntry):
 *   `code` only → entry.code = code (any system); `system|code` → both equal;
 *   `|code` (system null) → entry.system IS NULL and code equal; `system|` → entry.system equal.
 *   `:not` → the resource has NO entry matching any of the values (resources
 *   without the element match). `:text` → the value is a StringValue matched
 *   like a string search (starts-with on `norm`) against entry.text.
 *   `:of-type` → OfTypeValue: entry.typeSystem, entry.typeCode and entry.code equal.
 * - string (StringValue vs StringEntry): default → entry.norm starts with value.norm;
 *   `:exact` → entry.exact = value.value; `:contains` → entry.norm contains value.norm.
 * - uri (UriValue vs UriEntry): entry.value = value.value; `:below` → entry.value
 *   starts with value.value; `:above` → value.value starts with entry.value.
 *   (A uri search on a reference-typed parameter does not occur: canonical
 *   references are `reference` parameters and use ReferenceValue.)
 * - reference (ReferenceValue vs ReferenceEntry): when `ref` is set →
 *   entry.ref = ref (and entry.version = version when version is set); else
 *   (a bare id) → entry.targetId = id AND entry.targetType IN targetTypes.
 *   `:identifier` → the values are TokenValues matched like tokens against
 *   (entry.identifierSystem, entry.identifierValue).
 * - date / number / quantity (RangeValue vs DateEntry/NumberEntry/QuantityEntry):
 *   both sides are closed ranges, resource [rl, rh] and search [sl, sh]
 *   (http://hl7.org/fhir/R4/search.html#prefix):
 *     eq: sl <= rl AND rh <= sh          (the search range contains the resource range)
 *     ne: NOT (sl <= rl AND rh <= sh)
 *     gt: rh > sh                        (the range above the value intersects the resource range)
 *     lt: rl < sl
 *     ge: rh > sh OR (sl <= rl AND rh <= sh)
 *     le: rl < sl OR (sl <= rl AND rh <= sh)
 *     sa: rl > sh                        (starts after)
 *     eb: rh < sl                        (ends before)
 *     ap: rl <= sh AND rh >= sl          (overlap; the parser has already widened [sl, sh]
 *                                         by 10% of the value, or for dates 10% of the gap to now)
 *   `ne` is per entry (a resource matches when one of its entries is not equal).
 *   Quantity additionally: when value.system is set → entry.system = system AND
 *   (entry.code = code); when only `code` is set (`5||mg`) → entry.code = code OR
 *   entry.unit = code; no unit → any unit. No unit conversion.
 * - composite (CompositeValue vs CompositeEntry): one entry whose components[i]
 *   matches value.components[i] for every i, each by the rules of its own kind
 *   (prefixes apply to the ordered components).
 * - `:missing` (MissingValue): missing=true → the resource has no entry for the
 *   parameter; missing=false → it has at least one.
 * - ChainCondition: the resource has an entry for `code` whose target (a local
 *   `Type/id`, `targetType` in the chain's types) is a current resource matching
 *   the target's `where` (itself any Condition, so chains nest).
 * - HasCondition (`_has`): some current resource of `resourceType` has an entry
 *   for `referenceParam` pointing at this resource (ref = `Type/id` of this
 *   resource) and matches `where`.
 * - `rowTest` (any condition, a planner hint): changes nothing about what
 *   matches. It asks the compiler to test the condition on each row and never
 *   to drive the query from it (a set of rows to start from). SQLite honours
 *   it: its compiler turns a large `any` into a UNION of driving sets, which on
 *   the access layer's consent trees was 10 to 100 times slower than a test
 *   per row. The MongoDB compiler ignores it (a filter has no driving set).
 *
 * Sort: by the entries of the parameter: ascending uses each resource's
 * smallest value (date/number/quantity: `low`; string: `norm`; token: `code`;
 * reference: `ref`; uri: `value`), descending its largest (`high` for ranges);
 * resources without a value sort last. `_id` and `_lastUpdated` use the columns.
 */

export type {
  ParamType,
  Prefix,
  TotalMode,
  TokenValue,
  OfTypeValue,
  StringValue,
  UriValue,
  RangeValue,
  DateValue,
  NumberValue,
  QuantityValue,
  ReferenceValue,
  MissingValue,
  CompositeValue,
  SearchValue,
  ParamCondition,
  ChainCondition,
  ChainTarget,
  HasCondition,
  AnyCondition,
  NotCondition,
  ConstantCondition,
  PlannerHint,
  Condition,
} from '../fhir/search-ir';
import type { Condition, ParamType, SearchValue, TotalMode } from '../fhir/search-ir';

export interface SortKey {
  code: string;
  descending: boolean;
  /** The parameter's type (the id tie-breaker is `token`). */
  type?: ParamType;
}

/** `_include=Observation:subject:Patient` / `_revinclude=Provenance:target`. */
export interface IncludeSpec {
  /** The type holding the reference parameter. */
  sourceType: string;
  /** The reference parameter's code, or `*` for all of them. */
  param: string;
  /** Only targets of this type. */
  targetType?: string;
  /** `:iterate` (`:recurse` is read as its older name): apply to included resources as well. */
  iterate: boolean;
}

export type SummaryMode = 'true' | 'text' | 'data' | 'count' | 'false';

/**
 * A position in a result's total order (keyset paging): the sort values of
 * one row, in the order of `SearchQuery.sort`, and its type and id (the final
 * tie-breakers). Pages start right after (or end right before) it, so rows
 * inserted, updated or deleted elsewhere never shift, repeat or drop rows.
 */
export interface CursorPosition {
  values: Array<string | number | null>;
  resourceType: string;
  id: string;
}

/**
 * Above this many matches an `estimate` total (what a search without `_total`
 * asks for) stops counting (see SearchResult.totalExceeds). `accurate` and
 * `_summary=count` always count every match.
 */
export const DEFAULT_TOTAL_CAP = 10_000;

/**
 * The cap a query's total is counted up to, or undefined for an exact count.
 * `_total=accurate` is the client asking for the exact number
 * (search.html#total: "accurate"); `estimate` lets the server stop early,
 * and a capped count is exact below the cap and absent above it.
 */
export function totalCapOf(query: Pick<SearchQuery, 'total' | 'totalCap'>): number | undefined {
  return query.total === 'estimate' ? (query.totalCap ?? DEFAULT_TOTAL_CAP) : undefined;
}

export interface SearchQuery {
  /** The types searched: one for a type-level search, several for system search. */
  types: string[];
  where: Condition[];
  /** Always ends with a tie-breaker on id so that the order is total. */
  sort: SortKey[];
  /** Page size; 0 asks for the total only. */
  count: number;
  offset: number;
  /** Keyset paging: the page holds the `count` rows right after this position (`offset` is then 0). */
  after?: CursorPosition;
  /** Keyset paging backwards: the `count` rows right before this position, still returned in the query's order. */
  before?: CursorPosition;
  /** `estimate`: counted up to `totalCap`; `accurate`: every match is counted; `none`: no total. */
  total: TotalMode;
  /** With `total: 'estimate'`, count at most this many matches (`DEFAULT_TOTAL_CAP` when absent). */
  totalCap?: number;
  include?: IncludeSpec[];
  revinclude?: IncludeSpec[];
  /** `_summary`; `count` also sets `count` to 0. */
  summary?: SummaryMode;
  /** `_elements`: top-level element names to keep. */
  elements?: string[];
}

/**
 * The values of one condition split into the tokens that name both a system
 * and a code, grouped by system (codes in order), and the rest. Compilers
 * turn each group into one "system = s AND code IN (...)" test: a value set
 * expansion (`:in`) brings thousands of such tokens.
 */
export function tokensBySystem(values: readonly SearchValue[]): { codesBySystem: Map<string, string[]>; others: SearchValue[] } {
  const codesBySystem = new Map<string, string[]>();
  const others: SearchValue[] = [];
  for (const value of values) {
    if (value.kind === 'token' && typeof value.system === 'string' && value.code !== undefined) {
      const codes = codesBySystem.get(value.system);
      if (codes) codes.push(value.code);
      else codesBySystem.set(value.system, [value.code]);
    } else {
      others.push(value);
    }
  }
  return { codesBySystem, others };
}

/**
 * No chain or `_has` anywhere inside: the condition is about the resource's
 * own entries only, so an adapter's compiled form of it depends on nothing
 * else (no targets to look up, no access filter applied inside) and can be
 * kept with the condition object.
 */
export function isSelfContained(condition: Condition): boolean {
  switch (condition.kind) {
    case 'chain':
    case 'has':
      return false;
    case 'any':
      return condition.of.every((group) => group.every(isSelfContained));
    case 'not':
      return isSelfContained(condition.condition);
    default:
      return true;
  }
}
