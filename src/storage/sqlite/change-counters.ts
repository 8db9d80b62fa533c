import type { Database, Statement } from 'better-sqlite3';

/**
 * The change stamps (Storage.changeStamp) of a SQLite database, for every
 * process that opens the file (a second server, the CLI).
 *
 * - `change_counts` holds, per resource type, the number of committed
 *   writes; every version written bumps its type's row inside the write's
 *   own transaction (resource-store.ts), so a count and its write commit or
 *   roll back together, whichever process wrote.
 * - Reading the table on every request would cost a query each: the reads
 *   go through `PRAGMA data_version`, which changes on a connection when
 *   another connection (of this process or another) has committed to the
 *   file, and the table is read again only then. The connection read from
 *   is one this process never writes on (the read connection), so its own
 *   commits change it too.
 * - The process also counts its own commits in memory: the only count an
 *   in-memory database has (its one connection never sees a commit by
 *   another), and the count of AuditEvents, which the append thread writes
 *   to the access log's own file.
 */
export class ChangeCounters {
  private readonly counts = new Map<string, number>();
  private readonly shared?: { dataVersion: Statement; all: Statement };
  private seenVersion: unknown;
  private stored = new Map<string, number>();
  /** Moves with every count here or read from the table: a stamp computed at the same generation is the same. */
  private generation = 0;
  /** The last stamp per list of types (the callers pass the same constant lists), with its generation. */
  private readonly last = new WeakMap<readonly string[], { generation: number; stamp: string }>();

  /** `db`: a connection that sees other connections' commits to the file; none for an in-memory database. */
  constructor(db?: Database) {
    if (db) this.shared = { dataVersion: db.prepare('PRAGMA main.data_version').pluck(), all: db.prepare('SELECT type, count FROM change_counts') };
  }

  /** Called once a write to `resourceType` has committed. */
  committed(resourceType: string): void {
    this.counts.set(resourceType, (this.counts.get(resourceType) ?? 0) + 1);
    this.generation++;
  }

  stamp(resourceTypes: readonly string[]): string {
    if (this.shared) {
      const version = this.shared.dataVersion.get();
      if (version !== this.seenVersion) {
        // Version first, then the counts: a commit in between is read now and read again next time, never missed.
        this.seenVersion = version;
        this.stored = new Map((this.shared.all.all() as Array<{ type: string; count: number }>).map((row) => [row.type, row.count]));
        this.generation++;
      }
    }
    const last = this.last.get(resourceTypes);
    if (last?.generation === this.generation) return last.stamp;
    const own = resourceTypes.map((type) => this.counts.get(type) ?? 0).join('.');
    const stamp = this.shared ? `${own}/${resourceTypes.map((type) => this.stored.get(type) ?? 0).join('.')}` : own;
    this.last.set(resourceTypes, { generation: this.generation, stamp });
    return stamp;
  }
}

/** The table of committed writes per type (created with the schema, schema.ts). */
export const changeCountsDdl = `
CREATE TABLE IF NOT EXISTS change_counts (
  type  TEXT PRIMARY KEY,
  count INTEGER NOT NULL
) WITHOUT ROWID;
`;

/** Bumps the count of a type; run inside the write's transaction. */
export const bumpChangeCountSql = 'INSERT INTO change_counts (type, count) VALUES (?, 1) ON CONFLICT (type) DO UPDATE SET count = count + 1';
