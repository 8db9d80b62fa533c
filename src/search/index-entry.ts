/**
 * Normalized search index values, computed once per written resource by the
 * indexer and stored by each adapter next to the resource in the same
 * transaction (SQLite index tables; fields of the MongoDB document).
 *
 * Every entry names the search parameter (`param`, its code) it was computed
 * for; one resource has any number of entries per parameter (one per value
 * found). A parameter with no entry is `:missing=true`.
 *
 * Ranges (`low`/`high`) are closed: both ends are part of the value.
 */
import type { AnyResource } from '../fhir/types';

export type IndexEntry =
  | TokenEntry
  | StringEntry
  | ReferenceEntry
  | DateEntry
  | NumberEntry
  | QuantityEntry
  | UriEntry
  | CompositeEntry;

export type IndexEntryKind = IndexEntry['kind'];

/**
 * A coded value: Coding, CodeableConcept (one entry per coding), Identifier
 * (system/value), ContactPoint (system/value), code, boolean, id, string.
 *
 * A CodeableConcept.text gives one extra entry with `system` and `code` null
 * and only `text`, so that `:text` finds it while no code search does.
 */
export interface TokenEntry {
  param: string;
  kind: 'token';
  system: string | null;
  code: string | null;
  /** For `:text`: Coding.display, CodeableConcept.text or Identifier.type.text, normalized like a string. */
  text?: string;
  /** For `:of-type`: a coding of Identifier.type (one entry per type coding). */
  typeSystem?: string | null;
  typeCode?: string;
}

/** A string, or one part of a HumanName / Address. */
export interface StringEntry {
  param: string;
  kind: 'string';
  /** Lower-case, accents folded, whitespace collapsed: default (starts-with) and `:contains` searches. */
  norm: string;
  /** As written: `:exact`. */
  exact: string;
}

/**
 * A Reference, canonical or uri pointing at a resource.
 *
 * `ref` is the comparison key: `Type/id` for a resource on this server (a
 * relative reference, or an absolute one under the server base; any
 * `/_history/n` dropped), the absolute URL for anything else, the URL without
 * `|version` for a canonical, `#id` for a contained resource. It is null for a
 * Reference that only has an `identifier` (logical reference).
 */
export interface ReferenceEntry {
  param: string;
  kind: 'reference';
  ref: string | null;
  /** Resource type of the target when known (from the URL, `Reference.type`, or the contained resource). */
  targetType: string | null;
  /** Logical id of a local target (null for external, canonical and contained targets). */
  targetId: string | null;
  /** The `|version` of a canonical. */
  version?: string;
  /** Reference.identifier, for `:identifier`. */
  identifierSystem?: string | null;
  identifierValue?: string;
}

/** date, dateTime, instant, Period, Timing: the milliseconds covered (see date-range.ts). */
export interface DateEntry {
  param: string;
  kind: 'date';
  /** Epoch ms of the first instant covered; MIN_INSTANT when open (Period without start). */
  low: number;
  /** Epoch ms of the last instant covered, inclusive; MAX_INSTANT when open (Period without end). */
  high: number;
}

/** integer, decimal: the value and the range of its implied precision (see number-range.ts). */
export interface NumberEntry {
  param: string;
  kind: 'number';
  value: number;
  low: number;
  high: number;
}

/**
 * Quantity (and Age, Duration, Money, SimpleQuantity), or a Range (`low`..`high`
 * from its ends, `value` null). No unit conversion is done (UCUM
 * canonicalization is a known gap): a search in `mg` does not find `g`.
 */
export interface QuantityEntry {
  param: string;
  kind: 'quantity';
  value: number | null;
  low: number;
  high: number;
  system: string | null;
  code: string | null;
  unit: string | null;
}

export interface UriEntry {
  param: string;
  kind: 'uri';
  value: string;
}

/**
 * One combination of the values of a composite parameter's components, e.g.
 * for Observation `code-value-quantity`: one entry per (coding × value) of the
 * same Observation (or of the same component, for `component-code-value-*`),
 * so that both parts must match the same element. `components[i]` belongs to
 * the parameter's i-th component and its `param` is that component's code.
 */
export interface CompositeEntry {
  param: string;
  kind: 'composite';
  components: IndexEntry[];
}

/** Computes the index entries of a resource; injected into the storage adapters. */
export type Indexer = (resource: AnyResource) => IndexEntry[];
