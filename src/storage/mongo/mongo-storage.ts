import { MongoClient, type ClientSession, type Collection, type Db } from 'mongodb';
import { systemContext, type RequestContext } from '../../context';
import type { AnyResource } from '../../fhir/types';
import type { Indexer } from '../../search/index-entry';
import { CommitHooks, hookedWrites, type SingleWrites } from '../commit-hooks';
import type { CommitListener, Storage, StorageOps, Unsubscribe, UnitOfWorkOptions, WriteOptions } from '../port';
import { appendIdempotently } from './append-records';
import { migrateMongoAuditEvents } from './audit-log-migration';
import { MongoAuditLog, type AuditDocument } from './audit-log';
import { MongoChangeStamps, recordingWrites, type ChangeStampDocument } from './change-stamps';
import type { HistoryDocument, ResourceDocument } from './documents';
import { guardKey, namedGuardKey } from './guard-key';
import { collectionNames, ensureIndexes } from './indexes';
import { touchTransactionGuard, withLease, type LockDocument } from './locks';
import { MongoOps } from './mongo-ops';
import { unitStrategy } from './unit-strategy';
import { VersionWriter, type VersionCollections } from './version-writer';

export interface MongoStorageOptions {
  uri: string;
  dbName: string;
  indexer: Indexer;
  /** Indexes the access log's events (`indexer` by default): audit-log-indexer.ts gives the same entries for what the log keeps, for less. */
  auditIndexer?: Indexer;
  /** Progress lines of start-up work (moving AuditEvents into the access log); stderr by default. */
  progress?: (line: string) => void;
}

/**
 * The MongoDB storage: the port plus what only this adapter needs.
 *
 * `unitOfWork(work, { guard })`, by topology (decided once, at connection):
 * - replica set / sharded cluster: a multi-document transaction (snapshot
 *   reads, majority commit). With a guard, the transaction first writes the
 *   guard's document (locks.ts), so two units with the same guard conflict
 *   and the loser runs again on a snapshot that sees the winner's writes;
 *   every search inside a transaction also touches a guard named after its
 *   criteria, which protects units without a guard (transaction bundles).
 *   `work` may run more than once (withTransaction retries transient
 *   errors): it must only touch `tx`.
 * - standalone: no transactions. A unit WITH a guard runs under the lease
 *   named by the guard (locks.ts), with plain operations: at most one unit
 *   per guard at a time, across processes, but not atomic. That is safe for
 *   units that write at most once after their search (conditional create,
 *   update and delete): a failure leaves either nothing or that one write,
 *   itself atomic. A unit WITHOUT a guard answers 501 not-supported.
 * Like SQLite's global lock, a guard does not stop an unconditional write
 * that happens to match the criteria.
 */
export interface MongoStorage extends Storage {
  readonly supportsTransactions: boolean;
  /** Creates every index the adapter relies on (see indexes.ts); done by createMongoStorage, idempotent. */
  ensureIndexes(): Promise<void>;
  /** Writes the history rows that crashed writers left pending (see version-writer.ts); returns how many. Run at start-up. */
  completePendingHistory(): Promise<number>;
}

export async function createMongoStorage(options: MongoStorageOptions): Promise<MongoStorage> {
  const client = await MongoClient.connect(options.uri);
  try {
    const db = client.db(options.dbName);
    const auditIndexer = options.auditIndexer ?? options.indexer;
    const storage = mongoStorageOn(client, db, options.indexer, await topologySupportsTransactions(db), auditIndexer);
    await storage.ensureIndexes();
    await storage.completePendingHistory();
    await migrateMongoAuditEvents(db, auditIndexer, options.progress ?? ((line) => process.stderr.write(`${line}\n`)));
    return storage;
  } catch (error) {
    await client.close();
    throw error;
  }
}

/** The storage over a connected database whose topology is known (createMongoStorage finds it out). */
export function mongoStorageOn(client: MongoClient, db: Db, indexer: Indexer, supportsTransactions: boolean, auditIndexer: Indexer = indexer): MongoStorage {
  return new MongoStorageImpl(client, db, indexer, supportsTransactions, auditIndexer);
}

/** Transactions need a replica set (`hello` names a set) or a sharded cluster (mongos answers `isdbgrid`). */
export async function topologySupportsTransactions(db: Pick<Db, 'admin'>): Promise<boolean> {
  const hello = await db.admin().command({ hello: 1 });
  return typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
}

class MongoStorageImpl extends MongoOps implements MongoStorage {
  private readonly versionCollections: VersionCollections;
  private readonly audit: Collection<AuditDocument>;
  private readonly locks: Collection<LockDocument>;
  private readonly changes: MongoChangeStamps;
  private readonly hooks: CommitHooks;
  /** This storage's single writes, through the commit hooks. */
  private readonly single: SingleWrites;
  /** The operations without the commit hooks (each write still counted in the change stamps): a lease's unit runs on them. */
  private readonly stamped: StorageOps;

