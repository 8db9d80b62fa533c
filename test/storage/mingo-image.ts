/**
 * The MongoDB adapter's documents in memory, read by mingo (an independent
 * implementation of MongoDB's query language): the storage port's writes
 * stamped and indexed by the adapter's own builders, its searches, reads and
 * history compiled by the adapter's code. Shared by the differential tests
 * (test/storage/mongo-differential.test.ts, test/scheduling/mongo-differential.test.ts).
 */
import { Aggregator, ProcessingMode, Query } from 'mingo';
import type { Document } from 'mongodb';
import type { RequestContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import type { Indexer } from '../../src/search/index-entry';
import type { SearchQuery } from '../../src/search/query';
import { historyDocument, resourceDocument, versionRecord, withStoredFields, type HistoryDocument, type ResourceDocument } from '../../src/storage/mongo/documents';
import { compileHistory } from '../../src/storage/mongo/history-filter';
import { defaultIncludeLimits } from '../../src/storage/mongo/includes';
import { runSearch } from '../../src/storage/mongo/mongo-search';
import type { ResourceReader } from '../../src/storage/mongo/resource-reader';
import { stampVersion } from '../../src/storage/mongo/version-writer';
import { existingResourcesFilter, visibleHistoryFilter, visibleResourceFilter } from '../../src/storage/mongo/visibility';
import type { HistoryPage, HistoryQuery, ResourceKey, SearchResult, StorageOps, VersionRecord } from '../../src/storage/port';

/** mingo projects in place unless told to clone: a database never changes what it stores when it answers. */
const immutable = { processingMode: ProcessingMode.CLONE_INPUT };

/** A ResourceReader over in-memory documents, evaluated by mingo; the access log (an AuditReader) is read with it too. */
export function mingoReader(documents: Document[]): ResourceReader {
  return {
    async find(filter, options = {}) {
      let cursor = new Query(filter, immutable).find<Document>(documents, options.projection);
      if (options.sort) cursor = cursor.sort(options.sort);
      if (options.skip) cursor = cursor.skip(options.skip);
      if (options.limit !== undefined) cursor = cursor.limit(options.limit);
      return cursor.all();
    },
    async count(filter, limit) {
      return Math.min(new Query(filter, immutable).find(documents).all().length, limit ?? Infinity);
    },
    async aggregate(pipeline) {
      return new Aggregator(pipeline, immutable).run(documents) as Document[];
    },
  };
}

/**
 * The storage port's writes over in-memory documents, stamped and indexed
 * exactly as the adapter's write path does; search runs the adapter's
 * search, reads and history run the adapter's filters over mingo.
 */
export class MingoImage implements StorageOps {
  readonly resources = new Map<string, ResourceDocument>();
  readonly versions: HistoryDocument[] = [];

  constructor(private readonly indexer: Indexer) {}

  get reader(): ResourceReader {
    return mingoReader([...this.resources.values()]);
  }

  async create(ctx: RequestContext, resource: AnyResource) {
    return this.write(ctx, resource.resourceType, resource.id!, { resource });
  }

  async update(ctx: RequestContext, resource: AnyResource) {
    const created = this.resources.get(`${resource.resourceType}/${resource.id}`)?.deleted ?? true;
    return { record: this.write(ctx, resource.resourceType, resource.id!, { resource }), created };
  }

  async delete(ctx: RequestContext, resourceType: string, id: string) {
    return this.write(ctx, resourceType, id, { tombstone: true });
  }

  search(ctx: RequestContext, query: SearchQuery, limits = defaultIncludeLimits): Promise<SearchResult> {
    return runSearch(this.reader, ctx.access, query, limits);
  }

  async exists(ctx: RequestContext, refs: readonly ResourceKey[]): Promise<Set<string>> {
    const filter = await existingResourcesFilter(this.reader, refs, ctx.access);
    const found = await this.reader.find(filter, { projection: { _id: 0, type: 1, id: 1 } });
    return new Set(found.map((doc) => `${doc.type as string}/${doc.id as string}`));
  }

  /** The current version, as the adapter reads it (its visibility filter, evaluated by mingo). */
  async read(ctx: RequestContext, resourceType: string, id: string): Promise<VersionRecord | undefined> {
    const filter = ctx.access ? await visibleResourceFilter(this.reader, ctx.access, resourceType, id) : { type: resourceType, id };
    const doc = new Query(filter, immutable).find<ResourceDocument>([...this.resources.values()]).all()[0];
    return doc && versionRecord(doc);
  }
  vread(): never {
    throw new Error('not used');
  }

  /** History as the adapter compiles it (history-filter.ts, visibility.ts), evaluated by mingo. */
  async history(ctx: RequestContext, query: HistoryQuery): Promise<HistoryPage> {
    const compiled = compileHistory(query);
    const filter = ctx.access ? await visibleHistoryFilter(this.reader, ctx.access, query, compiled.filter) : compiled.filter;
    if (filter === undefined) return { records: [], total: 0 };
    const all = new Query(filter, immutable).find<HistoryDocument>(this.versions).sort(compiled.sort).all();
    return { records: all.slice(compiled.skip, compiled.skip + compiled.limit).map(versionRecord), total: all.length };
  }

  private write(ctx: RequestContext, type: string, id: string, change: { resource: AnyResource } | { tombstone: true }): VersionRecord {
    const key = `${type}/${id}`;
    const stamped = stampVersion(ctx.now, type, id, this.resources.get(key) ?? null, change);
    const entries = stamped.resource ? this.indexer(stamped.resource) : [];
    const version = withStoredFields(stamped, entries);
    this.resources.set(key, resourceDocument(version, entries));
    this.versions.push(historyDocument(version));
    return { resourceType: type, id, versionId: version.versionId, lastUpdated: version.lastUpdated, deleted: version.deleted, ...(version.resource ? { resource: version.resource } : {}) };
  }
}
