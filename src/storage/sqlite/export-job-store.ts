import Database from 'better-sqlite3';
import type { ExportJobState, ExportJobStore, StoredExportJob } from '../export-jobs';

interface Row {
  id: string;
  owner: string;
  state: ExportJobState;
  document: string;
}

const fromRow = (row: Row): StoredExportJob => ({ id: row.id, owner: row.owner, state: row.state, document: JSON.parse(row.document) as Record<string, unknown> });

/**
 * The export jobs in a table of their own. It opens its own connection to
 * the database file (WAL mode lets it write beside the storage's writer
 * without touching the resource tables); ':memory:' is a database of its own.
 * better-sqlite3 is synchronous, so each call is atomic in this process.
 */
export function createSqliteExportJobStore(path: string): ExportJobStore {
  const db = new Database(path);
  if (path !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS export_jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    state TEXT NOT NULL,
    document TEXT NOT NULL
  )`);
  const insert = db.prepare('INSERT INTO export_jobs (id, owner, state, document) VALUES (@id, @owner, @state, @document)');
  const save = db.prepare('UPDATE export_jobs SET state = @state, document = @document WHERE id = @id');
  const get = db.prepare<[string], Row>('SELECT id, owner, state, document FROM export_jobs WHERE id = ?');
  const all = db.prepare<[], Row>('SELECT id, owner, state, document FROM export_jobs ORDER BY id');
  const inState = db.prepare<[string], Row>('SELECT id, owner, state, document FROM export_jobs WHERE state = ? ORDER BY id');
  const remove = db.prepare('DELETE FROM export_jobs WHERE id = ?');
  const row = (job: StoredExportJob) => ({ id: job.id, owner: job.owner, state: job.state, document: JSON.stringify(job.document) });
  return {
    insert: async (job) => void insert.run(row(job)),
    save: async (job) => void save.run(row(job)),
    get: async (id) => {
      const found = get.get(id);
      return found ? fromRow(found) : undefined;
    },
    list: async (state) => (state ? inState.all(state) : all.all()).map(fromRow),
    remove: async (id) => void remove.run(id),
    close: async () => void db.close(),
  };
}
