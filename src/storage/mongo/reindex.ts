import type { AnyBulkWriteOperation, Collection, ObjectId } from 'mongodb';
import type { Indexer } from '../../search/index-entry';
import type { ReindexProgress, ReindexSummary } from '../port';
import { documentBody, indexFields, sortKeyFields, type ResourceDocument } from './documents';

const BATCH_SIZE = 500;

/**
 * Rewrites the `idx` and `sort` fields of every current resource document with
 * `indexer`, built with the same function the adapter writes with
 * (documents.ts). Each update is conditional on the version it read, so a
 * write committed meanwhile (which brought its own entries) is left alone.
 */
export async function reindexMongo(
  resources: Collection<ResourceDocument>,
  indexer: Indexer,
  onProgress: ReindexProgress = () => {},
): Promise<ReindexSummary> {
  const current = { deleted: false };
  const total = await resources.countDocuments(current);
  const summary: ReindexSummary = { resources: 0, entries: 0 };
  let after: ObjectId | undefined;
  for (;;) {
    const filter = after === undefined ? current : { ...current, _id: { $gt: after } };
    const batch = await resources.find(filter, { sort: { _id: 1 }, limit: BATCH_SIZE }).toArray();
    if (batch.length === 0) break;
    const updates: AnyBulkWriteOperation<ResourceDocument>[] = [];
    for (const doc of batch) {
      const body = documentBody(doc);
      if (!body) continue;
      const entries = indexer(body);
      summary.entries += entries.length;
      updates.push({ updateOne: { filter: { _id: doc._id, versionId: doc.versionId }, update: { $set: { idx: indexFields(entries), sort: sortKeyFields(entries) } } } });
    }
    if (updates.length > 0) await resources.bulkWrite(updates, { ordered: false });
    summary.resources += batch.length;
    after = batch.at(-1)!._id;
    onProgress(summary.resources, Math.max(total, summary.resources));
  }
  return summary;
}
