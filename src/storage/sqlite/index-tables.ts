import type { IndexEntry } from '../../search/index-entry';

type ValueEntry = Exclude<IndexEntry, { kind: 'composite' }>;
export type ValueKind = ValueEntry['kind'];

/**
 * How each kind of index entry is stored: its table and the values of its
 * columns after `resource, type, grp` (the resource's pk and type, see schema.ts). A new kind adds one line here and its DDL
 * in schema.ts; writing, rewriting and searching follow from this table.
 *
 * Composite entries are not a table of their own values: each one gets a
 * row in `idx_composite` (its `grp`), and its components are stored in the
 * tables of their kinds under the parameter `<code>$<i>` with that `grp`, so
 * that a composite search matches components of ONE entry (joined on grp)
 * and a plain search of the component's own parameter never sees them.
 */
type IndexTables = {
  [K in ValueKind]: {
    table: string;
    columns: readonly string[];
    values: (entry: Extract<IndexEntry, { kind: K }>) => unknown[];
  };
};

export const indexTables: IndexTables = {
  token: {
    table: 'idx_token',
    columns: ['param', 'system', 'code', 'text', 'type_system', 'type_code'],
    values: (e) => [e.param, e.system, e.code, e.text ?? null, e.typeSystem ?? null, e.typeCode ?? null],
  },
  string: { table: 'idx_string', columns: ['param', 'norm', 'exact'], values: (e) => [e.param, e.norm, e.exact] },
  reference: {
    table: 'idx_reference',
    columns: ['param', 'ref', 'target_type', 'target_id', 'version', 'identifier_system', 'identifier_value'],
    values: (e) => [e.param, e.ref, e.targetType, e.targetId, e.version ?? null, e.identifierSystem ?? null, e.identifierValue ?? null],
  },
  date: { table: 'idx_date', columns: ['param', 'low', 'high'], values: (e) => [e.param, e.low, e.high] },
  number: { table: 'idx_number', columns: ['param', 'value', 'low', 'high'], values: (e) => [e.param, e.value, e.low, e.high] },
  quantity: {
    table: 'idx_quantity',
    columns: ['param', 'value', 'low', 'high', 'system', 'code', 'unit'],
    values: (e) => [e.param, e.value, e.low, e.high, e.system, e.code, e.unit],
  },
  uri: { table: 'idx_uri', columns: ['param', 'value'], values: (e) => [e.param, e.value] },
};

export const compositeTable = 'idx_composite';

/** The parameter under which component `i` of composite parameter `code` is stored. */
export function componentParam(code: string, i: number): string {
  return `${code}$${i}`;
}

/** The table holding entries of a parameter type (composite: the group rows). */
export function tableOfParamType(type: string): string | undefined {
  if (type === 'composite') return compositeTable;
  return (indexTables as Record<string, { table: string } | undefined>)[type]?.table;
}

/** The statements an adapter prepares for one stored kind. */
export interface IndexTableSql {
  kind: ValueKind;
  /** An INSERT of `rows` rows in one statement; each row's values are `resource, seq, type, grp`, then `values(entry)`. */
  insertRows: (rows: number) => string;
  values: (entry: IndexEntry) => unknown[];
}

export const valueTableSql: IndexTableSql[] = Object.entries(indexTables).map(([kind, spec]) => {
  const row = `(?, ?, ?, ?${', ?'.repeat(spec.columns.length)})`;
  return {
    kind: kind as ValueKind,
    insertRows: (rows: number) => `INSERT INTO ${spec.table} (resource, seq, type, grp, ${spec.columns.join(', ')}) VALUES ${Array(rows).fill(row).join(', ')}`,
    // The mapped type pairs each kind with its extractor; TypeScript cannot follow that pairing through the union.
    values: spec.values as (entry: IndexEntry) => unknown[],
  };
});

/** Every index table, composite groups included: what a rewrite of a resource's entries deletes from. */
export const allIndexTables: readonly string[] = [...Object.values(indexTables).map((spec) => spec.table), compositeTable];
