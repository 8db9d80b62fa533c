import type { CompositeEntry, IndexEntry } from '../../search/index-entry';

type ValueEntry = Exclude<IndexEntry, { kind: 'composite' }>;
export type ValueKind = ValueEntry['kind'];

/**
 * How each kind of index entry is stored: its table and the values of its
 * columns after `resource, seq, param` (the resource's pk, the row's place
 * among its resource's rows, the parameter's id in `search_params`; see
 * schema.ts). A new kind adds one line here and its DDL in schema.ts;
 * writing, rewriting and searching follow from this table.
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
    columns: ['system', 'code', 'text', 'type_system', 'type_code'],
    values: (e) => [e.system, e.code, e.text ?? null, e.typeSystem ?? null, e.typeCode ?? null],
  },
  string: { table: 'idx_string', columns: ['norm', 'exact'], values: (e) => [e.norm, e.exact] },
  reference: {
    table: 'idx_reference',
    columns: ['ref', 'target_type', 'target_id', 'version', 'identifier_system', 'identifier_value'],
    values: (e) => [e.ref, e.targetType, e.targetId, e.version ?? null, e.identifierSystem ?? null, e.identifierValue ?? null],
  },
  date: { table: 'idx_date', columns: ['low', 'high'], values: (e) => [e.low, e.high] },
  number: { table: 'idx_number', columns: ['value', 'low', 'high'], values: (e) => [e.value, e.low, e.high] },
  quantity: {
    table: 'idx_quantity',
    columns: ['value', 'low', 'high', 'system', 'code', 'unit'],
    values: (e) => [e.value, e.low, e.high, e.system, e.code, e.unit],
  },
  uri: { table: 'idx_uri', columns: ['value'], values: (e) => [e.value] },
};

/**
 * Composite entries: ONE row per entry in `idx_composite`, its components
 * side by side in slots `c0_`, `c1_`, `c2_` (R4 composites have two or
 * three components). A slot has the columns a component's own table uses in
 * a search (value-sql.ts), under the same names, so that each component is
 * matched by its own type's rules on `x.c<i>_<column>`; the columns of the
 * other kinds stay NULL. Both parts of a match are in one row, so they belong
 * to one element by construction.
 */
export const compositeTable = 'idx_composite';
export const compositeSlots = 3;
const slotColumnsByKind: { [K in ValueKind]: { columns: readonly string[]; values: (entry: Extract<IndexEntry, { kind: K }>) => unknown[] } } = {
  token: { columns: ['system', 'code'], values: (e) => [e.system, e.code] },
  quantity: { columns: ['low', 'high', 'system', 'code', 'unit'], values: (e) => [e.low, e.high, e.system, e.code, e.unit] },
  date: { columns: ['low', 'high'], values: (e) => [e.low, e.high] },
  number: { columns: ['low', 'high'], values: (e) => [e.low, e.high] },
  string: { columns: ['norm'], values: (e) => [e.norm] },
  uri: { columns: ['value'], values: (e) => [e.value] },
  reference: { columns: ['ref', 'version', 'target_type', 'target_id'], values: (e) => [e.ref, e.version ?? null, e.targetType, e.targetId] },
};
/** The columns of one slot: every column some kind's component uses, in this order. */
export const slotColumns: readonly string[] = [...new Set(Object.values(slotColumnsByKind).flatMap((kind) => kind.columns))];
/** The column of slot `i`, e.g. `c1_low`. */
export function slotColumn(i: number, column: string): string {
  return `c${i}_${column}`;
}
const compositeColumns = Array.from({ length: compositeSlots }, (_, i) => slotColumns.map((column) => slotColumn(i, column))).flat();
/** Per kind: where each of its columns sits within a slot (indexes into slotColumns), computed once. */
const slotOffsetsByKind: Partial<Record<ValueKind, readonly number[]>> = Object.fromEntries(
  Object.entries(slotColumnsByKind).map(([kind, spec]) => [kind, spec.columns.map((column) => slotColumns.indexOf(column))]),
);

/** The values of a composite row's slots (after `resource, seq, param`); undefined when it has more components than slots. */
export function compositeValues(entry: CompositeEntry): unknown[] | undefined {
  if (entry.components.length > compositeSlots) return undefined;
  const values: unknown[] = Array(compositeColumns.length).fill(null);
  for (const [i, component] of entry.components.entries()) {
    // A nested composite does not occur in R4: it has no slot columns.
    if (component.kind === 'composite') return undefined;
    const own = (slotColumnsByKind[component.kind].values as (entry: IndexEntry) => unknown[])(component);
    const offsets = slotOffsetsByKind[component.kind]!;
    for (let j = 0; j < offsets.length; j++) values[i * slotColumns.length + offsets[j]!] = own[j];
  }
  return values;
}

/** The table holding entries of a parameter type. */
export function tableOfParamType(type: string): string | undefined {
  if (type === 'composite') return compositeTable;
  return (indexTables as Record<string, { table: string } | undefined>)[type]?.table;
}

type StoredKind = ValueKind | 'composite';

/** The statements an adapter prepares for one stored kind. */
export interface IndexTableSql {
  kind: StoredKind;
  /** An INSERT of `rows` rows in one statement; each row's values are `resource, seq, param`, then the kind's columns. */
  insertRows: (rows: number) => string;
}

function tableSql(kind: StoredKind, table: string, columns: readonly string[]): IndexTableSql {
  const row = `(?, ?, ?${', ?'.repeat(columns.length)})`;
  return {
    kind,
    insertRows: (rows: number) => `INSERT INTO ${table} (resource, seq, param, ${columns.join(', ')}) VALUES ${Array(rows).fill(row).join(', ')}`,
  };
}

export const indexTableSql: IndexTableSql[] = [
  ...Object.entries(indexTables).map(([kind, spec]) => tableSql(kind as ValueKind, spec.table, spec.columns)),
  tableSql('composite', compositeTable, compositeColumns),
];

/** The values of a value entry's columns. The mapped type pairs each kind with its extractor; TypeScript cannot follow that pairing through the union. */
export function valueColumns(entry: ValueEntry): unknown[] {
  return (indexTables[entry.kind].values as (entry: IndexEntry) => unknown[])(entry);
}

/** Every index table, composites included: what a rewrite of a resource's entries deletes from. */
export const allIndexTables: readonly string[] = [...Object.values(indexTables).map((spec) => spec.table), compositeTable];

/** The DDL of the composite table's slot columns. */
export function compositeColumnsDdl(): string {
  return compositeColumns.map((column) => `  ${column} ${/_(low|high)$/.test(column) ? 'REAL' : 'TEXT'},`).join('\n');
}
