import type { Database, Statement } from 'better-sqlite3';
import type { IndexEntry } from '../../search/index-entry';
import { allIndexTables, compositeTable, componentParam, valueTableSql, type ValueKind } from './index-tables';

/**
 * Writes and deletes the index entries of one resource (by its `pk`) with
 * statements prepared once per connection. Used by every write and by
 * re-indexing, so both store entries exactly the same way.
 */
export class EntryWriter {
  private readonly inserts: Map<ValueKind, { statement: Statement; values: (entry: IndexEntry) => unknown[] }>;
  private readonly insertComposite: Statement;
  private readonly deletes: Statement[];

  constructor(db: Database) {
    this.inserts = new Map(valueTableSql.map((table) => [table.kind, { statement: db.prepare(table.insert), values: table.values }]));
    this.insertComposite = db.prepare(`INSERT INTO ${compositeTable} (resource, type, param) VALUES (?, ?, ?)`);
    this.deletes = allIndexTables.map((table) => db.prepare(`DELETE FROM ${table} WHERE resource = ?`));
  }

  /** `type`: the resource's, stored with every row so that a search can filter by type from the index alone. */
  insert(pk: number, type: string, entries: readonly IndexEntry[]): void {
    for (const entry of entries) {
      if (entry.kind !== 'composite') {
        this.insertValue(pk, type, null, entry);
        continue;
      }
      const grp = Number(this.insertComposite.run(pk, type, entry.param).lastInsertRowid);
      entry.components.forEach((component, i) => {
        // A nested composite does not occur in R4; its components would have no table.
        if (component.kind !== 'composite') this.insertValue(pk, type, grp, { ...component, param: componentParam(entry.param, i) });
      });
    }
  }

  deleteAll(pk: number): void {
    for (const statement of this.deletes) statement.run(pk);
  }

  private insertValue(pk: number, type: string, grp: number | null, entry: Exclude<IndexEntry, { kind: 'composite' }>): void {
    const table = this.inserts.get(entry.kind)!;
    table.statement.run(pk, type, grp, ...table.values(entry));
  }
}
