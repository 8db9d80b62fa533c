import type { AccessFilter } from '../../context';
import type { CursorPosition, SearchQuery } from '../../search/query';
import { ConditionCompiler } from './condition-sql';
import { SortOrder } from './sort-sql';
import { raw, sql, type Sql } from './sql-fragment';

/** Columns every reader of `resources` selects, in VersionRow's shape. */
export const resourceColumns = 'r.type, r.id, r.version_id, r.last_updated, r.deleted, r.json, r.patients';

/** Which page of the order: rows after or before a keyset position, or at an offset. */
export type PageRequest = { after: CursorPosition } | { before: CursorPosition } | { offset: number };

/**
 * One search compiled to SQL over `resources` (alias `r`) and the index
 * tables: the WHERE clause (conditions and access filter) shared by the page,
 * the capped count and the paging probes.
 */
export class CompiledSearch {
  readonly order: SortOrder;
  /** The driving set, when a condition drives (see condition-sql.ts). */
  readonly driver?: Sql;
  /** The driving set is exactly the matches: counted without reading `resources`. */
  private readonly driverIsAll: boolean;
  private readonly from: Sql;
  private readonly where: Sql;

  /** `drive: false` walks `resources` in the order of its (type, ...) indexes instead, testing every condition per row. */
  constructor(query: SearchQuery, access: AccessFilter | undefined, drive = true) {
    const { from, where, driver, driverIsAll } = new ConditionCompiler(access).from('r', query.types, query.where, drive);
    [this.from, this.where, this.driverIsAll] = [from, where, driverIsAll === true];
    if (driver) this.driver = driver;
    this.order = new SortOrder('r', query.sort, query.types);
  }

  /** `limit` rows of the page, with `pk` and the sort values; a `before` page comes in reverse order. */
  page(request: PageRequest, limit: number): Sql {
    const keys = this.order.keys.length > 0 ? sql`, ${this.order.selectList()}` : raw('');
    const select = sql`SELECT r.pk, ${raw(resourceColumns)}${keys} FROM ${this.from} WHERE ${this.where}`;
    if ('after' in request) return sql`${select} AND ${this.order.beyond(request.after)} ORDER BY ${this.order.orderBy()} LIMIT ${limit}`;
    if ('before' in request) {
      return sql`${select} AND ${this.order.beyond(request.before, true)} ORDER BY ${this.order.orderBy(true)} LIMIT ${limit}`;
    }
    return sql`${select} ORDER BY ${this.order.orderBy()} LIMIT ${limit} OFFSET ${request.offset}`;
  }

  /** Whether a match exists that is not after `position` (`backwards`: not before it); the row at the position counts. */
  existsUpTo(position: CursorPosition, backwards: boolean): Sql {
    return sql`SELECT EXISTS (SELECT 1 FROM ${this.from} WHERE ${this.where} AND NOT ${this.order.beyond(position, backwards)}) AS found`;
  }

  /** How many rows the driving set yields, counting at most `limit`. */
  driverSize(limit: number): Sql | undefined {
    return this.driver && sql`SELECT count(*) AS total FROM (SELECT 1 FROM (${this.driver}) LIMIT ${limit})`;
  }

  /**
   * The number of matches: every one without `cap`, else at most `cap + 1`
   * (one more tells "more than the cap" from "exactly the cap"), so that an
   * estimate never counts a whole table. When the driving set is exactly the
   * matches, only its index rows are read. Otherwise every condition,
   * the access filter's included, is tested on each row as for a page, so
   * a hidden resource is never counted.
   */
  count(cap?: number): Sql {
    if (this.driver && this.driverIsAll) {
      if (cap === undefined) return sql`SELECT count(DISTINCT pk) AS total FROM (${this.driver})`;
      return sql`SELECT count(*) AS total FROM (SELECT DISTINCT * FROM (${this.driver}) LIMIT ${cap + 1})`;
    }
    if (cap === undefined) return sql`SELECT count(*) AS total FROM ${this.from} WHERE ${this.where}`;
    return sql`SELECT count(*) AS total FROM (SELECT 1 FROM ${this.from} WHERE ${this.where} LIMIT ${cap + 1})`;
  }
}
