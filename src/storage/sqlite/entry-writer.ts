import type { Database, Statement } from 'better-sqlite3';
import type { IndexEntry } from '../../search/index-entry';
import { allIndexTables, compositeValues, indexTableSql, valueColumns, type IndexTableSql } from './index-tables';
import { ParamIds } from './param-ids';

/**
 * Rows per INSERT statement, largest first: a resource's rows of one table go
 * in as few statements as these sizes allow (13 rows of a kind: 8 + 4 + 1).
 * Each `run` crosses from JavaScript into SQLite and binds its values; one
 * call per row was the largest single cost of a write (scripts/bench/index-rows.ts).
 */
const chunkSizes = [32, 8, 4, 2, 1] as const;

type StoredKind = IndexTableSql['kind'];

/**
 * Writes and deletes the index entries of one resource (by its `pk`) with
 * statements prepared once per connection. Used by every write and by
 * re-indexing, so both store entries exactly the same way.
 */
export class EntryWriter {
  private readonly tables: Map<StoredKind, IndexTableSql>;
  /** `kind/rows` → the prepared multi-row INSERT. */
  private readonly inserts = new Map<string, Statement>();
  private readonly deletes: Statement[];
  readonly params: ParamIds;

  constructor(private readonly db: Database) {
    this.tables = new Map(indexTableSql.map((table) => [table.kind, table]));
    this.deletes = allIndexTables.map((table) => db.prepare(`DELETE FROM ${table} WHERE resource = ?`));
    this.params = new ParamIds(db);
  }

  /** `type`: the resource's, part of each row's parameter id (param-ids.ts). */
  insert(pk: number, type: string, entries: readonly IndexEntry[]): void {
    // `seq` numbers the rows of one resource: the tie-breaker of the tables' (resource, param, seq) key.
    let seq = 0;
    // Per kind, the values of its rows one after the other (one array: fewer allocations than one per row).
    const rows = new Map<StoredKind, { values: unknown[]; count: number }>();
    for (const entry of entries) {
      const columns = entry.kind === 'composite' ? compositeValues(entry) : valueColumns(entry);
      // A composite with more components than the table has slots is not stored (none in R4, see index-tables.ts).
      if (!columns) continue;
      let list = rows.get(entry.kind);
      if (!list) rows.set(entry.kind, (list = { values: [], count: 0 }));
      list.values.push(pk, seq++, this.params.idFor(type, entry.param), ...columns);
      list.count++;
    }
    for (const [kind, list] of rows) this.insertRows(kind, list);
  }

  deleteAll(pk: number): void {
    for (const statement of this.deletes) statement.run(pk);
  }

  private insertRows(kind: StoredKind, rows: { values: unknown[]; count: number }): void {
    const width = rows.values.length / rows.count;
    let at = 0;
    for (const size of chunkSizes) {
      while (rows.count - at >= size) {
        const statement = this.statement(kind, size);
        if (size === rows.count) statement.run(rows.values);
        else statement.run(rows.values.slice(at * width, (at + size) * width));
        at += size;
      }
    }
  }

  private statement(kind: StoredKind, rows: number): Statement {
    const key = `${kind}/${rows}`;
    let statement = this.inserts.get(key);
    if (!statement) {
      statement = this.db.prepare(this.tables.get(kind)!.insertRows(rows));
      this.inserts.set(key, statement);
    }
    return statement;
  }
}
