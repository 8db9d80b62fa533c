import type { Db } from 'mongodb';
import type { AnyResource } from '../../fhir/types';
import { AUDIT_LOG_TYPE } from '../../search/audit-log-search';
import type { Indexer } from '../../search/index-entry';
import { MongoAuditLog, type AuditDocument } from './audit-log';
import { documentBody, type HistoryDocument, type ResourceDocument } from './documents';
import { collectionNames } from './indexes';

/** Events moved per round. */
export const MONGO_MIGRATION_BATCH = 1000;

/**
 * Moves the AuditEvents an older version stored in `resources` into the
 * `audit` collection, on the first start that has it: per batch, the events
 * are inserted (an id already there is skipped, so a crash between the
 * steps repeats nothing), then removed from `resources` and `history`. The
 * next start continues where a crash stopped. One progress line per batch.
 */
export async function migrateMongoAuditEvents(db: Db, indexer: Indexer, progress: (line: string) => void): Promise<number> {
  const resources = db.collection<ResourceDocument>(collectionNames.resources);
  const history = db.collection<HistoryDocument>(collectionNames.history);
  const log = new MongoAuditLog(db.collection<AuditDocument>(collectionNames.audit), indexer);
  const total = await resources.countDocuments({ type: AUDIT_LOG_TYPE });
  let moved = 0;
  while (moved < total) {
    const batch = await resources.find({ type: AUDIT_LOG_TYPE }, { projection: { id: 1, deleted: 1, resource: 1, json: 1 } }).limit(MONGO_MIGRATION_BATCH).toArray();
    if (batch.length === 0) break;
    const bodies = batch.flatMap((doc): AnyResource[] => {
      const body = doc.deleted ? undefined : documentBody(doc);
      return body ? [body] : [];
    });
    await log.appendStamped(bodies);
    const ids = batch.map((doc) => doc.id);
    await history.deleteMany({ type: AUDIT_LOG_TYPE, id: { $in: ids } });
    await resources.deleteMany({ type: AUDIT_LOG_TYPE, id: { $in: ids } });
    moved += batch.length;
    progress(`access log migration: ${moved} of ${total} AuditEvents moved from the resource collections`);
  }
  return moved;
}
