import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config';
import type { Indexer } from '../search/index-entry';
import { createMongoStorage } from './mongo/mongo-storage';
import type { Storage } from './port';
import { createSqliteStorage } from './sqlite/sqlite-storage';

/** MongoDB when MONGODB_URI is set; otherwise the embedded SQLite database. */
export async function openStorage(config: Pick<Config, 'mongodbUri' | 'mongodbDb' | 'sqlitePath' | 'baseUrl'> & Partial<Pick<Config, 'sqliteCacheMb'>>, indexer: Indexer): Promise<Storage> {
  if (config.mongodbUri) return createMongoStorage({ uri: config.mongodbUri, dbName: config.mongodbDb, indexer });
  if (config.sqlitePath !== ':memory:') mkdirSync(dirname(config.sqlitePath), { recursive: true });
  // The access log is written on a worker thread that indexes with the standard indexer, as `indexer` does.
  return createSqliteStorage({
    path: config.sqlitePath,
    indexer,
    appendThread: { baseUrl: config.baseUrl },
    ...(config.sqliteCacheMb ? { cacheMb: config.sqliteCacheMb } : {}),
  });
}
