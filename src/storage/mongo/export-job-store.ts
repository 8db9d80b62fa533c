import type { Filter } from 'mongodb';
import type { ExportJobState, ExportJobStore, StoredExportJob } from '../export-jobs';

interface JobDocument {
  _id: string;
  owner: string;
  state: ExportJobState;
  document: Record<string, unknown>;
}

/**
 * The part of a MongoDB collection the job store uses, so that it is tested
 * with a fake (test/storage/mongo-export-jobs.test.ts) where no server runs.
 */
export interface JobCollection {
  insertOne(doc: JobDocument): Promise<unknown>;
  updateOne(filter: Filter<JobDocument>, update: { $set: Partial<JobDocument> }): Promise<unknown>;
  findOne(filter: Filter<JobDocument>): Promise<JobDocument | null>;
  find(filter: Filter<JobDocument>, options?: { sort?: Record<string, 1 | -1> }): { toArray(): Promise<JobDocument[]> };
  deleteOne(filter: Filter<JobDocument>): Promise<unknown>;
}

const fromDocument = (doc: JobDocument): StoredExportJob => ({ id: doc._id, owner: doc.owner, state: doc.state, document: doc.document });

/** The export jobs in a collection of their own (`export_jobs`), one document per job keyed by its id. */
export function createMongoExportJobStore(collection: JobCollection, close: () => Promise<void> = async () => undefined): ExportJobStore {
  return {
    insert: async (job) => void (await collection.insertOne({ _id: job.id, owner: job.owner, state: job.state, document: job.document })),
    save: async (job) => void (await collection.updateOne({ _id: job.id }, { $set: { state: job.state, document: job.document } })),
    get: async (id) => {
      const found = await collection.findOne({ _id: id });
      return found ? fromDocument(found) : undefined;
    },
    list: async (state) => (await collection.find(state ? { state } : {}, { sort: { _id: 1 } }).toArray()).map(fromDocument),
    remove: async (id) => void (await collection.deleteOne({ _id: id })),
    close,
  };
}
