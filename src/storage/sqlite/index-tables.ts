import type { IndexEntry } from '../../search/index-entry';

/**
 * How each kind of index entry is stored: its table and the values of its
 * columns after `resource`. A new kind adds one line here (and its DDL in
 * schema.ts); the rewrite and the delete follow from this table.
 *
 * Partial on purpose: entries of a kind without a table are not stored yet.
 * That is safe because the search compiler refuses any parameter type it
 * cannot query (400), so a missing table never yields a wrong result.
 */
type IndexTables = {
  [K in IndexEntry['kind']]?: {
    table: string;
    columns: readonly string[];
    values: (entry: Extract<IndexEntry, { kind: K }>) => unknown[];
  };
};

export const indexTables: IndexTables = {
  token: { table: 'idx_token', columns: ['param', 'system', 'code'], values: (e) => [e.param, e.system, e.code] },
};

export type IndexKind = IndexEntry['kind'];

/** The statements an adapter prepares for one stored kind. */
export interface IndexTableSql {
  kind: IndexKind;
  insert: string;
  deleteAll: string;
  /** The column values after `resource`, in `insert`'s order. */
  values: (entry: IndexEntry) => unknown[];
}

export const storedIndexTables: IndexTableSql[] = Object.entries(indexTables).map(([kind, spec]) => ({
  kind: kind as IndexKind,
  insert: `INSERT INTO ${spec.table} (resource, ${spec.columns.join(', ')}) VALUES (?${', ?'.repeat(spec.columns.length)})`,
  deleteAll: `DELETE FROM ${spec.table} WHERE resource = ?`,
  // The mapped type pairs each kind with its extractor; TypeScript cannot follow that pairing through the union.
  values: spec.values as (entry: IndexEntry) => unknown[],
}));
