import type { Database, Statement } from 'better-sqlite3';

/**
 * The integer ids of search parameters, per (resource type, code): every
 * index row stores its parameter as such an id (`search_params`, schema.ts),
 * a byte or two instead of two strings in each row and index key. Folding the
 * type in keeps one column in the value indexes' keys where there were two.
 *
 * An id is created on first use, inside the write's transaction, which holds
 * the database's write lock: the look-up-then-insert cannot race another
 * process. The ids read or created inside a transaction are used but not yet
 * trusted, since a rollback takes the insert back (and the next insert may
 * give the same id to another parameter): each use looks the pair up again,
 * which inside the transaction sees its own rows, until `settle`, called
 * between transactions, checks them against the committed table and keeps
 * only the committed ones. Ids are never deleted or changed (until a schema
 * rebuild, before any cache exists), so a trusted id stays right.
 *
 * Searches do not use this cache: they name the id by a sub-select on
 * `search_params` (condition-sql.ts), which sees exactly the snapshot the
 * search reads.
 */
export class ParamIds {
  private readonly trusted = new Map<string, number>();
  private readonly untrusted = new Map<string, number>();
  private readonly select: Statement;
  private readonly insert: Statement;
  private readonly selectAll: Statement;

  constructor(private readonly db: Database) {
    this.select = db.prepare('SELECT id FROM search_params WHERE type = ? AND code = ?').pluck();
    this.insert = db.prepare('INSERT INTO search_params (type, code) VALUES (?, ?)');
    this.selectAll = db.prepare('SELECT id, type, code FROM search_params');
    this.reload();
  }

  /** The id of (type, code), created when the database has none; inside the write's transaction. */
  idFor(type: string, code: string): number {
    const key = `${type}\u0000${code}`;
    const trusted = this.trusted.get(key);
    if (trusted !== undefined) return trusted;
    if (!this.db.inTransaction) {
      // Outside a transaction the table is the committed one: reload and trust what it holds.
      this.reload();
      const found = this.trusted.get(key);
      if (found !== undefined) return found;
    }
    const found = this.select.get(type, code) as number | undefined;
    const id = found ?? Number(this.insert.run(type, code).lastInsertRowid);
    this.untrusted.set(key, id);
    return id;
  }

  /** Between transactions: trusts the ids that were committed, forgets those rolled back. */
  settle(): void {
    if (this.untrusted.size === 0 || this.db.inTransaction) return;
    this.untrusted.clear();
    this.reload();
  }

  private reload(): void {
    for (const row of this.selectAll.all() as Array<{ id: number; type: string; code: string }>) this.trusted.set(`${row.type}\u0000${row.code}`, row.id);
  }
}
