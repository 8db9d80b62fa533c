import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DEFAULT_SQLITE_CACHE_MB } from '../../config';
import type { RequestContext } from '../../context';
import type { AnyResource } from '../../fhir/types';
import type { Indexer } from '../../search/index-entry';
import type { SearchQuery } from '../../search/query';
import { CommitHooks, hookedWrites, type UnitRunner } from '../commit-hooks';
import type { HistoryQuery, ResourceKey, Storage, StorageOps, WriteOptions } from '../port';
import { AppendWorker } from './append-worker';
import { AuditLogStore, auditLogPath, createAuditLogSchema } from './audit-log';
import { migrateAuditEvents } from './audit-log-migration';
import { reindexSqlite } from './reindex';
import { ResourceStore } from './resource-store';
import { applyPragmas, createSchema } from './schema';
import { ChangeCounters } from './change-counters';
import { GroupCommit } from './group-commit';
import { WriteLock } from './write-lock';

export interface SqliteStorageOptions {
  /** A database file (its folder is created) or ':memory:'. */
  path: string;
  indexer: Indexer;
  /** Indexes the access log's events (`indexer` by default): audit-log-indexer.ts gives the same entries for what the log keeps, for less. */
  auditIndexer?: Indexer;
  /**
   * fsync every commit (`synchronous = FULL`) so that commits also survive a
   * power cut, not only a crash of the process. Off by default: see schema.ts.
   */
  fsyncEveryCommit?: boolean;
  /** Page cache of each connection, in MB (schema.ts says why it matters). */
  cacheMb?: number;
  /**
   * Write `appendRecords` batches on a worker thread that indexes them with
   * the access log's indexer for this base URL (append-worker.ts, audit-log-indexer.ts). Only for a
   * file: a second connection to ':memory:' would be another database.
   */
  appendThread?: { baseUrl: string };
  /** Progress lines of start-up work (moving AuditEvents into the access log); stderr by default. */
  progress?: (line: string) => void;
}

/** Runs a synchronous store operation on the connection and under the lock its caller chose. */
type Access = <T>(operation: (store: ResourceStore) => T) => T | Promise<T>;

/**
 * Connections and isolation:
 * - One writer connection, used by every write and by everything inside a unit
 *   of work, behind a FIFO lock. Single writes are group-committed: those that
 *   arrive in one turn of the event loop share a transaction, each in its own
 *   savepoint (group-commit.ts); a unit of work holds the lock and a BEGIN IMMEDIATE
 *   transaction across its awaits, so it sees its own writes and nothing else
 *   joins it.
 * - For a file, one more connection for reads outside units of work: in WAL
 *   mode it sees only committed data and never waits for the lock.
 * - For ':memory:' a second connection would be a different database, so
 *   reads go to the writer connection; while a unit of work has a transaction
 *   open they queue behind the lock instead, and so never see uncommitted data.
 *
 * Inside a unit of work use only the `tx` it is given: calling this storage's
 * own writes (or, in memory, its reads) from inside would wait for the unit to end.
 */
