/**
 * The match of one search value against one index row (alias `e`), per the
 * semantics in src/search/query.ts. Conditions, drivers and composites are
 * condition-sql.ts's business; this module only compares values.
 */
import { badRequest } from '../../errors';
import { tokensBySystem, type Prefix, type QuantityValue, type ReferenceValue, type SearchValue, type StringValue, type TokenValue, type UriValue } from '../../search/query';
import type { SetHolder } from './value-sets';
import { and, inList, list, or, raw, sql, type Sql, type SqlValue } from './sql-fragment';

/**
 * A column of the row `e`: a table alias (`x` → `x.low`), or a slot of a
 * composite row (`x.c1_` → `x.c1_low`, index-tables.ts), whose columns
 * carry the names of the component's own table.
 */
export function column(e: string, name: string): Sql {
  return raw(e.endsWith('_') ? `${e}${name}` : `${e}.${name}`);
}

/**
 * The resource range [rl, rh] against the search range [sl, sh]. The bounds
 * that are implied anyway (for example rh >= sl for `ge`) are written out so
 * that a (param, low) or (param, high) index can range-scan.
 */
export function rangeMatch(prefix: Prefix, rl: Sql, rh: Sql, sl: SqlValue, sh: SqlValue): Sql {
  const contained = sql`(${rl} >= ${sl} AND ${rh} <= ${sh})`;
  switch (prefix) {
    case 'eq':
      return sql`(${rl} >= ${sl} AND ${rl} <= ${sh} AND ${rh} <= ${sh})`;
    case 'ne':
      return sql`NOT ${contained}`;
    case 'gt':
      return sql`${rh} > ${sh}`;
    case 'lt':
      return sql`${rl} < ${sl}`;
    case 'ge':
      return sql`(${rh} >= ${sl} AND (${rh} > ${sh} OR ${contained}))`;
    case 'le':
      return sql`(${rl} <= ${sh} AND (${rl} < ${sl} OR ${contained}))`;
    case 'sa':
      return sql`${rl} > ${sh}`;
    case 'eb':
      return sql`${rh} < ${sl}`;
    case 'ap':
      return sql`(${rl} <= ${sh} AND ${rh} >= ${sl})`;
  }
}

/** A token against two columns of the row: (system, code) of a token entry, or a reference's logical identifier. */
export function tokenMatch(e: string, value: TokenValue, systemColumn = 'system', codeColumn = 'code'): Sql {
  const parts: Sql[] = [];
  if (value.system === null) parts.push(sql`${column(e, systemColumn)} IS NULL`);
  else if (value.system !== undefined) parts.push(sql`${column(e, systemColumn)} = ${value.system}`);
  if (value.code !== undefined) parts.push(sql`${column(e, codeColumn)} = ${value.code}`);
  if (value.code === undefined && (value.system === undefined || value.system === null)) {
    throw badRequest('A token search value needs a system or a code');
  }
  return and(parts);
}

/**
 * Text that starts with `prefix`, as a range so that an index on the column
 * can serve it: every string with that prefix sorts between the prefix and
 * the prefix followed by the largest code point.
 */
export function startsWith(column: Sql, prefix: string): Sql {
  if (prefix === '') return sql`${column} IS NOT NULL`;
  return sql`(${column} >= ${prefix} AND ${column} < ${prefix + '\u{10FFFF}'})`;
}

export function stringMatch(e: string, value: StringValue, modifier: string | undefined): Sql {
  const norm = column(e, 'norm');
  if (modifier === 'exact') return sql`(${norm} = ${value.norm} AND ${column(e, 'exact')} = ${value.value})`;
  if (modifier === 'contains') return sql`instr(${norm}, ${value.norm}) > 0`;
  return startsWith(norm, value.norm);
}

export function uriMatch(e: string, value: UriValue, modifier: string | undefined): Sql {
  const stored = column(e, 'value');
  if (modifier === 'below') return startsWith(stored, value.value);
  // :above: the stored URI is a prefix of the searched one.
  if (modifier === 'above') return sql`${stored} = substr(${value.value}, 1, length(${stored}))`;
  return sql`${stored} = ${value.value}`;
}

