import type { ClientSession, Collection, Document, FindCursor } from 'mongodb';
import type { RequestContext } from '../../context';
import { conflict, FhirError } from '../../errors';
import type { AnyResource } from '../../fhir/types';
import type { Indexer } from '../../search/index-entry';
import { AUDIT_LOG_TYPE } from '../../search/audit-log-search';
import type { SearchQuery } from '../../search/query';
import { eventHistory, eventHistoryId } from '../audit-log-history';
import { searchAuditLog, type MongoAuditLog } from './audit-log';
import type { HistoryPage, HistoryQuery, ResourceKey, SearchResult, StorageOps, UpdateResult, VersionRecord, WriteOptions } from '../port';
import { versionRecord, type VersionDocument } from './documents';
import { compileHistory } from './history-filter';
import { runSearch } from './mongo-search';
import { collectionReader, type ResourceReader } from './resource-reader';
import { existingResourcesFilter, isVisible, visibleHistoryFilter, visibleResourceFilter } from './visibility';
import { VersionWriter, type VersionCollections } from './version-writer';
import { identity } from '../versioning';

/** The index entries are for the database's eyes only: never read them back. */
const withoutIndex = { projection: { idx: 0, sort: 0, historyPending: 0 } };

export interface OpsOptions {
  /** Inside a transaction: every operation joins it. */
  session?: ClientSession;
  /** Runs before each search (inside a transaction: the guard against write skew, see locks.ts). */
  beforeSearch?: (query: SearchQuery) => Promise<void>;
  /** Inside a transaction: writes the guard document of one key (StorageOps.touchGuards, locks.ts). */
  touchGuard?: (key: string) => Promise<void>;
  /** The access log (audit-log.ts): AuditEvents are read and written there, never in `resources`. */
  auditLog?: MongoAuditLog;
}

/** The access log is evidence (security/audit/immutable.ts refuses the same over the API). */
const immutableEvent = () => FhirError.of(405, 'not-supported', 'AuditEvents cannot be updated or deleted');

/** The port's operations over the MongoDB collections, outside or (with a session) inside a transaction. */
export class MongoOps implements StorageOps {
  private readonly writer: VersionWriter;
  private readonly reader: ResourceReader;
  readonly touchGuards?: (keys: readonly string[]) => Promise<void>;

  constructor(
    private readonly collections: VersionCollections,
    indexer: Indexer,
    private readonly options: OpsOptions = {},
  ) {
    this.writer = new VersionWriter(collections, indexer, options.session);
    this.reader = collectionReader(collections.resources as unknown as Collection<Document>, options.session);
    const touch = options.touchGuard;
    // Only a transaction's operations can make units conflict (port.ts): outside one the method is absent.
    if (touch) this.touchGuards = async (keys) => {
      // Sorted and deduplicated: every unit writes its guards in the same order.
      for (const key of [...new Set(keys)].sort()) await touch(key);
    };
  }

  /** The access log, when `resourceType` is its type and this storage keeps one. */
  private logFor(resourceType: string | undefined): MongoAuditLog | undefined {
    return resourceType === AUDIT_LOG_TYPE ? this.options.auditLog : undefined;
  }

  async read(ctx: RequestContext, resourceType: string, id: string): Promise<VersionRecord | undefined> {
    const log = this.logFor(resourceType);
    if (log) return log.read(id, ctx.access);
    const filter = ctx.access ? await visibleResourceFilter(this.reader, ctx.access, resourceType, id) : { type: resourceType, id };
    const current = await this.collections.resources.findOne(filter, { ...withoutIndex, session: this.options.session });
    return current ? versionRecord(current) : undefined;
  }

  async exists(ctx: RequestContext, refs: readonly ResourceKey[]): Promise<Set<string>> {
    if (refs.length === 0) return new Set();
    const log = this.options.auditLog;
    if (log && refs.some((ref) => ref.resourceType === AUDIT_LOG_TYPE)) {
      const found = await this.exists(ctx, refs.filter((ref) => ref.resourceType !== AUDIT_LOG_TYPE));
      const events = refs.filter((ref) => ref.resourceType === AUDIT_LOG_TYPE).map((ref) => ref.id);
      for (const id of await log.exists(events, ctx.access)) found.add(`${AUDIT_LOG_TYPE}/${id}`);
      return found;
    }
    const found = await this.reader.find(await existingResourcesFilter(this.reader, refs, ctx.access), { projection: { _id: 0, type: 1, id: 1 } });
    return new Set(found.map((doc) => `${doc.type as string}/${doc.id as string}`));
  }