export function createSqliteStorage(options: SqliteStorageOptions): Storage {
  const inMemory = options.path === ':memory:';
  if (!inMemory) mkdirSync(dirname(resolve(options.path)), { recursive: true });
  const pragmas = { fsyncEveryCommit: options.fsyncEveryCommit ?? false, cacheMb: options.cacheMb ?? DEFAULT_SQLITE_CACHE_MB };

  // The access log's own database (audit-log.ts), attached to each connection as `audit`.
  const logPath = inMemory ? ':memory:' : auditLogPath(options.path);
  const writerDb = new Database(options.path);
  applyPragmas(writerDb, { ...pragmas, readOnly: false });
  attachAuditLog(writerDb, logPath, pragmas.fsyncEveryCommit);
  createAuditLogSchema(writerDb, 'audit');
  // A database from before the current index tables gets them refilled before it serves anything.
  if (createSchema(writerDb).reindex) reindexSqlite(writerDb, options.indexer);
  const auditIndexer = options.auditIndexer ?? options.indexer;
  const writerLog = new AuditLogStore(writerDb, auditIndexer);
  migrateAuditEvents(writerDb, writerLog, options.progress ?? ((line) => process.stderr.write(`${line}\n`)));
  const writer = new ResourceStore(writerDb, options.indexer, writerLog);

  let readerDb = writerDb;
  let reader = writer;
  if (!inMemory) {
    readerDb = new Database(options.path);
    applyPragmas(readerDb, { ...pragmas, readOnly: true });
    attachAuditLog(readerDb, logPath, pragmas.fsyncEveryCommit);
    reader = new ResourceStore(readerDb, options.indexer, new AuditLogStore(readerDb, auditIndexer));
  }

  const lock = new WriteLock();
  const readCommitted: Access = (operation) =>
    reader !== writer || !writerDb.inTransaction ? operation(reader) : lock.run(() => operation(writer));
  const groupCommit = new GroupCommit(writerDb, lock, () => writer.settleParams());
  const writeAlone: Access = (operation) => groupCommit.run(() => operation(writer));

  // Other processes' commits are seen through the read connection, which this process never writes on (change-counters.ts).
  const changes = new ChangeCounters(inMemory ? undefined : readerDb);
  let closing: Promise<void> | undefined;
  const appendWorker =
    options.appendThread && !inMemory ? new AppendWorker({ path: options.path, baseUrl: options.appendThread.baseUrl, ...pragmas }) : undefined;

  // A unit holds the lock and one BEGIN IMMEDIATE transaction across its awaits (see above).
  const runUnit: UnitRunner = <T>(work: (tx: StorageOps) => Promise<T>): Promise<T> =>
    lock.run(async () => {
      let open = true;
      const inUnit: Access = (operation) => {
        // A tx kept beyond its unit would write outside any unit, or into the next one.
        if (!open) throw new Error('This unit of work is over: its operations can no longer be used');
        return operation(writer);
      };
      const written = new Set<string>();
      writerDb.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(new SqliteOps(inUnit, inUnit, (type) => written.add(type)));
        open = false;
        writerDb.exec('COMMIT');
        writer.settleParams();
        written.forEach((type) => changes.committed(type));
        return result;
      } catch (error) {
        open = false;
        // SQLite may already have rolled back (e.g. a full disk); a second ROLLBACK would throw and hide the cause.
        if (writerDb.inTransaction) writerDb.exec('ROLLBACK');
        writer.settleParams();
        throw error;
      }
    });
  const hooks = new CommitHooks({ atomicUnits: true });
  const unitOfWork: UnitRunner = (work) => hooks.unit(runUnit, work);
  const plain = new SqliteOps(readCommitted, writeAlone, (type) => changes.committed(type));

  return Object.assign(plain, hookedWrites(hooks, bound(plain), unitOfWork), {
    unitOfWork,
    onCommit: hooks.onCommit.bind(hooks),
    async changeStamp(resourceTypes: readonly string[]): Promise<string> {
      return changes.stamp(resourceTypes);
    },
    ...(appendWorker && {
      async appendRecords(resources: AnyResource[]): Promise<void> {
        await appendWorker.append(resources);
        new Set(resources.map((resource) => resource.resourceType)).forEach((type) => changes.committed(type));
      },
    }),
    close(): Promise<void> {
      // Behind the lock: a unit of work in flight finishes before its connection goes.
      closing ??= lock.run(async () => {
        await appendWorker?.close();
        if (readerDb !== writerDb) readerDb.close();
        writerDb.close();
      });
      return closing;
    },
  });
}

/** Attaches the access log's database as `audit`, in WAL mode like the main one (schema.ts says why). */
function attachAuditLog(db: Database.Database, path: string, fsyncEveryCommit: boolean): void {
  db.prepare('ATTACH DATABASE ? AS audit').run(path);
  if (path === ':memory:') return;
  db.pragma('audit.journal_mode = WAL');
  db.pragma(`audit.synchronous = ${fsyncEveryCommit ? 'FULL' : 'NORMAL'}`);
}

/** The single writes of `ops` as they are before the commit hooks take their place. */
function bound(ops: SqliteOps): Pick<StorageOps, 'create' | 'update' | 'delete'> {
  return { create: ops.create.bind(ops), update: ops.update.bind(ops), delete: ops.delete.bind(ops) };
}

/** The port's operations over a pair of access strategies (outside a unit of work, or inside one). */
class SqliteOps implements StorageOps {
  constructor(
    private readonly reading: Access,
    private readonly writing: Access,
    /** Told the type of each successful write, once it is committed (alone) or part of the unit (inside one). */
    private readonly wrote: (resourceType: string) => void,
  ) {}

  /** Runs a write and reports its type; the caller's continuation runs only after the report, so a stamp read after the write sees it. */
  private async write<T>(resourceType: string, operation: (store: ResourceStore) => T): Promise<T> {
    const result = await this.writing(operation);
    this.wrote(resourceType);
    return result;
  }

  async read(ctx: RequestContext, resourceType: string, id: string) {
    return this.reading((store) => store.read(resourceType, id, ctx.access));
  }

  async vread(ctx: RequestContext, resourceType: string, id: string, versionId: number) {
    return this.reading((store) => store.vread(resourceType, id, versionId, ctx.access));
  }

  async exists(ctx: RequestContext, refs: readonly ResourceKey[]) {
    return this.reading((store) => store.exists(refs, ctx.access));
  }

  async history(ctx: RequestContext, query: HistoryQuery) {
    return this.reading((store) => store.history(query, ctx.access));
  }

  async search(ctx: RequestContext, query: SearchQuery) {
    return this.reading((store) => store.search(query, ctx.access));
  }

  async create(ctx: RequestContext, resource: AnyResource) {
    return this.write(resource.resourceType, (store) => store.create(ctx.now, resource));
  }

  async update(ctx: RequestContext, resource: AnyResource, options?: WriteOptions) {
    return this.write(resource.resourceType, (store) => store.update(ctx.now, resource, options));
  }

  async delete(ctx: RequestContext, resourceType: string, id: string, options?: WriteOptions) {
    return this.write(resourceType, (store) => store.delete(ctx.now, resourceType, id, options));
  }
}
