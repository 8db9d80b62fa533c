import type { Database, Statement } from 'better-sqlite3';
import { badRequest, conflict, preconditionFailed } from '../../errors';
import type { AnyResource } from '../../fhir/types';
import type { IndexEntry, Indexer } from '../../search/index-entry';
import type { SearchQuery } from '../../search/query';
import type { HistoryPage, HistoryQuery, SearchResult, UpdateResult, VersionRecord, WriteOptions } from '../port';
import { compileHistory } from './history-sql';
import { storedIndexTables, type IndexKind } from './index-tables';
import { compileSearch, resourceColumns } from './search-sql';

/** A row of `resources` or `history`, as selected by every reader. */
interface VersionRow {
  type: string;
  id: string;
  version_id: number;
  last_updated: string;
  deleted: number;
  json: string | null;
}

/** What a write needs to know about the current version. */
interface CurrentRow {
  pk: number;
  version_id: number;
  last_updated: string;
  deleted: number;
}

/** Dynamic SQL (search, history) comes in a bounded number of shapes; beyond this many something is generating junk. */
const maxCachedStatements = 500;

/**
 * The storage operations, synchronous, over one connection. Which connection
 * and under which lock is the caller's business (sqlite-storage.ts). Every
 * write runs in its own transaction, or in a savepoint when a unit of work has
 * one open, so a failed write leaves nothing behind either way.
 */
export class ResourceStore {
  private readonly selectCurrent: Statement;
  private readonly selectCurrentForWrite: Statement;
  private readonly selectVersion: Statement;
  private readonly insertCurrent: Statement;
  private readonly updateCurrent: Statement;
  private readonly insertHistory: Statement;
  private readonly insertIndex: Map<IndexKind, { statement: Statement; values: (entry: IndexEntry) => unknown[] }>;
  private readonly deleteIndex: Statement[];
  private readonly dynamic = new Map<string, Statement>();

