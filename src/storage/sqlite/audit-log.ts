/**
 * The access log on SQLite: AuditEvents in a database of their own (the file
 * `<name>-audit.db` beside the main one, attached to the server's connections
 * as `audit`), not in the generic resource tables. One row per event with the
 * body stored once, plus one narrow term row per token or reference value the
 * log is searched by (audit-log-search.ts):
 *
 * | table / index | serves |
 * | --- | --- |
 * | `audit_events(seq)` rowid | the join from the terms |
 * | `audit_events(id)` unique | read, vread, `_id`, the idempotent append |
 * | `audit_events(recorded_low, id)` | `date` (all prefixes), `_sort=date`/`-date`, keyset paging |
 * | `audit_events(last_updated, id)` | `_sort=_lastUpdated` (the server's own readers) |
 * | `audit_terms(param, value, system, event)` WITHOUT ROWID | `patient`, `agent`, `entity`, `action`, `outcome`, `subtype`, `type`, `purpose` (and `_security`, `source` for the consent filter) |
 *
 * Multi-valued parameters go to the child table rather than JSON columns: an
 * event names several agents and entities, and a clustered (param, value)
 * key answers "the events of Patient/p" with one range of one B-tree.
 * Every event is version 1 forever: the API refuses updates and deletes.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { AccessFilter } from '../../context';
import { conflict, FhirError } from '../../errors';
import type { AnyResource } from '../../fhir/types';
import { AUDIT_LOG_STORED_TERMS, AUDIT_LOG_TYPE } from '../../search/audit-log-search';
import type { Indexer } from '../../search/index-entry';
import type { Condition, CursorPosition, ParamCondition, SearchQuery, SearchValue } from '../../search/query';
import type { SearchResult, VersionRecord } from '../port';
import { identity, stampResource } from '../versioning';
import { SortOrder, type SortTerm } from './sort-sql';
import { and, inList, or, raw, sql, type Sql } from './sql-fragment';
import { rangeMatch } from './value-sql';

/** The log's tables in the database named `schema` (`audit` when attached, `main` in the worker's own connection). */
export function createAuditLogSchema(db: Database, schema: string): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${schema}.audit_events (
      seq INTEGER PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      recorded_low INTEGER,
      recorded_high INTEGER,
      last_updated TEXT NOT NULL,
      json TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ${schema}.audit_events_recorded ON audit_events (recorded_low, id);
    CREATE INDEX IF NOT EXISTS ${schema}.audit_events_updated ON audit_events (last_updated, id);
    CREATE TABLE IF NOT EXISTS ${schema}.audit_terms (
      param TEXT NOT NULL,
      value TEXT NOT NULL,
      system TEXT NOT NULL,
      event INTEGER NOT NULL,
      PRIMARY KEY (param, value, system, event)
    ) WITHOUT ROWID;
  `);
}

/** The log file of a main database file: `data/concord.db` → `data/concord-audit.db`. */
export function auditLogPath(mainPath: string): string {
  const dot = mainPath.lastIndexOf('.');
  const slash = Math.max(mainPath.lastIndexOf('/'), mainPath.lastIndexOf('\\'));
  return dot > slash ? `${mainPath.slice(0, dot)}-audit${mainPath.slice(dot)}` : `${mainPath}-audit.db`;
}

interface EventRow {
  id: string;
  last_updated: string;
  json: string;
  [sortValue: string]: unknown;
}

interface Term {
  param: string;
  value: string;
  system: string;
}

const STORED = new Set(AUDIT_LOG_STORED_TERMS);
const notSupported = (message: string) => FhirError.of(400, 'not-supported', message);
const maxCachedStatements = 200;

/** The row alias every query of the log uses. */
const E = 'e';

/**
 * The log's operations, synchronous, over one connection on which the log's
 * tables are visible (unqualified names: SQLite finds them in the attached
 * database). Which connection and under which lock is the caller's business,
 * as for ResourceStore.
 */
export class AuditLogStore {
  private readonly insertEvent: Statement;
  private readonly insertTerm: Statement;
  private readonly selectById: Statement;
  private readonly dynamic = new Map<string, Statement>();

  constructor(
    private readonly db: Database,
    private readonly indexer: Indexer,
  ) {
    this.insertEvent = db.prepare('INSERT INTO audit_events (id, recorded_low, recorded_high, last_updated, json) VALUES (?, ?, ?, ?, ?)');
    this.insertTerm = db.prepare('INSERT OR IGNORE INTO audit_terms (param, value, system, event) VALUES (?, ?, ?, ?)');
    this.selectById = db.prepare('SELECT id, last_updated, json FROM audit_events WHERE id = ?');
  }

  /** Stores new events (meta stamped as version 1 at `now`), inside the caller's transaction; an id already stored fails it. */
  append(now: Date, events: readonly AnyResource[]): VersionRecord[] {
    return events.map((event) => this.put(stampResource(event, 1, now.toISOString())));
  }

  /**
   * Stores events whose body is already stamped (the migration from the
   * resource tables, keeping their meta), skipping ids already stored.
   */
  appendStamped(events: readonly AnyResource[]): number {
    let stored = 0;
    for (const event of events) {
      if (this.selectById.get(event.id)) continue;
      this.put(event);
      stored++;
    }
    return stored;
  }

  create(now: Date, event: AnyResource): VersionRecord {
    return this.db
      .transaction(() => {
        const { id } = identity(event);
        if (this.selectById.get(id)) throw conflict(`${AUDIT_LOG_TYPE}/${id} already exists`);
        return this.put(stampResource(event, 1, now.toISOString()));
      })
      .immediate();
  }

  read(id: string, access?: AccessFilter): VersionRecord | undefined {
    const hidden = this.accessSql(access);
    const row = (hidden ? this.get(sql`SELECT id, last_updated, json FROM audit_events ${raw(E)} WHERE ${raw(E)}.id = ${id} AND ${hidden}`) : this.selectById.get(id)) as
      | EventRow
      | undefined;
    return row && toRecord(row);
  }

  /** The ids of `ids` stored and visible. */
  exists(ids: readonly string[], access?: AccessFilter): string[] {
    if (ids.length === 0) return [];
    const hidden = this.accessSql(access);
    const rows = this.all(sql`SELECT id FROM audit_events ${raw(E)} WHERE ${inList(raw(`${E}.id`), [...ids])}${hidden ? sql` AND ${hidden}` : raw('')}`) as Array<{ id: string }>;
    return rows.map((row) => row.id);
  }

  /** Every event has exactly one version. */
  vread(id: string, versionId: number, access?: AccessFilter): VersionRecord | undefined {
    return versionId === 1 ? this.read(id, access) : undefined;
  }

  /** A page (keyset or offset) and the exact count of the matches, in one read transaction. */
  search(query: SearchQuery, access?: AccessFilter): SearchResult {
    if (query.include?.length || query.revinclude?.length) throw notSupported('The access log cannot be searched with _include or _revinclude');
    const where = and([...query.where.map((c) => this.condition(c)), ...(access ? [this.accessSql(access) ?? raw('1')] : [])]);
    const order = new SortOrder(E, query.sort, ['AuditEvent'], sortTerm);
    return this.db.transaction(() => {
      const result: SearchResult = { records: [] };
      if (query.count > 0) this.fillPage(result, query, where, order);
      // Exact, whatever the number: the count walks one narrow index, never the bodies.
      if (query.total !== 'none') result.total = (this.get(sql`SELECT count(*) AS total FROM audit_events ${raw(E)} WHERE ${where}`) as { total: number }).total;
      return result;
    })();
  }

  private fillPage(result: SearchResult, query: SearchQuery, where: Sql, order: SortOrder): void {
    const keys = order.keys.length > 0 ? sql`, ${order.selectList()}` : raw('');
    const select = sql`SELECT ${raw(E)}.id, ${raw(E)}.last_updated, ${raw(E)}.json${keys} FROM audit_events ${raw(E)} WHERE ${where}`;
    const limit = query.count + 1;
    const backwards = query.before !== undefined;
    const position: CursorPosition | undefined = query.after ?? query.before;
    const page = position
      ? sql`${select} AND ${order.beyond(position, backwards)} ORDER BY ${order.orderBy(backwards)} LIMIT ${limit}`
      : sql`${select} ORDER BY ${order.orderBy()} LIMIT ${limit} OFFSET ${query.offset}`;
    const fetched = this.all(page) as EventRow[];
    const beyondPage = fetched.length > query.count;
    const rows = fetched.slice(0, query.count);
    if (backwards) rows.reverse();
    result.records = rows.map(toRecord);
    const [firstRow, lastRow] = [rows[0], rows.at(-1)];
    if (firstRow && lastRow) {
      result.first = order.position(firstRow, AUDIT_LOG_TYPE, firstRow.id);
      result.last = order.position(lastRow, AUDIT_LOG_TYPE, lastRow.id);
    }
    // Is there a match on the other side of the position (the row at it included)?
    const other = (at: CursorPosition, back: boolean) =>
      (this.get(sql`SELECT EXISTS (SELECT 1 FROM audit_events ${raw(E)} WHERE ${where} AND NOT ${order.beyond(at, back)}) AS found`) as { found: number })
        .found === 1;
    const hasMore = query.before ? other(query.before, true) : beyondPage;
    const hasPrevious = query.after ? other(query.after, false) : query.before ? beyondPage : query.offset > 0;
    if (hasMore) result.hasMore = true;
    if (hasPrevious) result.hasPrevious = true;
  }

  private put(stored: AnyResource): VersionRecord {
    const { id } = identity(stored);
    const lastUpdated = stored.meta?.lastUpdated ?? new Date().toISOString();
    // Indexed before anything is written: an indexer that throws leaves nothing behind.
    const entries = this.indexer(stored);
    const recorded = entries.find((entry) => entry.param === 'date' && entry.kind === 'date');
    const terms: Term[] = [];
    for (const entry of entries) {
      if (!STORED.has(entry.param)) continue;
      if (entry.kind === 'token' && entry.code !== null) terms.push({ param: entry.param, value: entry.code, system: entry.system ?? '' });
      else if (entry.kind === 'reference' && entry.ref !== null) terms.push({ param: entry.param, value: entry.ref, system: '' });
    }
    const seq = this.insertEvent.run(id, recorded?.kind === 'date' ? recorded.low : null, recorded?.kind === 'date' ? recorded.high : null, lastUpdated, JSON.stringify(stored))
      .lastInsertRowid;
    for (const term of terms) this.insertTerm.run(term.param, term.value, term.system, seq);
    return { resourceType: AUDIT_LOG_TYPE, id, versionId: 1, lastUpdated, deleted: false, resource: stored };
  }

  /** The access filter's conditions on AuditEvent, or undefined when it restricts nothing. */
  private accessSql(access: AccessFilter | undefined): Sql | undefined {
    const conditions = access?.conditionsFor(AUDIT_LOG_TYPE) ?? [];
    return conditions.length === 0 ? undefined : and(conditions.map((c) => this.condition(c)));
  }

  /** One condition of the query or of the access filter, as a test of the row `e`. */
  private condition(condition: Condition): Sql {
    switch (condition.kind) {
      case 'constant':
        return raw(condition.value ? '1' : '0');
      case 'any':
        return or(condition.of.map((group) => and(group.map((c) => this.condition(c)))));
      case 'not':
        return sql`NOT (${this.condition(condition.condition)})`;
      case 'param':
        return paramCondition(condition);
      default:
        throw notSupported('The access log cannot be searched with chains or _has');
    }
  }

  private all(statement: Sql): unknown[] {
    return this.statement(statement.text).all(...statement.params);
  }

  private get(statement: Sql): unknown {
    return this.statement(statement.text).get(...statement.params);
  }

  private statement(text: string): Statement {
    let statement = this.dynamic.get(text);
    if (statement === undefined) {
      if (this.dynamic.size >= maxCachedStatements) this.dynamic.clear();
      statement = this.db.prepare(text);
      this.dynamic.set(text, statement);
    }
    return statement;
  }
}

/** `date` sorts by the `recorded` columns (ascending by the start, descending by the end), events without one last. */
function sortTerm(code: string, descending: boolean): SortTerm {
  if (code !== 'date') throw notSupported(`The access log is sorted by date (or -date), not by ${code}`);
  return { value: raw(`${E}.${descending ? 'recorded_high' : 'recorded_low'}`), descending, nullable: true };
}

function paramCondition(condition: ParamCondition): Sql {
  const { code, modifier, values } = condition;
  if (modifier !== undefined) throw notSupported(`${code}: the modifier :${modifier} is not supported on the access log`);
  if (code === '_id') return inList(raw(`${E}.id`), values.map((value) => (value.kind === 'token' ? (value.code ?? '') : '')));
  if (code === 'date') return or(values.map((value) => dateTest(code, value)));
  if (!STORED.has(code)) throw notSupported(`The access log is not searched by ${code}`);
  const tests = values.map((value) => termTest(code, value));
  return sql`${raw(E)}.seq IN (SELECT event FROM audit_terms WHERE param = ${code} AND ${or(tests)})`;
}

function dateTest(code: string, value: SearchValue): Sql {
  if (value.kind !== 'date') throw notSupported(`${code}: expected a date`);
  return rangeMatch(value.prefix, raw(`${E}.recorded_low`), raw(`${E}.recorded_high`), value.low, value.high);
}

/** A token (`code`, `system|code`, `|code`, `system|`) or a reference (`Type/id`, an id over the target types) against the term rows. */
function termTest(code: string, value: SearchValue): Sql {
  if (value.kind === 'token') {
    const system = value.system === null ? sql` AND system = ''` : value.system !== undefined ? sql` AND system = ${value.system}` : raw('');
    if (value.code === undefined) return value.system === undefined ? raw('1') : sql`(1${system})`;
    return sql`(value = ${value.code}${system})`;
  }
  if (value.kind === 'reference') {
    if (value.ref !== undefined) return sql`value = ${value.ref}`;
    if (value.id !== undefined && value.targetTypes?.length) return inList(raw('value'), value.targetTypes.map((type) => `${type}/${value.id}`));
    if (value.id !== undefined) return sql`(value = ${value.id} OR substr(value, -${value.id.length + 1}) = ${`/${value.id}`})`;
  }
  throw notSupported(`${code}: this kind of value is not supported on the access log`);
}

function toRecord(row: EventRow): VersionRecord {
  return { resourceType: AUDIT_LOG_TYPE, id: row.id, versionId: 1, lastUpdated: row.last_updated, deleted: false, resource: JSON.parse(row.json) as AnyResource };
}
