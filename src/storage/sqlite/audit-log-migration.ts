import type { Database } from 'better-sqlite3';
import type { AnyResource } from '../../fhir/types';
import { AUDIT_LOG_TYPE } from '../../search/audit-log-search';
import type { AuditLogStore } from './audit-log';
import { EntryWriter } from './entry-writer';

/** Events moved per transaction: small enough that a start never holds the write lock for long. */
export const MIGRATION_BATCH = 1000;

/**
 * Moves the AuditEvents an older version stored as generic resources into
 * the access log (audit-log.ts), on the first start that has the log. Each
 * batch is one transaction on a connection that has the log attached: the
 * events are appended with their stored meta (ids, versionId, lastUpdated
 * unchanged) and removed from the resource tables, their history and their
 * index rows, so that a crash between batches leaves every event in exactly
 * one place and the next start continues. `progress` gets one line per batch.
 */
export function migrateAuditEvents(db: Database, log: AuditLogStore, progress: (line: string) => void): number {
  const remaining = () => (db.prepare('SELECT count(*) AS n FROM resources WHERE type = ?').get(AUDIT_LOG_TYPE) as { n: number }).n;
  const total = remaining();
  if (total === 0) return 0;
  const entries = new EntryWriter(db);
  const batchOf = db.prepare('SELECT pk, id, deleted, json FROM resources WHERE type = ? ORDER BY pk LIMIT ?');
  const removeHistory = db.prepare('DELETE FROM history WHERE type = ? AND id = ?');
  const removeCurrent = db.prepare('DELETE FROM resources WHERE pk = ?');
  const moveBatch = db.transaction(() => {
    const rows = batchOf.all(AUDIT_LOG_TYPE, MIGRATION_BATCH) as Array<{ pk: number; id: string; deleted: number; json: string | null }>;
    // A deleted AuditEvent (possible through the storage before the API refused it) has no body to keep.
    log.appendStamped(rows.filter((row) => row.deleted === 0 && row.json !== null).map((row) => JSON.parse(row.json!) as AnyResource));
    for (const row of rows) {
      entries.deleteAll(row.pk);
      removeHistory.run(AUDIT_LOG_TYPE, row.id);
      removeCurrent.run(row.pk);
    }
    return rows.length;
  });
  let moved = 0;
  for (let batch = moveBatch.immediate(); batch > 0; batch = moveBatch.immediate()) {
    moved += batch;
    progress(`access log migration: ${moved} of ${total} AuditEvents moved from the resource tables`);
  }
  return moved;
}
