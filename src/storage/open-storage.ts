import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config';
import { auditLogIndexer } from '../search/audit-log-indexer';
import type { Indexer } from '../search/index-entry';
import { createMongoStorage } from './mongo/mongo-storage';
import type { Storage } from './port';
import { createSqliteStorage } from './sqlite/sqlite-storage';

/** MongoDB when MONGODB_URI is set; otherwise the embedded SQLite database. */
export async function openStorage(config: Pick<Config, 'mongodbUri' | 'mongodbDb' | 'sqlitePath' | 'baseUrl'> & Partial<Pick<Config, 'sqliteCacheMb'>>, indexer: Indexer): Promise<Storage> {
  // The access log is indexed by its own parameters only (audit-log-indexer.ts), on the worker thread as here.
  const auditIndexer = auditLogIndexer(config.baseUrl);
  if (config.mongodbUri) return createMongoStorage({ uri: config.mongodbUri, dbName: config.mongodbDb, indexer, auditIndexer });
  if (config.sqlitePath !== ':memory:') mkdirSync(dirname(config.sqlitePath), { recursive: true });
  return createSqliteStorage({
    path: config.sqlitePath,
    indexer,
    auditIndexer,
    appendThread: { baseUrl: config.baseUrl },
    ...(config.sqliteCacheMb ? { cacheMb: config.sqliteCacheMb } : {}),
  });
}
