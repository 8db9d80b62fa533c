import type { ClientSession, Collection, Document } from 'mongodb';

export interface FindOptions {
  projection?: Document;
  sort?: Record<string, 1 | -1>;
  skip?: number;
  /** Must be positive when given (MongoDB reads 0 as "no limit"). */
  limit?: number;
}

/**
 * The three reads a search makes over `resources`. The adapter implements
 * it with the driver (below); the differential test with mingo over
 * in-memory documents, so that everything above it (sub-queries, paging,
 * totals, includes: mongo-search.ts) runs unchanged in the test.
 */
export interface ResourceReader {
  find(filter: Document, options?: FindOptions): Promise<Document[]>;
  /** How many documents match, counting at most `limit` (every one without it). */
  count(filter: Document, limit?: number): Promise<number>;
  aggregate(pipeline: Document[]): Promise<Document[]>;
}

export function collectionReader(collection: Collection<Document>, session?: ClientSession): ResourceReader {
  return {
    async find(filter, options = {}) {
      let cursor = collection.find(filter, { session, ...(options.projection ? { projection: options.projection } : {}) });
      if (options.sort) cursor = cursor.sort(options.sort);
      if (options.skip) cursor = cursor.skip(options.skip);
      if (options.limit !== undefined) cursor = cursor.limit(options.limit);
      return cursor.toArray();
    },
    count: (filter, limit) => collection.countDocuments(filter, limit === undefined ? { session } : { session, limit }),
    aggregate: (pipeline) => collection.aggregate(pipeline, { session }).toArray(),
  };
}
