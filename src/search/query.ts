/**
 * The parsed form of a FHIR search: one intermediate representation that every
 * storage adapter compiles to its own query (SQL over the index tables, a MongoDB
 * filter over indexed fields). Parsing and semantics live in `src/search`; the
 * adapters only translate.
 */

export type ParamType = 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri' | 'special';

export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

export type TotalMode = 'none' | 'estimate' | 'accurate';

/** A token as written in a search: `code`, `system|code`, `|code` (no system) or `system|`. */
export interface TokenValue {
  kind: 'token';
  /** undefined: any system; null: the code must have no system. */
  system?: string | null;
  /** undefined: any code in the system. */
  code?: string;
}

export type SearchValue = TokenValue;

/** One search parameter with its values; the values are ORed (comma). */
export interface ParamCondition {
  kind: 'param';
  /** The parameter's code, e.g. `identifier`, `_id`. */
  code: string;
  type: ParamType;
  modifier?: string;
  values: SearchValue[];
}

/** Conditions are ANDed (a repeated parameter is two conditions). */
export type Condition = ParamCondition;

export interface SortKey {
  code: string;
  descending: boolean;
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
  total: TotalMode;
}
