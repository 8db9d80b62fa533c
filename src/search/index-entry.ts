/**
 * Normalized search index values, computed once per written resource by the
 * indexer and stored by each adapter next to the resource in the same
 * transaction (SQLite index tables; fields of the MongoDB document).
 */
export type IndexEntry = TokenEntry;

/** A coded value: Coding, CodeableConcept, Identifier, code, boolean, id. */
export interface TokenEntry {
  param: string;
  kind: 'token';
  system: string | null;
  code: string | null;
}

/** Computes the index entries of a resource; injected into the storage adapters. */
export type Indexer = (resource: import('../fhir/types').AnyResource) => IndexEntry[];
