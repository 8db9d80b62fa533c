import { MongoClient, type ClientSession, type Collection, type Db } from 'mongodb';
import { FhirError } from '../../errors';
import type { Indexer } from '../../search/index-entry';
import type { SearchQuery } from '../../search/query';
import type { Storage, StorageOps } from '../port';
import type { HistoryDocument, ResourceDocument } from './documents';
import { guardKey } from './guard-key';
import { collectionNames, ensureIndexes } from './indexes';
import { touchTransactionGuard, withLease, type LockDocument } from './locks';
import { MongoOps } from './mongo-ops';
import { VersionWriter, type VersionCollections } from './version-writer';

export interface MongoStorageOptions {
  uri: string;
  dbName: string;
  indexer: Indexer;
}

/** The search criteria a guarded unit of work is serialized on: what it selects, not how it pages. */
export type GuardCriteria = Pick<SearchQuery, 'types' | 'where'>;

/**
 * The MongoDB storage: the port plus what only this adapter needs.
 *
 * Standalone server or replica set (decided once, at connection):
 * - replica set / sharded cluster: `unitOfWork` is a multi-document
 *   transaction (snapshot reads, majority commit) and every search inside it
 *   takes a guard document (locks.ts) so that two "search, then create" units
 *   over the same criteria cannot both create. `work` may run more than once
 *   (withTransaction retries transient errors): it must only touch `tx`.
 * - standalone: MongoDB has no transactions, so `unitOfWork` answers 501.
 *   Single writes stay safe (version-conditional writes, unique indexes).
 *   Conditional interactions use `guardedUnitOfWork` instead.
 */
export interface MongoStorage extends Storage {
  readonly supportsTransactions: boolean;
  /** Creates every index the adapter relies on (see indexes.ts); done by createMongoStorage, idempotent. */
  ensureIndexes(): Promise<void>;
  /**
   * Runs a "search, then write" unit (conditional create, update, delete)
   * exclusive with every other guarded unit over the same criteria (the same
   * types and conditions, in any order), on either topology:
   * - replica set: `unitOfWork`, with the criteria's guard taken first;
   * - standalone: under a lease on the criteria (locks.ts), with plain
   *   operations. Not atomic there: meant for units that write at most once,
   *   which is what the conditional interactions do.
   * Like SQLite's global lock it does not stop an unconditional write that
   * happens to match the criteria.
   */
  guardedUnitOfWork<T>(criteria: GuardCriteria, work: (tx: StorageOps) => Promise<T>): Promise<T>;
  /** Writes the history rows that crashed writers left pending (see version-writer.ts); returns how many. Run at start-up. */
  completePendingHistory(): Promise<number>;
}

export async function createMongoStorage(options: MongoStorageOptions): Promise<MongoStorage> {
  const client = await MongoClient.connect(options.uri);
  try {
    const db = client.db(options.dbName);
    const storage = new MongoStorageImpl(client, db, options.indexer, await topologySupportsTransactions(db));
    await storage.ensureIndexes();
    await storage.completePendingHistory();
    return storage;
  } catch (error) {
    await client.close();
    throw error;
  }
}

/** Transactions need a replica set (`hello` names a set) or a sharded cluster (mongos answers `isdbgrid`). */
async function topologySupportsTransactions(db: Db): Promise<boolean> {
  const hello = await db.admin().command({ hello: 1 });
  return typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
}

const transactionsUnsupported = () =>
  new FhirError(501, [
    {
      severity: 'error',
      code: 'not-supported',
      diagnostics:
        'Transactions are not available: the MongoDB server is standalone, and multi-document transactions need a replica set (a single-node replica set will do)',
    },
  ]);

class MongoStorageImpl extends MongoOps implements MongoStorage {
  private readonly versionCollections: VersionCollections;
  private readonly locks: Collection<LockDocument>;

  constructor(
    private readonly client: MongoClient,
    private readonly db: Db,
    private readonly indexer: Indexer,
    readonly supportsTransactions: boolean,
  ) {
    const collections = {
      resources: db.collection<ResourceDocument>(collectionNames.resources),
      history: db.collection<HistoryDocument>(collectionNames.history),
    };
    super(collections, indexer);
    this.versionCollections = collections;
    this.locks = db.collection<LockDocument>(collectionNames.locks);
  }

  ensureIndexes(): Promise<void> {
    return ensureIndexes(this.db);
  }

  unitOfWork<T>(work: (tx: StorageOps) => Promise<T>): Promise<T> {
    return this.inTransaction((session) => work(this.transactionOps(session)));
  }

  guardedUnitOfWork<T>(criteria: GuardCriteria, work: (tx: StorageOps) => Promise<T>): Promise<T> {
    const key = guardKey(criteria);
    if (!this.supportsTransactions) return withLease(this.locks, key, () => work(this));
    return this.inTransaction(async (session) => {
      await touchTransactionGuard(this.locks, key, session);
      return work(this.transactionOps(session));
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
    if (!this.supportsTransactions) throw transactionsUnsupported();
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
      beforeSearch: (query) => touchTransactionGuard(this.locks, guardKey(query), session),
    });
  }
}
