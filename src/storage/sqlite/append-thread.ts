import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { AnyResource } from '../../fhir/types';
import { createIndexer } from '../../search/indexer';
import type { AppendRequest, AppendResponse, AppendThreadData } from './append-worker';
import { ResourceStore } from './resource-store';
import { applyPragmas } from './schema';

/**
 * The worker side of append-worker.ts: its own connection to the database
 * file, its own indexer, and one transaction per batch. Runs on another
 * core than the requests, so indexing and inserting the access log does not
 * take their time.
 */
const { path, baseUrl, fsyncEveryCommit, cacheMb } = workerData as AppendThreadData;
const db = new Database(path);
applyPragmas(db, { fsyncEveryCommit, cacheMb, readOnly: false });
// The request thread may hold the write lock for a whole transaction bundle: wait for it rather than fail the batch.
db.pragma('busy_timeout = 60000');
const store = new ResourceStore(db, createIndexer({ baseUrl }));
const writeBatch = db.transaction((resources: AnyResource[], now: Date) => store.appendNew(now, resources));

parentPort!.on('message', ({ seq, resources }: AppendRequest) => {
  let response: AppendResponse;
  try {
    writeBatch.immediate(resources, new Date());
    response = { seq };
  } catch (error) {
    response = { seq, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  parentPort!.postMessage(response);
});
