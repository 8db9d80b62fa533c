import { MongoClient } from 'mongodb';
import type { Config } from '../config';
import type { ExportJobStore } from './export-jobs';
import { createMongoExportJobStore } from './mongo/export-job-store';
import { createSqliteExportJobStore } from './sqlite/export-job-store';

/** The Bulk Data export jobs on the configured engine: a MongoDB collection, or a table of the SQLite file. */
export async function openExportJobs(config: Pick<Config, 'mongodbUri' | 'mongodbDb' | 'sqlitePath'>): Promise<ExportJobStore> {
  if (!config.mongodbUri) return createSqliteExportJobStore(config.sqlitePath);
  const client = await new MongoClient(config.mongodbUri).connect();
  return createMongoExportJobStore(client.db(config.mongodbDb).collection('export_jobs'), () => client.close());
}
