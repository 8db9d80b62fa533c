/**
 * The engine-neutral search cases (search-cases.ts) against the SQLite adapter,
 * one test per case, on one database loaded once.
 */
import type { Database as SqliteDatabase } from 'better-sqlite3';
import t, { type Test } from 'tap';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { parsed, searchCases, searchContext, searchIndexer, writeSearchFixtures } from './search-cases';

const storage = createSqliteStorage({ path: ':memory:', indexer: searchIndexer });
t.teardown(() => storage.close());
t.before(() => writeSearchFixtures(storage));

for (const searchCase of searchCases) {
  t.test(searchCase.name, async (t) => {
    const result = await storage.search(searchContext(searchCase), searchCase.query);
    t.same(
      result.records.map((r) => `${r.resourceType}/${r.id}`),
      searchCase.expectedIds,
    );
    t.equal(result.total, searchCase.expectedIds.length, 'total');
  });
}

/** A database with the fixtures, then changed by `downgrade` (an older version's tables) and reopened; returns its path. */
async function upgraded(t: Test, downgrade: (db: SqliteDatabase) => void): Promise<string> {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const Database = (await import('better-sqlite3')).default;
  const dir = mkdtempSync(join(tmpdir(), 'concord-upgrade-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'concord.db');
  const first = createSqliteStorage({ path, indexer: searchIndexer });
  await writeSearchFixtures(first);
  await first.close();
  const db = new Database(path);
  downgrade(db);
  db.close();
  return path;
}

t.test('a database with the index tables of an older version is re-indexed when opened', async (t) => {
  const path = await upgraded(t, (db) => {
    // What version 1 of the schema left behind: a token table without the :text and :of-type columns, no other kinds.
    for (const table of ['idx_token', 'idx_string', 'idx_reference', 'idx_date', 'idx_number', 'idx_quantity', 'idx_uri', 'idx_composite']) db.exec(`DROP TABLE ${table}`);
    db.exec('CREATE TABLE idx_token (resource INTEGER NOT NULL, param TEXT NOT NULL, system TEXT, code TEXT)');
    db.pragma('user_version = 0');
  });
  const reopened = createSqliteStorage({ path, indexer: searchIndexer });
  t.teardown(() => reopened.close());
  const find = async (request: string) => (await reopened.search(searchContext({}), parsed(request))).records.map((r) => r.id);
  t.same(await find('Patient?family=chal'), ['pat-anna', 'pat-peter']);
  t.same(await find(`Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|P100`), ['pat-peter']);
});

t.test('a database of index schema 3 (rows without their resource type) is re-indexed when opened', async (t) => {
  const path = await upgraded(t, (db) => {
    // Version 3 left the tables without `type`: emptied and rebuilt that way, a search there would find nothing.
    db.exec('DROP TABLE idx_string; CREATE TABLE idx_string (resource INTEGER NOT NULL, grp INTEGER, param TEXT NOT NULL, norm TEXT NOT NULL, exact TEXT NOT NULL)');
    db.pragma('user_version = 3');
  });
  const reopened = createSqliteStorage({ path, indexer: searchIndexer });
  const result = await reopened.search(searchContext({}), parsed('Patient?family=chal'));
  t.same(result.records.map((r) => r.id), ['pat-anna', 'pat-peter']);
  t.equal(result.total, 2);
  await reopened.close();
  const Database = (await import('better-sqlite3')).default;
  const check = new Database(path, { readonly: true });
  t.teardown(() => check.close());
  const rows = check.prepare('SELECT count(*) AS n, sum(s.type = r.type) AS typed FROM idx_string s JOIN resources r ON r.pk = s.resource').get() as { n: number; typed: number };
  t.ok(rows.n > 0, 'the string rows are back');
  t.equal(rows.typed, rows.n, "every row carries its resource's type");
  t.equal(check.pragma('user_version', { simple: true }), 5);
});

t.test('a database of index schema 4 (rowid index tables) is rebuilt WITHOUT ROWID and re-indexed when opened', async (t) => {
  const path = await upgraded(t, (db) => {
    // Version 4: rowid tables without `seq`, a separate (resource, param, ...) index.
    db.exec(`DROP TABLE idx_token;
      CREATE TABLE idx_token (resource INTEGER NOT NULL REFERENCES resources(pk), type TEXT NOT NULL, grp INTEGER, param TEXT NOT NULL,
        system TEXT, code TEXT, text TEXT, type_system TEXT, type_code TEXT);
      CREATE INDEX idx_token_by_resource ON idx_token(resource, param, code, system);`);
    db.pragma('user_version = 4');
  });
  const reopened = createSqliteStorage({ path, indexer: searchIndexer });
  const result = await reopened.search(searchContext({}), parsed('Patient?gender=female&_total=accurate'));
  t.ok(result.records.length > 0, 'the token rows are back');
  t.equal(result.total, result.records.length);
  await reopened.close();
  const Database = (await import('better-sqlite3')).default;
  const check = new Database(path, { readonly: true });
  t.teardown(() => check.close());
  const ddl = (check.prepare("SELECT sql FROM sqlite_master WHERE name = 'idx_token'").get() as { sql: string }).sql;
  t.match(ddl, /PRIMARY KEY \(resource, param, seq\)\s*\) WITHOUT ROWID/);
  t.same(check.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'idx_token_by_resource'").get(), { n: 0 }, 'the separate per-resource index is gone');
  t.equal(check.pragma('user_version', { simple: true }), 5);
});
