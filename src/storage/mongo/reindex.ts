import type { AnyBulkWriteOperation, Collection, Filter, ObjectId, WithId } from 'mongodb';
import { compartmentPatients } from '../../search/compartment-patients';
import type { Indexer } from '../../search/index-entry';
import type { ReindexProgress, ReindexSummary } from '../port';
import { documentBody, indexFields, sortKeyFields, type HistoryDocument, type ResourceDocument, type VersionDocument } from './documents';

const BATCH_SIZE = 500;

/**
 * Rewrites the `idx` and `sort` fields of every current resource document
 * with `indexer`, built with the same function the adapter writes with
 * (documents.ts), and the `patients` of every version, current and in
 * `history`, which the compartment definitions and the indexer decide as
 * much as the entries. Each update of a current document is conditional on
 * the version it read, so a write committed meanwhile (which brought its own
 * entries) is left alone; history documents never change otherwise.
 */
export async function reindexMongo(
  resources: Collection<ResourceDocument>,
  history: Collection<HistoryDocument>,
  indexer: Indexer,
  onProgress: ReindexProgress = () => {},
): Promise<ReindexSummary> {
  const total = (await resources.countDocuments({ deleted: false })) + (await history.countDocuments({ deleted: false }));
  const summary: ReindexSummary = { resources: 0, entries: 0, versions: 0 };
  const done = () => summary.resources + summary.versions;

  async function inBatches<D extends VersionDocument>(
    collection: Collection<D>,
    rewrite: (doc: WithId<D>, entries: ReturnType<Indexer>) => AnyBulkWriteOperation<D>,
  ): Promise<void> {
    let after: ObjectId | undefined;
    for (;;) {
      const filter = after === undefined ? { deleted: false } : { deleted: false, _id: { $gt: after } };
      const batch = await collection.find(filter as Filter<D>, { sort: { _id: 1 }, limit: BATCH_SIZE }).toArray();
      if (batch.length === 0) break;
      const updates: AnyBulkWriteOperation<D>[] = [];
      for (const doc of batch) {
        const body = documentBody(doc);
        if (body) updates.push(rewrite(doc, indexer(body)));
      }
      if (updates.length > 0) await collection.bulkWrite(updates, { ordered: false });
      after = batch.at(-1)!._id;
      onProgress(done(), Math.max(total, done()));
    }
  }

  await inBatches(resources, (doc, entries) => {
    summary.resources++;
    summary.entries += entries.length;
    const update = { idx: indexFields(entries), sort: sortKeyFields(entries), patients: compartmentPatients(doc.type, doc.id, entries) };
    return { updateOne: { filter: { _id: doc._id, versionId: doc.versionId }, update: { $set: update } } };
  });
  // Older versions keep their body but are read (vread, history) and audited with their patients too.
  await inBatches(history, (doc, entries) => {
    summary.versions++;
    return { updateOne: { filter: { _id: doc._id }, update: { $set: { patients: compartmentPatients(doc.type, doc.id, entries) } } } };
  });
  return summary;
}