  constructor(
    private readonly db: Database,
    private readonly indexer: Indexer,
  ) {
    this.selectCurrent = db.prepare(`SELECT ${resourceColumns} FROM resources r WHERE r.type = ? AND r.id = ?`);
    this.selectCurrentForWrite = db.prepare('SELECT pk, version_id, last_updated, deleted FROM resources WHERE type = ? AND id = ?');
    this.selectVersion = db.prepare(
      'SELECT type, id, version_id, last_updated, deleted, json FROM history WHERE type = ? AND id = ? AND version_id = ?',
    );
    this.insertCurrent = db.prepare(
      'INSERT INTO resources (type, id, version_id, last_updated, deleted, json) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.updateCurrent = db.prepare('UPDATE resources SET version_id = ?, last_updated = ?, deleted = ?, json = ? WHERE pk = ?');
    this.insertHistory = db.prepare(
      'INSERT INTO history (type, id, version_id, last_updated, deleted, json) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.insertIndex = new Map(
      storedIndexTables.map((table) => [table.kind, { statement: db.prepare(table.insert), values: table.values }]),
    );
    this.deleteIndex = storedIndexTables.map((table) => db.prepare(table.deleteAll));
  }

  read(type: string, id: string): VersionRecord | undefined {
    const row = this.selectCurrent.get(type, id) as VersionRow | undefined;
    return row && toRecord(row);
  }

  vread(type: string, id: string, versionId: number): VersionRecord | undefined {
    const row = this.selectVersion.get(type, id, versionId) as VersionRow | undefined;
    return row && toRecord(row);
  }

  history(query: HistoryQuery): HistoryPage {
    const { pageSql, countSql, params } = compileHistory(query);
    return this.page(pageSql, countSql, params, query.count, query.offset, true) as HistoryPage;
  }

  search(query: SearchQuery): SearchResult {
    const { pageSql, countSql, params } = compileSearch(query);
    return this.page(pageSql, countSql, params, query.count, query.offset, query.total !== 'none');
  }

  create(now: Date, resource: AnyResource): VersionRecord {
    return this.writeTransaction(() => {
      const { resourceType, id } = identity(resource);
      if (this.current(resourceType, id)) throw conflict(`${resourceType}/${id} already exists`);
      return this.putVersion(now, resourceType, id, undefined, resource);
    });
  }

  update(now: Date, resource: AnyResource, options: WriteOptions = {}): UpdateResult {
    return this.writeTransaction(() => {
      const { resourceType, id } = identity(resource);
      const current = this.current(resourceType, id);
      checkExpectedVersion(current, options, `${resourceType}/${id}`);
      const record = this.putVersion(now, resourceType, id, current, resource);
      return { record, created: current === undefined || current.deleted === 1 };
    });
  }

  delete(now: Date, resourceType: string, id: string, options: WriteOptions = {}): VersionRecord | undefined {
    return this.writeTransaction(() => {
      const current = this.current(resourceType, id);
      if (current === undefined || current.deleted === 1) return undefined;
      checkExpectedVersion(current, options, `${resourceType}/${id}`);
      return this.putVersion(now, resourceType, id, current, undefined);
    });
  }

  /**
   * better-sqlite3 turns this into BEGIN IMMEDIATE ... COMMIT, or into a
   * SAVEPOINT when a unit of work already holds a transaction on this connection.
   */
  private writeTransaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  private current(type: string, id: string): CurrentRow | undefined {
    return this.selectCurrentForWrite.get(type, id) as CurrentRow | undefined;
  }

  /** Writes the next version of a resource (a tombstone when `resource` is undefined) and its index entries. */
  private putVersion(
    now: Date,
    type: string,
    id: string,
    current: CurrentRow | undefined,
    resource: AnyResource | undefined,
  ): VersionRecord {
    const versionId = (current?.version_id ?? 0) + 1;
    const lastUpdated = notBefore(now.toISOString(), current?.last_updated);
    const stored = resource && withMeta(resource, versionId, lastUpdated);
    // Indexed before anything is written: an indexer that throws leaves nothing behind.
    const entries = stored ? this.indexer(stored) : [];
    const json = stored ? JSON.stringify(stored) : null;
    const deleted = stored ? 0 : 1;
    let pk: number;
    if (current) {
      pk = current.pk;
      this.updateCurrent.run(versionId, lastUpdated, deleted, json, pk);
      if (current.deleted === 0) for (const statement of this.deleteIndex) statement.run(pk);
    } else {
      pk = Number(this.insertCurrent.run(type, id, versionId, lastUpdated, deleted, json).lastInsertRowid);
    }
    this.insertHistory.run(type, id, versionId, lastUpdated, deleted, json);
    this.insertEntries(pk, entries);
    const record: VersionRecord = { resourceType: type, id, versionId, lastUpdated, deleted: !stored };
    if (stored) record.resource = stored;
    return record;
  }

  private insertEntries(pk: number, entries: IndexEntry[]): void {
    for (const entry of entries) {
      const table = this.insertIndex.get(entry.kind);
      // No table for this kind yet (see index-tables.ts): nothing can search it either.
      if (table) table.statement.run(pk, ...table.values(entry));
    }
  }

  private page(
    pageSql: string,
    countSql: string,
    params: unknown[],
    count: number,
    offset: number,
    withTotal: boolean,
  ): SearchResult {
    // One read transaction, so that the page and the total see the same snapshot.
    return this.db.transaction(() => {
      const rows = count > 0 ? (this.statement(pageSql).all(...params, count, offset) as VersionRow[]) : [];
      const result: SearchResult = { records: rows.map(toRecord) };
      if (withTotal) result.total = (this.statement(countSql).get(...params) as { total: number }).total;
      return result;
    })();
  }

  private statement(sql: string): Statement {
    let statement = this.dynamic.get(sql);
    if (statement === undefined) {
      if (this.dynamic.size >= maxCachedStatements) this.dynamic.clear();
      statement = this.db.prepare(sql);
      this.dynamic.set(sql, statement);
    }
    return statement;
  }
}

function toRecord(row: VersionRow): VersionRecord {
  const record: VersionRecord = {
    resourceType: row.type,
    id: row.id,
    versionId: row.version_id,
    lastUpdated: row.last_updated,
    deleted: row.deleted === 1,
  };
  if (row.json !== null) record.resource = JSON.parse(row.json) as AnyResource;
  return record;
}

function identity(resource: AnyResource): { resourceType: string; id: string } {
  const { resourceType, id } = resource;
  if (typeof resourceType !== 'string' || resourceType === '') throw badRequest('The resource has no resourceType');
  if (typeof id !== 'string' || id === '') throw badRequest('The resource has no id');
  return { resourceType, id };
}

/** The current version counts tombstones: If-Match on a deleted resource names the tombstone's version. */
function checkExpectedVersion(current: CurrentRow | undefined, options: WriteOptions, what: string): void {
  if (options.expectedVersion === undefined || current?.version_id === options.expectedVersion) return;
  const actual = current ? `version ${current.version_id}` : 'no version';
  throw preconditionFailed(`${what}: expected version ${options.expectedVersion}, found ${actual}`);
}

/** A clock that stepped back (or an older request committing late) must not make a version older than its predecessor. */
function notBefore(instant: string, previous: string | undefined): string {
  return previous !== undefined && previous > instant ? previous : instant;
}

/** The body as stored: meta first after the identity, with the storage-owned versionId and lastUpdated. */
function withMeta(resource: AnyResource, versionId: number, lastUpdated: string): AnyResource {
  const { resourceType, id, meta, ...rest } = resource;
  return { resourceType, id, meta: { ...meta, versionId: String(versionId), lastUpdated }, ...rest } as AnyResource;
}
