import type { Database } from 'better-sqlite3';
import { DEFAULT_SQLITE_CACHE_MB } from '../../config';
import { allIndexTables, compositeColumnsDdl } from './index-tables';
import { addPatientColumns } from './stored-patients';
import { changeCountsDdl } from './change-counters';

/**
 * Durability: WAL with `synchronous = NORMAL`. A commit is appended to the WAL
 * with write() before better-sqlite3 returns, so it lives in the OS page cache
 * and survives the death of the process (kill -9, crash): nothing acknowledged
 * is lost. Only a power cut or an OS crash can lose the last commits, because
 * NORMAL skips the fsync per commit; `synchronous = FULL` closes that gap at a
 * large cost in write throughput, hence the `fsyncEveryCommit` option.
 */
export function applyPragmas(db: Database, options: { fsyncEveryCommit: boolean; readOnly: boolean; cacheMb?: number }): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.fsyncEveryCommit ? 'FULL' : 'NORMAL'}`);
  // Another process (a backup, the CLI) may hold the lock for a moment: wait rather than fail.
  db.pragma('busy_timeout = 5000');
  // Checkpoint every ~40 MB of WAL rather than SQLite's 4 MB: loading writes index pages all over the
  // B-trees, and a checkpoint (an fsync and a copy of every changed page) after nearly every bundle
  // cost about 14% of the write CPU (scripts/bench/bundles-in-process.ts).
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('foreign_keys = ON');
  // SQLite's default page cache is 2 MB. Every write inserts into a dozen index B-trees at scattered
  // places; once the database outgrows the cache, nearly each insert reads its pages back from the OS.
  // A negative cache_size is in KiB. The cache fills only as pages are used, so a small database stays small.
  db.pragma(`cache_size = ${-1024 * (options.cacheMb ?? DEFAULT_SQLITE_CACHE_MB)}`);
  // A read connection must never write, even by mistake.
  if (options.readOnly) db.pragma('query_only = ON');
}

/**
 * Search index tables: one per kind of index value, keyed by the resource's
 * surrogate `pk` and rewritten in the write's transaction. `param` is the
 * id of the row's (resource type, parameter code) in `search_params`
 * (param-ids.ts): an integer of a byte or two where each row and index key
 * held two strings. The type is part of the id because search parameters of
 * different types share a code (`date` of Encounter, Observation,
 * Appointment...), and only current, not deleted resources have rows (a
 * delete removes them), so the rows of one type that match a condition are
 * its matches without a read of `resources`: that keeps the capped count of
 * a broad condition cheap. A search names the ids by a sub-select on
 * `search_params` (condition-sql.ts).
 *
 * The value tables are WITHOUT ROWID, clustered on (resource, param, seq):
 * the per-resource probe reads the table itself (every column at hand), a
 * write appends its rows in pk order and inserts into the value indexes
 * only, and there is no rowid B-tree plus a separate (resource, ...) index
 * to maintain. `seq` (the row's place among its resource's rows) keeps the
 * key unique, since a resource may carry the same value twice. There is no
 * foreign key to `resources`: rows are written and deleted with their
 * resource in one transaction, and the check cost a lookup per row.
 *
 * A composite entry is ONE row of `idx_composite`, its components side by
 * side in slot columns `c0_*`, `c1_*`, `c2_*` (index-tables.ts).
 *
 * Indexes, by the query shape they serve (README material):
 *
 * | index | serves |
 * | --- | --- |
 * | `idx_token(param, code, system, resource)` | token `code`, `system\|code`, `\|code`, `:of-type`, `:not` (driver) |
 * | `idx_token(param, text)` where text is set | token `:text` prefix (range scan) |
 * | `idx_string(param, norm, resource)` | string prefix (range scan), `:exact` (norm then exact), sort |
 * | `idx_reference(ref, param, resource)` | reference by `Type/id` or URL, bare id over its target types, chain joins (target to source), `_has`, `_revinclude` (also `*`) |
 * | `idx_reference(param, identifier_value)` where set | reference `:identifier` |
 * | `idx_date/number/quantity(param, low, high, resource)` | `eq`, `lt`, `le`, `sa`, `ap` (range scan on low) |
 * | `idx_date/number/quantity(param, high, low, resource)` | `gt`, `ge`, `eb` (range scan on high) |
 * | `idx_uri(param, value, resource)` | uri equality and `:below` (range scan) |
 * | `idx_composite(param, c0_code, c0_system, resource)` | a composite whose first component is a token; one with a reference first scans its parameter |
 * | `idx_*` key `(resource, param, seq)` | the per-resource test of every non-driving condition (covering), sort values, `_include`, `:missing`, rewrites |
 * | `search_params(type, code)` unique | the parameter ids a search names |
 * | `resources(type, id)` unique | read, `_id`, chain targets, default `_id` order and keyset paging |
 * | `resources(type, last_updated)` | `_lastUpdated` conditions and order |
 *
 * The compiler picks ONE condition to drive a search (the index tables
 * above, `r.pk IN (...)`); every other condition is a correlated EXISTS
 * probe through a `(resource, param, ...)` index, so a query costs about its
 * most selective condition's matches.
 */
/** A range kind (date, number, quantity) is searched by either end and probed per resource. */
function rangeIndexes(table: string): string {
  return [
    `CREATE INDEX IF NOT EXISTS ${table}_by_low ON ${table}(param, low, high, resource);`,
    `CREATE INDEX IF NOT EXISTS ${table}_by_high ON ${table}(param, high, low, resource);`,
  ].join('\n');
}

const indexTablesDdl = `
-- The parameter of an index row: (resource type, code) as an integer (param-ids.ts). Never deleted.
CREATE TABLE IF NOT EXISTS search_params (
  id   INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  code TEXT NOT NULL,
  UNIQUE (type, code)
);

