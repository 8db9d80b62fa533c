import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../../config';
import { openMongoAccountStore } from './mongo';
import type { AccountStore } from './port';
import { openSqliteAccountStore } from './sqlite';

/** The account store beside the resources: MongoDB when MONGODB_URI is set, else the SQLite file. */
export async function openAccountStore(config: Pick<Config, 'mongodbUri' | 'mongodbDb' | 'sqlitePath'>): Promise<AccountStore> {
  if (config.mongodbUri) return openMongoAccountStore(config.mongodbUri, config.mongodbDb);
  if (config.sqlitePath !== ':memory:') mkdirSync(dirname(config.sqlitePath), { recursive: true });
  return openSqliteAccountStore(config.sqlitePath);
}