  constructor(
    private readonly client: MongoClient,
    private readonly db: Db,
    private readonly indexer: Indexer,
    readonly supportsTransactions: boolean,
    private readonly auditIndexer: Indexer,
  ) {
    const collections = {
      resources: db.collection<ResourceDocument>(collectionNames.resources),
      history: db.collection<HistoryDocument>(collectionNames.history),
    };
    const audit = db.collection<AuditDocument>(collectionNames.audit);
    super(collections, indexer, { auditLog: new MongoAuditLog(audit, auditIndexer) });
    this.audit = audit;
    this.versionCollections = collections;
    this.locks = db.collection<LockDocument>(collectionNames.locks);
    this.changes = new MongoChangeStamps(db.collection<ChangeStampDocument>('change_stamps'));
    this.hooks = new CommitHooks({ atomicUnits: supportsTransactions });
    this.stamped = {
      read: (ctx, type, id) => this.read(ctx, type, id),
      vread: (ctx, type, id, versionId) => this.vread(ctx, type, id, versionId),
      history: (ctx, query) => this.history(ctx, query),
      search: (ctx, query) => this.search(ctx, query),
      exists: (ctx, refs) => this.exists(ctx, refs),
      create: (ctx, resource) => this.stampedCreate(ctx, resource),
      update: (ctx, resource, options) => this.stampedUpdate(ctx, resource, options),
      delete: (ctx, type, id, options) => this.stampedDelete(ctx, type, id, options),
    };
    this.single = hookedWrites(this.hooks, this.stamped, (work, options) => this.unitOfWork(work, options));
  }

  override create(ctx: RequestContext, resource: AnyResource) {
    return this.single.create(ctx, resource);
  }

  override update(ctx: RequestContext, resource: AnyResource, options?: WriteOptions) {
    return this.single.update(ctx, resource, options);
  }

  override delete(ctx: RequestContext, resourceType: string, id: string, options?: WriteOptions) {
    return this.single.delete(ctx, resourceType, id, options);
  }

  onCommit(listener: CommitListener): Unsubscribe {
    return this.hooks.onCommit(listener);
  }

  private async stampedCreate(ctx: RequestContext, resource: AnyResource) {
    const record = await super.create(ctx, resource);
    await this.changes.committed([resource.resourceType]);
    return record;
  }

  private async stampedUpdate(ctx: RequestContext, resource: AnyResource, options?: WriteOptions) {
    const result = await super.update(ctx, resource, options);
    await this.changes.committed([resource.resourceType]);
    return result;
  }

  private async stampedDelete(ctx: RequestContext, resourceType: string, id: string, options?: WriteOptions) {
    const record = await super.delete(ctx, resourceType, id, options);
    await this.changes.committed([resourceType]);
    return record;
  }

  changeStamp(resourceTypes: readonly string[]): Promise<string> {
    return this.changes.stamp(resourceTypes);
  }

  ensureIndexes(): Promise<void> {
    return ensureIndexes(this.db);
  }

  // async: a standalone server's 501 must reach the caller as a rejected promise, never a synchronous throw.
  async unitOfWork<T>(work: (tx: StorageOps) => Promise<T>, options?: UnitOfWorkOptions): Promise<T> {
    return this.hooks.unit((body, unitOptions) => this.runUnit(body, unitOptions), work, options);
  }

  private runUnit<T>(work: (tx: StorageOps) => Promise<T>, options: UnitOfWorkOptions = {}): Promise<T> {
    const strategy = unitStrategy(this.supportsTransactions, options);
    // The plain operations count their own writes as they are acknowledged (no transaction to join).
    if (strategy.kind === 'lease') return withLease(this.locks, strategy.guardKey, () => work(this.stamped));
    return this.inTransaction(async (session) => {
      if (strategy.guardKey !== undefined) await touchTransactionGuard(this.locks, strategy.guardKey, session);
      // A fresh set per attempt: withTransaction may run the body again.
      const written = new Set<string>();
      const result = await work(recordingWrites(this.transactionOps(session), written));
      await this.changes.committed(written, session);
      return result;
    });
  }

  /**
   * The access log (port.ts): with transactions, one unit of work, all or
   * nothing; standalone, where a unit without a guard cannot run, one create
   * per event, idempotent by event id (append-records.ts), so the log works
   * on every topology. Past the commit hooks, which never see the log (port.ts).
   */
  async appendRecords(resources: AnyResource[]): Promise<void> {
    const ctx = systemContext('', 'audit');
    if (!this.supportsTransactions) return appendIdempotently(this.stamped, ctx, resources);
    await this.runUnit(async (tx) => {
      for (const resource of resources) await tx.create(ctx, resource);
    });
  }

  async completePendingHistory(): Promise<number> {
    const pending = await this.versionCollections.resources.find({ historyPending: true }).toArray();
    if (pending.length > 0) await new VersionWriter(this.versionCollections, this.indexer).recordHistory(pending);
    return pending.length;
  }

  close(): Promise<void> {
    return this.client.close();
  }

  private async inTransaction<T>(body: (session: ClientSession) => Promise<T>): Promise<T> {
    const session = this.client.startSession();
    try {
      return await session.withTransaction(() => body(session), {
        readConcern: { level: 'snapshot' },
        writeConcern: { w: 'majority' },
        readPreference: 'primary',
      });
    } finally {
      await session.endSession();
    }
  }

  private transactionOps(session: ClientSession): StorageOps {
    return new MongoOps(this.versionCollections, this.indexer, {
      session,
      auditLog: new MongoAuditLog(this.audit, this.auditIndexer, session),
      beforeSearch: (query) => touchTransactionGuard(this.locks, guardKey(query), session),
      touchGuard: (key) => touchTransactionGuard(this.locks, namedGuardKey(key), session),
    });
  }
}
