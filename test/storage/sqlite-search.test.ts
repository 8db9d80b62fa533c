/**
 * The engine-neutral search cases (search-cases.ts) against the SQLite adapter,
 * one test per case, on one database loaded once.
 */
import t from 'tap';
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

t.test('a database with the index tables of an older version is re-indexed when opened', async (t) => {
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
  // What version 1 of the schema left behind: a token table without the :text and :of-type columns, no other kinds.
  const db = new Database(path);
  for (const table of ['idx_token', 'idx_string', 'idx_reference', 'idx_date', 'idx_number', 'idx_quantity', 'idx_uri', 'idx_composite']) db.exec(`DROP TABLE ${table}`);
  db.exec('CREATE TABLE idx_token (resource INTEGER NOT NULL, param TEXT NOT NULL, system TEXT, code TEXT)');
  db.pragma('user_version = 0');
  db.close();
  const reopened = createSqliteStorage({ path, indexer: searchIndexer });
  t.teardown(() => reopened.close());
  const find = async (request: string) => (await reopened.search(searchContext({}), parsed(request))).records.map((r) => r.id);
  t.same(await find('Patient?family=chal'), ['pat-anna', 'pat-peter']);
  t.same(await find(`Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|P100`), ['pat-peter']);
});
