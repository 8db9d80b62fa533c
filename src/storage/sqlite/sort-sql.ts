/**
 * The total order of a search and keyset positions in it. Ascending uses
 * each resource's smallest value, descending its largest (`high` for
 * ranges); resources without a value sort last either way; then type (when
 * several types are searched) and id, so the order is total and a keyset
 * cursor never repeats or skips a row.
 */
import { FhirError } from '../../errors';
import type { CursorPosition, SortKey } from '../../search/query';
import { paramIs, perResource } from './condition-sql';
import { tableOfParamType } from './index-tables';
import { and, join, or, raw, sql, type Sql, type SqlValue } from './sql-fragment';

export interface SortTerm {
  value: Sql;
  descending: boolean;
  /** Column values are never NULL, which keeps their comparisons index-friendly. */
  nullable: boolean;
}

const notSupported = (message: string) => FhirError.of(400, 'not-supported', message);

/** The sorted value of each kind: [ascending (smallest), descending (largest)]. */
const sortColumns: Record<string, [string, string]> = {
  date: ['min(low)', 'max(high)'],
  number: ['min(low)', 'max(high)'],
  quantity: ['min(low)', 'max(high)'],
  string: ['min(norm)', 'max(norm)'],
  token: ['min(code)', 'max(code)'],
  reference: ['min(ref)', 'max(ref)'],
  uri: ['min(value)', 'max(value)'],
};

export class SortOrder {
  /** One per key of the query's sort: the values a CursorPosition holds. */
  readonly keys: SortTerm[];
  /** The keys plus the tie-breakers that make the order total. */
  readonly terms: SortTerm[];

  constructor(
    private readonly row: string,
    sort: readonly SortKey[],
    /** The types searched: whose parameter ids the sort values are read under. */
    private readonly types: readonly string[],
    /** A table of its own (the access log) sorts some keys by its columns instead of the index tables. */
    private readonly columnTerm?: (code: string, descending: boolean) => SortTerm | undefined,
  ) {
    this.keys = sort.map((key) => this.term(key));
    this.terms = [...this.keys];
    if (types.length > 1) this.terms.push({ value: raw(`${row}.type`), descending: false, nullable: false });
    if (!sort.some((key) => key.code === '_id')) this.terms.push({ value: raw(`${row}.id`), descending: false, nullable: false });
  }

  /** ORDER BY, forwards or backwards (a `before` page is read backwards, then reversed). */
  orderBy(backwards = false): Sql {
    return join(
      this.terms.map((term) => sql`${term.value} ${raw(term.descending !== backwards ? 'DESC' : 'ASC')} ${raw(backwards ? 'NULLS FIRST' : 'NULLS LAST')}`),
      ', ',
    );
  }

  /** Rows strictly after `position` in this order (`backwards`: strictly before it). */
  beyond(position: CursorPosition, backwards = false): Sql {
    const values = this.positionValues(position);
    const terms = this.terms.map((term) => ({ ...term, descending: term.descending !== backwards }));
    if (terms.every((t) => !t.nullable && t.descending === terms[0]!.descending)) {
      // A row value comparison is one index range for SQLite.
      const op = raw(terms[0]!.descending ? '<' : '>');
      return sql`(${join(terms.map((t) => t.value), ', ')}) ${op} (${join(values.map((v) => sql`${v}`), ', ')})`;
    }
    return or(terms.map((term, i) => and([...terms.slice(0, i).map((t, j) => sql`${t.value} IS ${values[j]!}`), later(term, values[i]!, backwards)])));
  }

  /** The cursor values of a row, from the columns selected as `sort0`, `sort1`... */
  position(row: Record<string, unknown>, resourceType: string, id: string): CursorPosition {
    return { values: this.keys.map((_, i) => row[`sort${i}`] as string | number | null), resourceType, id };
  }

  /** `expr AS sort0, ...` for the select list. */
  selectList(): Sql {
    return join(this.keys.map((key, i) => sql`${key.value} AS ${raw(`sort${i}`)}`), ', ');
  }

  private positionValues(position: CursorPosition): SqlValue[] {
    if (position.values.length !== this.keys.length) throw FhirError.of(400, 'invalid', 'The paging cursor does not belong to this search');
    const values: SqlValue[] = [...position.values];
    if (this.terms.length > this.keys.length + 1) values.push(position.resourceType);
    if (this.terms.length > this.keys.length) values.push(position.id);
    return values;
  }

  private term(key: SortKey): SortTerm {
    if (key.code === '_id') return { value: raw(`${this.row}.id`), descending: key.descending, nullable: false };
    if (key.code === '_lastUpdated') return { value: raw(`${this.row}.last_updated`), descending: key.descending, nullable: false };
    const column = this.columnTerm?.(key.code, key.descending);
    if (column) return column;
    const table = key.type && tableOfParamType(key.type);
    const columns = key.type && sortColumns[key.type];
    if (!table || !columns) throw notSupported(`Sorting by '${key.code}' is not supported`);
    const aggregate = raw(columns[key.descending ? 1 : 0]);
    return {
      value: sql`(SELECT ${aggregate} FROM ${perResource(table, 'v')} WHERE v.resource = ${raw(`${this.row}.pk`)} AND ${paramIs('v.param', this.types, key.code)})`,
      descending: key.descending,
      nullable: true,
    };
  }
}

/**
 * `term` places the row after `value`, missing values last. Forwards:
 * after a value comes anything beyond it and every missing value; backwards
 * (the reading direction is reversed, missing values come first) only
 * present values before it, and after a missing value every present one.
 */
function later(term: SortTerm, value: SqlValue, backwards: boolean): Sql {
  const op = raw(term.descending ? '<' : '>');
  if (!term.nullable) return sql`${term.value} ${op} ${value}`;
  if (!backwards) return value === null ? raw('0') : sql`(${term.value} IS NULL OR ${term.value} ${op} ${value})`;
  return value === null ? sql`${term.value} IS NOT NULL` : sql`(${term.value} IS NOT NULL AND ${term.value} ${op} ${value})`;
}
