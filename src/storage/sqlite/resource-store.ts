import type { Database, Statement } from 'better-sqlite3';
import type { AccessFilter } from '../../context';
import { conflict, FhirError, preconditionFailed } from '../../errors';
import type { AnyResource } from '../../fhir/types';
import type { Indexer } from '../../search/index-entry';
import { AUDIT_LOG_TYPE } from '../../search/audit-log-search';
import { totalCapOf, type SearchQuery } from '../../search/query';
import type { HistoryPage, HistoryQuery, ResourceKey, SearchResult, UpdateResult, VersionRecord, WriteOptions } from '../port';
import { eventHistory, eventHistoryId } from '../audit-log-history';
import { withStoredBody } from '../../fhir/stored-body';
import { compartmentPatients } from '../../search/compartment-patients';
import { identity, notBefore, stampResource } from '../versioning';
import type { AuditLogStore } from './audit-log';
import { ConditionCompiler } from './condition-sql';
import { installValueSets } from './value-sets';
import { bumpChangeCountSql } from './change-counters';
import { EntryWriter } from './entry-writer';
import { compileHistory, visibleVersions } from './history-sql';
import { findIncluded } from './includes';
import { CompiledSearch, resourceColumns, type PageRequest } from './search-sql';
import { raw, sql, type Sql } from './sql-fragment';
import { decodePatients, encodePatients } from './stored-patients';

/** A row of `resources` or `history`, as selected by every reader (a search page adds `pk` and its sort values). */
interface VersionRow {
  type: string;
  id: string;
  version_id: number;
  last_updated: string;
  deleted: number;
  json: string | null;
  /** JSON array; NULL on a tombstone and on rows written before the column existed (stored-patients.ts). */
  patients: string | null;
}

interface PageRow extends VersionRow {
  pk: number;
  [sortValue: string]: unknown;
}

/** What a write needs to know about the current version. */
interface CurrentRow {
  pk: number;
  version_id: number;
  last_updated: string;
  deleted: number;
}

