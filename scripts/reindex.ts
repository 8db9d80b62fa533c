/**
 * `npm run reindex`: recomputes the search index entries of every current
 * resource, and the patients stored with every version, after the search or
 * compartment definitions (conformance/) or the indexer changed. Versions
 * and bodies are untouched. Safe while the server runs: it works in short
 * batches (see the adapters' reindex.ts). Uses the server's configuration (SQLITE_PATH, MONGODB_URI,
 * BASE_URL); progress on stderr, a summary line on stdout.
 */
import Database from 'better-sqlite3';
import { MongoClient } from 'mongodb';
import { loadConfig, type Config } from '../src/config';
import type { Indexer } from '../src/search/index-entry';
import { createIndexer } from '../src/search/indexer';
import { collectionNames } from '../src/storage/mongo/indexes';
import type { HistoryDocument, ResourceDocument } from '../src/storage/mongo/documents';
import { reindexMongo } from '../src/storage/mongo/reindex';
import type { ReindexProgress, ReindexSummary } from '../src/storage/port';
import { reindexSqlite } from '../src/storage/sqlite/reindex';
import { applyPragmas, createSchema } from '../src/storage/sqlite/schema';
import { stderrProgressBar } from './progress-bar';

export type ReindexConfig = Pick<Config, 'mongodbUri' | 'mongodbDb' | 'sqlitePath' | 'baseUrl'>;

export async function reindex(config: ReindexConfig, onProgress: ReindexProgress, indexer: Indexer = createIndexer({ baseUrl: config.baseUrl })): Promise<ReindexSummary> {
  if (config.mongodbUri) {
    const client = await MongoClient.connect(config.mongodbUri);
    try {
      const db = client.db(config.mongodbDb);
      const resources = db.collection<ResourceDocument>(collectionNames.resources);
      return await reindexMongo(resources, db.collection<HistoryDocument>(collectionNames.history), indexer, onProgress);
    } finally {
      await client.close();
    }
  }
  if (config.sqlitePath === ':memory:') throw new Error('SQLITE_PATH is :memory:: there is no stored data to re-index');
  const db = new Database(config.sqlitePath, { fileMustExist: true });
  try {
    applyPragmas(db, { fsyncEveryCommit: false, readOnly: false });
    // Tables a new index kind needs are created before anything is written to them.
    createSchema(db);
    return reindexSqlite(db, indexer, onProgress);
  } finally {
    db.close();
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const summary = await reindex(config, stderrProgressBar('reindex'));
  process.stdout.write(`re-indexed ${summary.resources} resources, ${summary.entries} index entries, the patients of ${summary.versions} versions\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`\nreindex failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
