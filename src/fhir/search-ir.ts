/**
 * The conditions of the search's intermediate form (the IR): what a FHIR
 * search asks, as data, with no engine in it. Kept on the bottom floor so
 * that the request context's access filter (context.ts) and the search
 * parameter definitions (definitions.ts) may name them; src/search/query.ts
 * re-exports them with the rest of the IR and states the semantics every
 * storage compiler implements.
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

/** `:of-type`: `type-system|type-code|value` on an Identifier. */
export interface OfTypeValue {
  kind: 'of-type';
  typeSystem: string;
  typeCode: string;
  value: string;
}

/** A string search, also the value of token `:text`. */
export interface StringValue {
  kind: 'string';
  /** As written (unescaped): for `:exact`. */
  value: string;
  /** normalizeString(value): for the default and `:contains` searches. */
  norm: string;
}

export interface UriValue {
  kind: 'uri';
  value: string;
}

/**
 * date, number and quantity values: a prefix and the closed range the search
 * compares against (already adjusted for the prefix: the implied precision
 * of the value, widened for `ap`).
 */
export interface RangeValue {
  prefix: Prefix;
  low: number;
  high: number;
}

export interface DateValue extends RangeValue {
  kind: 'date';
}

export interface NumberValue extends RangeValue {
  kind: 'number';
  /** The number as written. */
  value: number;
}

export interface QuantityValue extends RangeValue {
  kind: 'quantity';
  value: number;
  /** undefined: any system (or none). */
  system?: string;
  /** Unit code; undefined: any unit. Without a system it matches the unit code or the unit text. */
  code?: string;
}

/** See the semantics in src/search/query.ts: either `ref`, or a bare `id` with the allowed target types. */
export interface ReferenceValue {
  kind: 'reference';
  /** Normalized like ReferenceEntry.ref (`Type/id`, absolute URL, canonical URL). */
  ref?: string;
  /** A canonical's `|version`. */
  version?: string;
  /** A bare id (`subject=123`) ... */
  id?: string;
  /** ... pointing at one of these types (the parameter's targets, or the `:Type` modifier). */
  targetTypes?: string[];
}

// Neither `ref` nor `id`, with `targetTypes`: ANY local target of those types
// (entry.targetType IN targetTypes AND entry.targetId set). The parser never
// writes it; the access layer does ("a Schedule naming no Patient", compartment.ts).

export interface MissingValue {
  kind: 'missing';
  missing: boolean;
}

export interface CompositeValue {
  kind: 'composite';
  /** One per component of the parameter, in its order (values separated by `$`). */
  components: SearchValue[];
}

export type SearchValue =
  | TokenValue
  | OfTypeValue
  | StringValue
  | UriValue
  | DateValue
  | NumberValue
  | QuantityValue
  | ReferenceValue
  | MissingValue
  | CompositeValue;

/** One search parameter with its values; the values are ORed (comma). */
export interface ParamCondition {
  kind: 'param';
  /** The parameter's code, e.g. `identifier`, `_id`. */
  code: string;
  type: ParamType;
  /**
   * `missing`, `exact`, `contains`, `text`, `not`, `of-type`, `identifier`,
   * `above`, `below`. The `:Type` of a reference is not kept here: it is in
   * ReferenceValue.targetTypes.
   */
  modifier?: string;
  values: SearchValue[];
}

/** `subject:Patient.name=peter`: a condition on the resources a reference parameter points at. */
export interface ChainCondition {
  kind: 'chain';
  /** The reference parameter followed, e.g. `subject`. */
  code: string;
  /** One per possible target type (ORed); each has the chained condition as that type defines it. */
  targets: ChainTarget[];
}

export interface ChainTarget {
  resourceType: string;
  where: Condition;
}

/** `_has:Observation:patient:code=1234`: some Observation whose `patient` points here matches `where`. */
export interface HasCondition {
  kind: 'has';
  resourceType: string;
  referenceParam: string;
  where: Condition;
}

/**
 * OR of AND-groups: matches when every condition of at least one group
 * matches. The parser never produces it; the access layer (consent,
 * compartments) does, to express "visible if (A and B) or (C)".
 */
export interface AnyCondition {
  kind: 'any';
  of: Condition[][];
}

/** Matches exactly the resources `condition` does not match (access layer: hidden labels). */
export interface NotCondition {
  kind: 'not';
  condition: Condition;
}

/** Matches every resource (true) or none (false): the access layer's "all" and "nothing". */
export interface ConstantCondition {
  kind: 'constant';
  value: boolean;
}

/** A compiler's hint that leaves the matches unchanged (see "Semantics" in src/search/query.ts). */
export interface PlannerHint {
  /** Test on each row; never drive the query from this condition. */
  rowTest?: true;
}

/** Conditions are ANDed (a repeated parameter is two conditions). */
export type Condition = (ParamCondition | ChainCondition | HasCondition | AnyCondition | NotCondition | ConstantCondition) & PlannerHint;
