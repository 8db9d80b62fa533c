import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { AnyResource } from '../../fhir/types';
import { auditLogIndexer } from '../../search/audit-log-indexer';
import type { AppendRequest, AppendResponse, AppendThreadData } from './append-worker';
import { AuditLogStore, auditLogPath } from './audit-log';
import { applyPragmas } from './schema';

/**
 * The worker side of append-worker.ts: its own connection to the access
 * log's database file (never the main one, so its writes never hold the
 * main database's write lock), its own indexer, and one transaction per
 * batch. Runs on another core than the requests, so indexing and inserting
 * the access log does not take their time. The server created the log's
 * tables before the first batch.
 */
const { path, baseUrl, fsyncEveryCommit, cacheMb } = workerData as AppendThreadData;
const db = new Database(auditLogPath(path));
applyPragmas(db, { fsyncEveryCommit, cacheMb, readOnly: false });
// The request thread takes the log's write lock too when it writes an AuditEvent (a POST): wait for it rather than fail the batch.
db.pragma('busy_timeout = 60000');
const log = new AuditLogStore(db, auditLogIndexer(baseUrl));
const writeBatch = db.transaction((resources: AnyResource[], now: Date) => log.append(now, resources));

parentPort!.on('message', ({ seq, json }: AppendRequest) => {
  let response: AppendResponse;
  try {
    writeBatch.immediate(JSON.parse(json) as AnyResource[], new Date());
    response = { seq };
  } catch (error) {
    response = { seq, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  parentPort!.postMessage(response);
});
