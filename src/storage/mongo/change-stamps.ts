import type { ClientSession, Collection } from 'mongodb';
import type { AnyResource } from '../../fhir/types';
import type { StorageOps, WriteOptions } from '../port';

export interface ChangeStampDocument {
  /** The resource type. */
  _id: string;
  /** Committed writes to that type, by every process sharing the database. */
  count: number;
}

/**
 * The change stamps (Storage.changeStamp) of a MongoDB database: one counter
 * document per resource type, shared by every server process on it. A unit
 * of work in a transaction increments them inside the transaction, atomically
 * with its writes; a plain write right after it is acknowledged, before its
 * caller hears of it.
 */
export class MongoChangeStamps {
  constructor(private readonly counters: Collection<ChangeStampDocument>) {}

  async committed(resourceTypes: Iterable<string>, session?: ClientSession): Promise<void> {
    for (const type of new Set(resourceTypes)) await this.counters.updateOne({ _id: type }, { $inc: { count: 1 } }, { upsert: true, session });
  }

  async stamp(resourceTypes: readonly string[]): Promise<string> {
    const documents = await this.counters.find({ _id: { $in: [...resourceTypes] } }).toArray();
    const counts = new Map(documents.map((document) => [document._id, document.count]));
    return resourceTypes.map((type) => counts.get(type) ?? 0).join('.');
  }
}

/** `ops` whose successful writes add their resource type to `written` (a unit of work's, counted when it commits). */
export function recordingWrites(ops: StorageOps, written: Set<string>): StorageOps {
  return {
    read: (ctx, type, id) => ops.read(ctx, type, id),
    vread: (ctx, type, id, versionId) => ops.vread(ctx, type, id, versionId),
    history: (ctx, query) => ops.history(ctx, query),
    search: (ctx, query) => ops.search(ctx, query),
    exists: (ctx, refs) => ops.exists(ctx, refs),
    ...(ops.touchGuards && { touchGuards: (keys: readonly string[]) => ops.touchGuards!(keys) }),
    create: async (ctx, resource: AnyResource) => {
      const record = await ops.create(ctx, resource);
      written.add(resource.resourceType);
      return record;
    },
    update: async (ctx, resource: AnyResource, options?: WriteOptions) => {
      const result = await ops.update(ctx, resource, options);
      written.add(resource.resourceType);
      return result;
    },
    delete: async (ctx, type, id, options?: WriteOptions) => {
      const record = await ops.delete(ctx, type, id, options);
      written.add(type);
      return record;
    },
  };
}
