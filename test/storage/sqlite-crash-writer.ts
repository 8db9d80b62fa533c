/**
 * Child process for the kill -9 durability test: creates Patients one by one,
 * printing the id of each as soon as its create resolved (acknowledged), and
 * never stops on its own.
 */
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { contextAt, contractIndexer } from './contract-fixtures';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: sqlite-crash-writer <database file>');
const storage = createSqliteStorage({ path, indexer: contractIndexer });

void (async () => {
  for (let i = 0; ; i++) {
    await storage.create(contextAt(new Date().toISOString()), { resourceType: 'Patient', id: `crash-${i}` });
    process.stdout.write(`crash-${i}\n`);
  }
})();
