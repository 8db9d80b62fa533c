/**
 * The engine-neutral search cases (search-cases.ts) against the SQLite adapter,
 * one test per case, on one database loaded once.
 */
import t from 'tap';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { searchCases, searchContext, searchIndexer, writeSearchFixtures } from './search-cases';

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