export function referenceMatch(e: string, value: ReferenceValue): Sql {
  if (value.ref !== undefined) {
    const ref = sql`${column(e, 'ref')} = ${value.ref}`;
    return value.version === undefined ? ref : sql`(${ref} AND ${column(e, 'version')} = ${value.version})`;
  }
  // Any local target of these types (query.ts): the access layer's "names no Patient".
  if (value.id === undefined && value.targetTypes !== undefined) {
    return sql`(${column(e, 'target_type')} IN ${list(value.targetTypes)} AND ${column(e, 'target_id')} IS NOT NULL)`;
  }
  if (value.id === undefined) throw badRequest('A reference search value needs a reference or an id');
  // A local reference's ref is always `Type/id`: the (ref, ...) index serves a bare id too.
  if (value.targetTypes !== undefined) return sql`${column(e, 'ref')} IN ${list(value.targetTypes.map((type) => `${type}/${value.id}`))}`;
  return sql`${column(e, 'target_id')} = ${value.id}`;
}

export function quantityMatch(e: string, value: QuantityValue): Sql {
  const parts = [rangeMatch(value.prefix, column(e, 'low'), column(e, 'high'), value.low, value.high)];
  if (value.system !== undefined) {
    parts.push(sql`${column(e, 'system')} = ${value.system}`);
    if (value.code !== undefined) parts.push(sql`${column(e, 'code')} = ${value.code}`);
  } else if (value.code !== undefined) {
    parts.push(or([sql`${column(e, 'code')} = ${value.code}`, sql`${column(e, 'unit')} = ${value.code}`]));
  }
  return and(parts);
}

/**
 * The values of a non-composite parameter (ORed) against one row of its
 * table. Tokens with a system and a code are grouped by system into
 * `system = ? AND code IN (...)`: a value set expansion (`:in`) brings
 * thousands of them, and as many ORed terms would exceed SQLite's
 * expression depth limit (1000) and plan worse than an IN list.
 * `probe`: the rows are one resource's entries of the parameter (a
 * per-resource test), so long lists are looked up rather than driven (inList).
 * `sets`: the fragment is compiled once and reused (inList).
 */
export function valuesMatch(e: string, values: readonly SearchValue[], modifier: string | undefined, probe = false, sets?: SetHolder): Sql {
  const [systemColumn, codeColumn] = modifier === 'identifier' ? ['identifier_system', 'identifier_value'] : ['system', 'code'];
  const { codesBySystem, others } = tokensBySystem(values);
  const grouped = [...codesBySystem].map(([system, codes]) =>
    codes.length === 1
      ? tokenMatch(e, { kind: 'token', system, code: codes[0]! }, systemColumn, codeColumn)
      : sql`(${column(e, systemColumn)} = ${system} AND ${inList(column(e, codeColumn), codes, probe, sets)})`,
  );
  // Plain references (an access filter's patients, a comma list) are one IN list rather than as many ORed terms.
  const isPlainRef = (value: SearchValue): value is ReferenceValue & { ref: string } => value.kind === 'reference' && value.ref !== undefined && value.version === undefined;
  const refs = others.filter(isPlainRef);
  if (refs.length < 2) return or([...grouped, ...others.map((value) => valueMatch(e, value, modifier))]);
  const rest = others.filter((value) => !isPlainRef(value));
  return or([...grouped, inList(column(e, 'ref'), refs.map((value) => value.ref), probe, sets), ...rest.map((value) => valueMatch(e, value, modifier))]);
}

/**
 * One value of a non-composite parameter against one row of its table.
 * `onText`: the value is a token `:text` string, compared with the row's text.
 */
export function valueMatch(e: string, value: SearchValue, modifier: string | undefined): Sql {
  switch (value.kind) {
    case 'token':
      return modifier === 'identifier' ? tokenMatch(e, value, 'identifier_system', 'identifier_value') : tokenMatch(e, value);
    case 'of-type':
      return sql`(${column(e, 'type_system')} = ${value.typeSystem} AND ${column(e, 'type_code')} = ${value.typeCode} AND ${column(e, 'code')} = ${value.value})`;
    case 'string':
      return modifier === 'text' ? startsWith(column(e, 'text'), value.norm) : stringMatch(e, value, modifier);
    case 'uri':
      return uriMatch(e, value, modifier);
    case 'date':
    case 'number':
      return rangeMatch(value.prefix, column(e, 'low'), column(e, 'high'), value.low, value.high);
    case 'quantity':
      return quantityMatch(e, value);
    case 'reference':
      return referenceMatch(e, value);
    case 'missing':
    case 'composite':
      throw new Error(`valueMatch: ${value.kind} values are compiled by the condition compiler`);
  }
}