/** A driving set this large makes walking an index in the sort order the better plan for a page (see pagePlan). */
const broadDriver = 2000;

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
  private readonly bumpChangeCount: Statement;
  private readonly entries: EntryWriter;
  private readonly dynamic = new Map<string, Statement>();
  /**
   * One transaction function for every write, made once: better-sqlite3
   * builds a transaction function's four variants on each `transaction()`
   * call, which cost about as much as a small write's own statements.
   */
  private readonly inWriteTransaction: (fn: () => unknown) => unknown;

  constructor(
    private readonly db: Database,
    private readonly indexer: Indexer,
    /** The access log (audit-log.ts): AuditEvents are read and written there, never in the resource tables. */
    private readonly auditLog?: AuditLogStore,
  ) {
    this.inWriteTransaction = db.transaction((fn: () => unknown) => fn()).immediate;
    // Cached access conditions look their long lists up in Sets (condition-sql.ts).
    installValueSets(db);
    this.selectCurrent = db.prepare(`SELECT ${resourceColumns} FROM resources r WHERE r.type = ? AND r.id = ?`);
    this.selectCurrentForWrite = db.prepare('SELECT pk, version_id, last_updated, deleted FROM resources WHERE type = ? AND id = ?');
    this.selectVersion = db.prepare(
      'SELECT type, id, version_id, last_updated, deleted, json, patients FROM history WHERE type = ? AND id = ? AND version_id = ?',
    );
    this.insertCurrent = db.prepare(
      'INSERT INTO resources (type, id, version_id, last_updated, deleted, json, patients) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.updateCurrent = db.prepare('UPDATE resources SET version_id = ?, last_updated = ?, deleted = ?, json = ?, patients = ? WHERE pk = ?');
    this.bumpChangeCount = db.prepare(bumpChangeCountSql);
    this.insertHistory = db.prepare(
      'INSERT INTO history (type, id, version_id, last_updated, deleted, json, patients) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.entries = new EntryWriter(db);
  }

  /** Between transactions: the parameter ids created by the last one are trusted once committed (param-ids.ts). */
  settleParams(): void {
    this.entries.params.settle();
  }

  /** A resource hidden by the access filter reads as one that never existed. */
  read(type: string, id: string, access?: AccessFilter): VersionRecord | undefined {
    if (this.auditLog && type === AUDIT_LOG_TYPE) return this.auditLog.read(id, access);
    const hidden = access && new ConditionCompiler(access).accessByType('r', [type]);
    const row = (
      hidden
        ? this.get(sql`SELECT ${raw(resourceColumns)} FROM resources r WHERE r.type = ${type} AND r.id = ${id} AND ${hidden}`)
        : this.selectCurrent.get(type, id)
    ) as VersionRow | undefined;
    return row && toRecord(row);
  }

  /**
   * The `Type/id` keys of `refs` that are current, not deleted and visible.
   * The pairs travel as one JSON parameter, so the statement has one shape
   * whatever their number, and the (type, id) index answers each of them.
   */
  exists(refs: readonly ResourceKey[], access?: AccessFilter): Set<string> {
    if (refs.length === 0) return new Set();
    const log = this.auditLog;
    if (log && refs.some((ref) => ref.resourceType === AUDIT_LOG_TYPE)) {
      const events = refs.filter((ref) => ref.resourceType === AUDIT_LOG_TYPE).map((ref) => ref.id);
      const found = this.exists(refs.filter((ref) => ref.resourceType !== AUDIT_LOG_TYPE), access);
      for (const id of log.exists(events, access)) found.add(`${AUDIT_LOG_TYPE}/${id}`);
      return found;
    }
    const types = [...new Set(refs.map((ref) => ref.resourceType))];
    const hidden = access && new ConditionCompiler(access).accessByType('r', types);
    const pairs = JSON.stringify(refs.map((ref) => [ref.resourceType, ref.id]));
    const wanted = sql`r.deleted = 0 AND (r.type, r.id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(${pairs}))`;
    const rows = this.all(sql`SELECT r.type, r.id FROM resources r WHERE ${wanted}${hidden ? sql` AND ${hidden}` : raw('')}`) as Array<{
      type: string;
      id: string;
    }>;
    return new Set(rows.map((row) => `${row.type}/${row.id}`));
  }

  vread(type: string, id: string, versionId: number, access?: AccessFilter): VersionRecord | undefined {
    if (this.auditLog && type === AUDIT_LOG_TYPE) return this.auditLog.vread(id, versionId, access);
    const visible = visibleVersions(type, access);
    const row = (
      visible
        ? this.get(
            sql`SELECT h.type, h.id, h.version_id, h.last_updated, h.deleted, h.json, h.patients FROM history h WHERE h.type = ${type} AND h.id = ${id} AND h.version_id = ${versionId} AND ${visible}`,
          )
        : this.selectVersion.get(type, id, versionId)
    ) as VersionRow | undefined;
    return row && toRecord(row);
  }

  history(query: HistoryQuery, access?: AccessFilter): HistoryPage {
    if (this.auditLog && query.resourceType === AUDIT_LOG_TYPE) return eventHistory(query, this.auditLog.read(eventHistoryId(query), access));
    const compiled = compileHistory(query, access);
    // One read transaction, so that the page and the total see the same snapshot.
    return this.db.transaction(() => ({
      records: (this.all(compiled.page) as VersionRow[]).map(toRecord),
      total: (this.get(compiled.count) as { total: number }).total,
    }))();
  }

  search(query: SearchQuery, access?: AccessFilter): SearchResult {
    if (this.auditLog && query.types.includes(AUDIT_LOG_TYPE)) {
      if (query.types.length === 1) return this.auditLog.search(query, access);
      // System and compartment-wide searches cover the resource tables; the log is searched on its own.
      query = { ...query, types: query.types.filter((type) => type !== AUDIT_LOG_TYPE) };
    }
    const compiled = new CompiledSearch(query, access);
    // One read transaction: page, paging probes, total and includes see the same snapshot.
    return this.db.transaction(() => {
      const result: SearchResult = { records: [] };
      if (query.count > 0) this.fillPage(result, this.pagePlan(query, access, compiled), query, access);
      if (query.total !== 'none') {
        const cap = totalCapOf(query);
        const counted = (this.get(compiled.count(cap)) as { total: number }).total;
        if (cap !== undefined && counted > cap) result.totalExceeds = cap;
        else result.total = counted;
      }
      return result;
    })();
  }

  /**
   * A page sorted by `_id` or `_lastUpdated` can walk the (type, id) or
   * (type, last_updated) index and stop after `count + 1` matches; driven by
   * a broad condition it would read and sort every match first. A bounded
   * probe of the driving set decides which is cheaper.
   */
  private pagePlan(query: SearchQuery, access: AccessFilter | undefined, driven: CompiledSearch): CompiledSearch {
    const orderedByColumn = query.types.length === 1 && (query.sort[0]?.code === '_id' || query.sort[0]?.code === '_lastUpdated');
    const probe = orderedByColumn ? driven.driverSize(broadDriver) : undefined;
    if (!probe || (this.get(probe) as { total: number }).total < broadDriver) return driven;
    return new CompiledSearch(query, access, false);
  }

  /**
   * Reads `count + 1` rows in the paging direction (the extra row says
   * whether there is more that way) and probes the other direction once.
   * Flags are set only when true.
   */
  private fillPage(result: SearchResult, compiled: CompiledSearch, query: SearchQuery, access: AccessFilter | undefined): void {
    const request: PageRequest = query.after ? { after: query.after } : query.before ? { before: query.before } : { offset: query.offset };
    const fetched = this.all(compiled.page(request, query.count + 1)) as PageRow[];
    const beyondPage = fetched.length > query.count;
    const rows = fetched.slice(0, query.count);
    if ('before' in request) rows.reverse();
    result.records = rows.map(toRecord);
    const [firstRow, lastRow] = [rows[0], rows.at(-1)];
    if (firstRow && lastRow) {
      result.first = compiled.order.position(firstRow, firstRow.type, firstRow.id);
      result.last = compiled.order.position(lastRow, lastRow.type, lastRow.id);
    }
    const exists = (statement: Sql) => (this.get(statement) as { found: number }).found === 1;
    const hasMore = 'before' in request ? exists(compiled.existsUpTo(request.before, true)) : beyondPage;
    const hasPrevious =
      'after' in request ? exists(compiled.existsUpTo(request.after, false)) : 'before' in request ? beyondPage : request.offset > 0;
    if (hasMore) result.hasMore = true;
    if (hasPrevious) result.hasPrevious = true;
    if (rows.length > 0 && (query.include?.length || query.revinclude?.length)) {
      const included = findIncluded<PageRow>((statement) => this.all(statement), access, rows, query.include, query.revinclude);
      result.included = included.map(toRecord);
    }
  }

  create(now: Date, resource: AnyResource): VersionRecord {
    if (this.auditLog && resource.resourceType === AUDIT_LOG_TYPE) return this.auditLog.create(now, resource);
    return this.writeTransaction(() => {
      const { resourceType, id } = identity(resource);
      if (this.current(resourceType, id)) throw conflict(`${resourceType}/${id} already exists`);
      return this.putVersion(now, resourceType, id, undefined, resource);
    });
  }

  update(now: Date, resource: AnyResource, options: WriteOptions = {}): UpdateResult {
    if (this.auditLog && resource.resourceType === AUDIT_LOG_TYPE) throw immutableEvent();
    return this.writeTransaction(() => {
      const { resourceType, id } = identity(resource);
      const current = this.current(resourceType, id);
      checkExpectedVersion(current, options, `${resourceType}/${id}`);
      const record = this.putVersion(now, resourceType, id, current, resource);
      return { record, created: current === undefined || current.deleted === 1 };
    });
  }

  delete(now: Date, resourceType: string, id: string, options: WriteOptions = {}): VersionRecord | undefined {
    if (this.auditLog && resourceType === AUDIT_LOG_TYPE) throw immutableEvent();
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
    if (this.db.inTransaction) return this.inWriteTransaction(fn) as T;
    try {
      return this.inWriteTransaction(fn) as T;
    } finally {
      // Parameter ids created by this write are trusted only once it has committed (param-ids.ts).
      this.settleParams();
    }
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
    const stored = resource && stampResource(resource, versionId, lastUpdated);
    // Indexed before anything is written: an indexer that throws leaves nothing behind.
    const entries = stored ? this.indexer(stored) : [];
    const json = stored ? JSON.stringify(stored) : null;
    // From the entries just computed: the audit of later reads takes them from the row, not the body.
    const patients = stored ? compartmentPatients(type, id, entries) : undefined;
    const patientsColumn = encodePatients(patients);
    const deleted = stored ? 0 : 1;
    let pk: number;
    if (current) {
      pk = current.pk;
      this.updateCurrent.run(versionId, lastUpdated, deleted, json, patientsColumn, pk);
      if (current.deleted === 0) this.entries.deleteAll(pk);
    } else {
      pk = Number(this.insertCurrent.run(type, id, versionId, lastUpdated, deleted, json, patientsColumn).lastInsertRowid);
    }
    this.insertHistory.run(type, id, versionId, lastUpdated, deleted, json, patientsColumn);
    this.entries.insert(pk, type, entries);
    // In the write's transaction: every process on the file sees the change stamp move with it (change-counters.ts).
    this.bumpChangeCount.run(type);
    const record: VersionRecord = { resourceType: type, id, versionId, lastUpdated, deleted: !stored };
    if (stored) record.resource = stored;
    if (patients) record.patients = patients;
    return record;
  }

  private all(statement: Sql): unknown[] {
    return this.statement(statement.text).all(...statement.params);
  }

  private get(statement: Sql): unknown {
    return this.statement(statement.text).get(...statement.params);
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

/** The body stays the stored text until someone reads it (stored-body.ts): a plain read sends it as it is. */
function toRecord(row: VersionRow): VersionRecord {
  const record: VersionRecord = {
    resourceType: row.type,
    id: row.id,
    versionId: row.version_id,
    lastUpdated: row.last_updated,
    deleted: row.deleted === 1,
  };
  if (row.json !== null) withStoredBody(record, row.json);
  const patients = decodePatients(row.patients);
  if (patients) record.patients = patients;
  return record;
}

/** The access log is evidence (security/audit/immutable.ts refuses the same over the API). */
const immutableEvent = () => FhirError.of(405, 'not-supported', 'AuditEvents cannot be updated or deleted');

/** The current version counts tombstones: If-Match on a deleted resource names the tombstone's version. */
function checkExpectedVersion(current: CurrentRow | undefined, options: WriteOptions, what: string): void {
  if (options.expectedVersion === undefined || current?.version_id === options.expectedVersion) return;
  const actual = current ? `version ${current.version_id}` : 'no version';
  throw preconditionFailed(`${what}: expected version ${options.expectedVersion}, found ${actual}`);
}
