import type { Database, Statement } from 'better-sqlite3';
import type { IndexEntry } from '../../search/index-entry';
import { allIndexTables, compositeTable, componentParam, valueTableSql, type IndexTableSql, type ValueKind } from './index-tables';

/**
 * Rows per INSERT statement, largest first: a resource's rows of one table go
 * in as few statements as these sizes allow (13 rows of a kind: 8 + 4 + 1).
 * Each `run` crosses from JavaScript into SQLite and binds its values; one
 * call per row was the largest single cost of a write (scripts/bench/index-rows.ts).
 */
const chunkSizes = [32, 8, 4, 2, 1] as const;

/**
 * Writes and deletes the index entries of one resource (by its `pk`) with
 * statements prepared once per connection. Used by every write and by
 * re-indexing, so both store entries exactly the same way.
 */
export class EntryWriter {
  private readonly tables: Map<ValueKind, IndexTableSql>;
  /** `kind/rows` → the prepared multi-row INSERT. */
  private readonly inserts = new Map<string, Statement>();
  private readonly insertComposite: Statement;
  private readonly deletes: Statement[];

  constructor(private readonly db: Database) {
    this.tables = new Map(valueTableSql.map((table) => [table.kind, table]));
    this.insertComposite = db.prepare(`INSERT INTO ${compositeTable} (resource, type, param) VALUES (?, ?, ?)`);
    this.deletes = allIndexTables.map((table) => db.prepare(`DELETE FROM ${table} WHERE resource = ?`));
  }

  /** `type`: the resource's, stored with every row so that a search can filter by type from the index alone. */
  insert(pk: number, type: string, entries: readonly IndexEntry[]): void {
    // `seq` numbers the rows of one resource: the tie-breaker of the tables' (resource, param, seq) key.
    let seq = 0;
    // Per kind, the values of its rows one after the other (one array: fewer allocations than one per row).
    const rows = new Map<ValueKind, { values: unknown[]; count: number }>();
    const add = (grp: number | null, entry: Exclude<IndexEntry, { kind: 'composite' }>) => {
      let list = rows.get(entry.kind);
      if (!list) rows.set(entry.kind, (list = { values: [], count: 0 }));
      list.values.push(pk, seq++, type, grp, ...this.tables.get(entry.kind)!.values(entry));
      list.count++;
    };
    for (const entry of entries) {
      if (entry.kind !== 'composite') {
        add(null, entry);
        continue;
      }
      const grp = Number(this.insertComposite.run(pk, type, entry.param).lastInsertRowid);
      entry.components.forEach((component, i) => {
        // A nested composite does not occur in R4; its components would have no table.
        if (component.kind !== 'composite') add(grp, { ...component, param: componentParam(entry.param, i) });
      });
    }
    for (const [kind, list] of rows) this.insertRows(kind, list);
  }

  deleteAll(pk: number): void {
    for (const statement of this.deletes) statement.run(pk);
  }

  private insertRows(kind: ValueKind, rows: { values: unknown[]; count: number }): void {
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

  private statement(kind: ValueKind, rows: number): Statement {
    const key = `${kind}/${rows}`;
    let statement = this.inserts.get(key);
    if (!statement) {
      statement = this.db.prepare(this.tables.get(kind)!.insertRows(rows));
      this.inserts.set(key, statement);
    }
    return statement;
  }
}
