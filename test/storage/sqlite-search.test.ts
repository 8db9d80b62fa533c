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
  const rows = check
    .prepare('SELECT count(*) AS n, sum(p.type = r.type) AS typed FROM idx_string s JOIN resources r ON r.pk = s.resource JOIN search_params p ON p.id = s.param')
    .get() as { n: number; typed: number };
  t.ok(rows.n > 0, 'the string rows are back');
  t.equal(rows.typed, rows.n, "every row's parameter is of its resource's type");
  t.equal(check.pragma('user_version', { simple: true }), 6);
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
  t.equal(check.pragma('user_version', { simple: true }), 6);
});

t.test('a database of index schema 5 (text parameters, composites in component rows) gets integer parameter ids and one row per composite', async (t) => {
  const path = await upgraded(t, (db) => {
    // Version 5: `type` and a text `param` in every row, composite components linked by `grp`, no search_params.
    db.exec(`DROP TABLE idx_token; DROP TABLE idx_composite; DROP TABLE search_params;
      CREATE TABLE idx_token (resource INTEGER NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, grp INTEGER, param TEXT NOT NULL,
        system TEXT, code TEXT, text TEXT, type_system TEXT, type_code TEXT, PRIMARY KEY (resource, param, seq)) WITHOUT ROWID;
      CREATE INDEX idx_token_by_group ON idx_token(grp, param) WHERE grp IS NOT NULL;
      CREATE TABLE idx_composite (grp INTEGER PRIMARY KEY, resource INTEGER NOT NULL, type TEXT NOT NULL, param TEXT NOT NULL);
      INSERT INTO idx_composite (resource, type, param) VALUES (1, 'Observation', 'code-value-quantity');`);
    db.pragma('user_version = 5');
  });
  const reopened = createSqliteStorage({ path, indexer: searchIndexer });
  const find = async (request: string) => (await reopened.search(searchContext({}), parsed(request))).records.map((r) => r.id);
  t.same(await find('Patient?gender=female'), ['pat-anna', 'pat-zoe'], 'the token rows are back');
  t.same(await find('Observation?component-code-value-quantity=http://loinc.org|8462-4$lt90'), ['obs3'], 'composites are searched in their new rows');
  await reopened.close();
  const Database = (await import('better-sqlite3')).default;
  const check = new Database(path, { readonly: true });
  t.teardown(() => check.close());
  t.same(check.prepare('SELECT DISTINCT typeof(param) AS t FROM idx_token').all(), [{ t: 'integer' }], 'parameters are integer ids');
  const composite = (check.prepare("SELECT sql FROM sqlite_master WHERE name = 'idx_composite'").get() as { sql: string }).sql;
  t.match(composite, /c1_low/, 'the composite table has component slots');
  t.notMatch(composite, /grp/);
  const obs3 = check
    .prepare("SELECT count(*) AS n FROM idx_composite c JOIN resources r ON r.pk = c.resource JOIN search_params p ON p.id = c.param WHERE r.id = 'obs3' AND p.code = 'component-code-value-quantity'")
    .get() as { n: number };
  t.equal(obs3.n, 2, 'one row per composite entry (one per component of obs3 with a quantity)');
  t.equal(check.pragma('user_version', { simple: true }), 6);
});