CREATE TABLE IF NOT EXISTS idx_token (
  resource    INTEGER NOT NULL,  -- resources.pk
  seq         INTEGER NOT NULL,  -- the entry's place among its resource's entries: the key's tie-breaker
  param       INTEGER NOT NULL,  -- search_params.id
  system      TEXT,            -- NULL: the value has no system
  code        TEXT,            -- NULL: a text-only entry (CodeableConcept.text)
  text        TEXT,            -- normalized display/text, for :text
  type_system TEXT,            -- Identifier.type coding, for :of-type
  type_code   TEXT,
  PRIMARY KEY (resource, param, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_token_by_value ON idx_token(param, code, system, resource);
CREATE INDEX IF NOT EXISTS idx_token_by_text ON idx_token(param, text) WHERE text IS NOT NULL;

CREATE TABLE IF NOT EXISTS idx_string (
  resource INTEGER NOT NULL,
  seq      INTEGER NOT NULL,
  param    INTEGER NOT NULL,
  norm     TEXT NOT NULL,      -- lower-case, accents folded
  exact    TEXT NOT NULL,      -- as written
  PRIMARY KEY (resource, param, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_string_by_value ON idx_string(param, norm, resource);

CREATE TABLE IF NOT EXISTS idx_reference (
  resource          INTEGER NOT NULL,
  seq               INTEGER NOT NULL,
  param             INTEGER NOT NULL,
  ref               TEXT,    -- Type/id when local, else the URL; NULL for an identifier-only reference
  target_type       TEXT,
  target_id         TEXT,    -- set only for local targets
  version           TEXT,
  identifier_system TEXT,
  identifier_value  TEXT,
  PRIMARY KEY (resource, param, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_reference_by_value ON idx_reference(ref, param, resource);
CREATE INDEX IF NOT EXISTS idx_reference_by_identifier ON idx_reference(param, identifier_value) WHERE identifier_value IS NOT NULL;

CREATE TABLE IF NOT EXISTS idx_date (
  resource INTEGER NOT NULL,
  seq      INTEGER NOT NULL,
  param    INTEGER NOT NULL,
  low      INTEGER NOT NULL,   -- epoch ms, inclusive
  high     INTEGER NOT NULL,
  PRIMARY KEY (resource, param, seq)
) WITHOUT ROWID;
${rangeIndexes('idx_date')}

CREATE TABLE IF NOT EXISTS idx_number (
  resource INTEGER NOT NULL,
  seq      INTEGER NOT NULL,
  param    INTEGER NOT NULL,
  value    REAL NOT NULL,
  low      REAL NOT NULL,
  high     REAL NOT NULL,
  PRIMARY KEY (resource, param, seq)
) WITHOUT ROWID;
${rangeIndexes('idx_number')}

CREATE TABLE IF NOT EXISTS idx_quantity (
  resource INTEGER NOT NULL,
  seq      INTEGER NOT NULL,
  param    INTEGER NOT NULL,
  value    REAL,               -- NULL for a Range
  low      REAL NOT NULL,
  high     REAL NOT NULL,
  system   TEXT,
  code     TEXT,
  unit     TEXT,
  PRIMARY KEY (resource, param, seq)
) WITHOUT ROWID;
${rangeIndexes('idx_quantity')}

CREATE TABLE IF NOT EXISTS idx_uri (
  resource INTEGER NOT NULL,
  seq      INTEGER NOT NULL,
  param    INTEGER NOT NULL,
  value    TEXT NOT NULL,
  PRIMARY KEY (resource, param, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_uri_by_value ON idx_uri(param, value, resource);

-- One row per composite entry, its components in slots c0_, c1_, c2_ (index-tables.ts).
CREATE TABLE IF NOT EXISTS idx_composite (
  resource INTEGER NOT NULL,
  seq      INTEGER NOT NULL,
  param    INTEGER NOT NULL,
${compositeColumnsDdl()}
  PRIMARY KEY (resource, param, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_composite_by_token ON idx_composite(param, c0_code, c0_system, resource);
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

/**
 * Bumped when the index tables change shape, or the indexer changes the
 * values it writes (3: code elements carry their binding's implied system;
 * 4: every row carries its resource's type; 5: the value tables are
 * WITHOUT ROWID, clustered on (resource, param, seq); 6: `param` is an
 * integer id of (type, code) in `search_params`, and a composite entry is
 * one row).
 * A database written by an older version gets fresh index tables, and the
 * caller must re-index every current resource (the resources and their
 * history are untouched).
 */
const indexSchemaVersion = 6;

/** Creates what is missing; true when the index tables were rebuilt and must be refilled. */
export function createSchema(db: Database): { reindex: boolean } {
  const version = db.pragma('user_version', { simple: true }) as number;
  const outdated = version < indexSchemaVersion && db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'idx_token'").get() !== undefined;
  // The parameter ids go with the rows that use them.
  if (outdated) for (const table of [...allIndexTables, 'search_params']) db.exec(`DROP TABLE IF EXISTS ${table}`);
  db.exec(schemaDdl);
  db.exec(changeCountsDdl);
  addPatientColumns(db);
  db.pragma(`user_version = ${indexSchemaVersion}`);
  return { reindex: outdated };
}

/**
 * Deferred index maintenance for a bulk load (`npm run load -- --defer-indexes`):
 * in an empty database, drops the secondary indexes (value lookups, orders,
 * history), so that each write inserts into the tables and their keys only;
 * `buildSecondaryIndexes` (or simply opening the database, createSchema)
 * builds them afterwards from the sorted rows, in one pass each. Searches
 * still answer meanwhile, by scanning. Answers false (and drops nothing) when
 * the database holds a resource.
 */
export function deferSecondaryIndexes(db: Database): boolean {
  if (db.prepare('SELECT 1 FROM resources LIMIT 1').get() !== undefined) return false;
  const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").all() as Array<{ name: string }>;
  // Tables' own keys and UNIQUE constraints (sql NULL) stay: no statement names an index (INDEXED BY).
  for (const { name } of indexes) db.exec(`DROP INDEX ${name}`);
  return true;
}

/** Builds the indexes deferSecondaryIndexes dropped (every missing one of the schema); answers how many. */
export function buildSecondaryIndexes(db: Database): number {
  const count = () => (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'index'").get() as { n: number }).n;
  const before = count();
  db.exec(schemaDdl);
  db.pragma('optimize');
  return count() - before;
}