  async vread(ctx: RequestContext, resourceType: string, id: string, versionId: number): Promise<VersionRecord | undefined> {
    const log = this.logFor(resourceType);
    // Every event has exactly one version.
    if (log) return versionId === 1 ? log.read(id, ctx.access) : undefined;
    if (ctx.access && !(await isVisible(this.reader, ctx.access, resourceType, id))) return undefined;
    const session = this.options.session;
    const version =
      (await this.collections.history.findOne({ type: resourceType, id, versionId }, { session })) ??
      // A writer that crashed before writing its history row left the version only in `resources` (see version-writer.ts).
      (await this.collections.resources.findOne({ type: resourceType, id, versionId }, { ...withoutIndex, session }));
    return version ? versionRecord(version) : undefined;
  }

  async create(ctx: RequestContext, resource: AnyResource): Promise<VersionRecord> {
    const { resourceType, id } = identity(resource);
    const log = this.logFor(resourceType);
    if (log) return log.create(ctx.now, resource);
    const committed = await this.writer.commit(ctx.now, resourceType, id, (current) => {
      if (current) throw conflict(`${resourceType}/${id} already exists${current.deleted ? ' (deleted)' : ''}`);
      return { resource };
    });
    return versionRecord(committed!.version);
  }

  async update(ctx: RequestContext, resource: AnyResource, options: WriteOptions = {}): Promise<UpdateResult> {
    const { resourceType, id } = identity(resource);
    if (this.logFor(resourceType)) throw immutableEvent();
    const committed = await this.writer.commit(ctx.now, resourceType, id, () => ({ resource }), options.expectedVersion);
    const { version, previous } = committed!;
    return { record: versionRecord(version), created: previous === null || previous.deleted };
  }

  async delete(ctx: RequestContext, resourceType: string, id: string, options: WriteOptions = {}): Promise<VersionRecord | undefined> {
    if (this.logFor(resourceType)) throw immutableEvent();
    const committed = await this.writer.commit(
      ctx.now,
      resourceType,
      id,
      // Nothing to delete is a success without a new version, whatever If-Match says.
      (current) => (current === null || current.deleted ? undefined : { tombstone: true }),
      options.expectedVersion,
    );
    return committed && versionRecord(committed.version);
  }

  async history(ctx: RequestContext, query: HistoryQuery): Promise<HistoryPage> {
    const log = this.logFor(query.resourceType);
    if (log) return eventHistory(query, await log.read(eventHistoryId(query), ctx.access));
    const compiled = compileHistory(query);
    const { sort, skip, limit } = compiled;
    const filter = ctx.access ? await visibleHistoryFilter(this.reader, ctx.access, query, compiled.filter) : compiled.filter;
    if (filter === undefined) return { records: [], total: 0 };
    const session = this.options.session;
    const records = limit > 0 ? await this.page(this.collections.history.find(filter, { session }), sort, skip, limit) : [];
    const total = await this.collections.history.countDocuments(filter, { session });
    return { records, total };
  }

  async search(ctx: RequestContext, query: SearchQuery): Promise<SearchResult> {
    await this.options.beforeSearch?.(query);
    const log = this.options.auditLog;
    if (log && query.types.includes(AUDIT_LOG_TYPE)) {
      if (query.types.length === 1) return searchAuditLog(log.reader(), query, ctx.access);
      // System and compartment-wide searches cover `resources`; the log is searched on its own.
      return runSearch(this.reader, ctx.access, { ...query, types: query.types.filter((type) => type !== AUDIT_LOG_TYPE) });
    }
    return runSearch(this.reader, ctx.access, query);
  }

  // Outside a transaction the page and the total are two reads and may see different moments (SQLite reads both in one snapshot).
  private async page(cursor: FindCursor<Document>, sort: Record<string, 1 | -1>, skip: number, limit: number): Promise<VersionRecord[]> {
    const documents = (await cursor.sort(sort).skip(skip).limit(limit).toArray()) as VersionDocument[];
    return documents.map(versionRecord);
  }
}

