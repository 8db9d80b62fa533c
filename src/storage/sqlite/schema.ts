import type { Database } from 'better-sqlite3';

/**
 * Durability: WAL with `synchronous = NORMAL`. A commit is appended to the WAL
 * with write() before better-sqlite3 returns, so it lives in the OS page cache
 * and survives the death of the process (kill -9, crash): nothing acknowledged
 * is lost. Only a power cut or an OS crash can lose the last commits, because
 * NORMAL skips the fsync per commit; `synchronous = FULL` closes that gap at a
 * large cost in write throughput, hence the `fsyncEveryCommit` option.
 */
export function applyPragmas(db: Database, options: { fsyncEveryCommit: boolean; readOnly: boolean }): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.fsyncEveryCommit ? 'FULL' : 'NORMAL'}`);
  // Another process (a backup, the CLI) may hold the lock for a moment: wait rather than fail.
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  // A read connection must never write, even by mistake.
  if (options.readOnly) db.pragma('query_only = ON');
}

/**
 * One table per search-index kind, keyed by the resource's surrogate `pk` and
 * rewritten in the write's transaction. Adding a kind (string, reference, date
 * range, number, quantity, uri) means adding its table here and its entry in
 * index-tables.ts.
 */
const indexTablesDdl = `
CREATE TABLE IF NOT EXISTS idx_token (
  resource INTEGER NOT NULL REFERENCES resources(pk),
  param    TEXT NOT NULL,
  system   TEXT,            -- NULL: the value has no system
  code     TEXT
);
-- Drives searches: param and code are the selective columns, the pk is covered.
CREATE INDEX IF NOT EXISTS idx_token_by_value ON idx_token(param, code, system, resource);
-- Drives the rewrite of a resource's entries.
CREATE INDEX IF NOT EXISTS idx_token_by_resource ON idx_token(resource);
`;

const schemaDdl = `
-- The current version of each resource; a deleted resource keeps its row (a tombstone, json NULL)
-- so that its id stays taken and its numbering continues.
CREATE TABLE IF NOT EXISTS resources (
  pk           INTEGER PRIMARY KEY,   -- surrogate key the index tables point to
  type         TEXT NOT NULL,
  id           TEXT NOT NULL,
  version_id   INTEGER NOT NULL,
  last_updated TEXT NOT NULL,         -- ISO instant with ms, UTC: sorts as text
  deleted      INTEGER NOT NULL DEFAULT 0,
  json         TEXT,
  UNIQUE (type, id)
);
CREATE INDEX IF NOT EXISTS resources_by_last_updated ON resources(type, last_updated);

-- Every version ever written, tombstones included. seq orders versions written in the same millisecond.
CREATE TABLE IF NOT EXISTS history (
  seq          INTEGER PRIMARY KEY,
  type         TEXT NOT NULL,
  id           TEXT NOT NULL,
  version_id   INTEGER NOT NULL,
  last_updated TEXT NOT NULL,
  deleted      INTEGER NOT NULL DEFAULT 0,
  json         TEXT,
  UNIQUE (type, id, version_id)
);
CREATE INDEX IF NOT EXISTS history_by_last_updated ON history(last_updated, seq);
CREATE INDEX IF NOT EXISTS history_by_type_last_updated ON history(type, last_updated, seq);
${indexTablesDdl}
`;

export function createSchema(db: Database): void {
  db.exec(schemaDdl);
}
