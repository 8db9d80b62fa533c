/**
 * The access log on MongoDB: AuditEvents in a collection of their own,
 * `audit`, never in `resources`. One document per event, `_id` its id (so a
 * second insert of the same event is a duplicate key: the standalone
 * server's idempotent append, append-records.ts), with the body stored once
 * and the fields the log is searched by (audit-log-search.ts):
 *
 * - `terms`: [{p: param, v: code or `Type/id`, s: system or ''}] for the
 *   token and reference parameters; index `audit_by_term` {terms.p, terms.v, sortHigh: -1}.
 * - `date`: [{low, high}] of `recorded` (empty without one); index `audit_by_date` {sortLow: 1, _id: 1}.
 * - `sortLow` / `sortHigh`: `recorded`'s range with a missing one last in
 *   either direction, for `_sort=date` / `-date` and keyset paging; index
 *   `audit_by_date_desc` {sortHigh: -1, _id: 1}.
 * - `lastUpdated`: index `audit_by_last_updated` {lastUpdated: 1, _id: 1} (the server's own readers).
 *
 * The filter compiler is pure and the search runs over a reader interface,
 * so the differential test runs this code over mingo without a server.
 */
import type { ClientSession, Collection, Document } from 'mongodb';
import type { AccessFilter } from '../../context';
import { conflict, FhirError } from '../../errors';
import type { AnyResource } from '../../fhir/types';
import { AUDIT_LOG_STORED_TERMS, AUDIT_LOG_TYPE } from '../../search/audit-log-search';
import { MAX_INSTANT, MIN_INSTANT } from '../../search/date-range';
import type { Indexer } from '../../search/index-entry';
import type { Condition, CursorPosition, ParamCondition, SearchQuery, SearchValue, SortKey } from '../../search/query';
import type { SearchResult, VersionRecord } from '../port';
import { identity, stampResource } from '../versioning';
import { rangeMatch } from './entry-match';
import type { FindOptions } from './resource-reader';

export const AUDIT_COLLECTION = 'audit';

export interface AuditDocument {
  _id: string;
  lastUpdated: string;
  terms: Array<{ p: string; v: string; s: string }>;
  date: Array<{ low: number; high: number }>;
  sortLow: number;
  sortHigh: number;
  body: AnyResource;
}

/** The reads a log search makes: the driver's collection in the adapter, mingo in the differential test. */
export interface AuditReader {
  find(filter: Document, options?: FindOptions): Promise<Document[]>;
  count(filter: Document): Promise<number>;
}

const STORED = new Set(AUDIT_LOG_STORED_TERMS);
const notSupported = (message: string) => FhirError.of(400, 'not-supported', message);
const NOTHING: Document = { _id: { $in: [] } };

/** The document of a stamped event (meta.versionId and lastUpdated set). */
export function auditDocument(indexer: Indexer, stored: AnyResource): AuditDocument {
  const { id } = identity(stored);
  const entries = indexer(stored);
  const terms: AuditDocument['terms'] = [];
  const date: AuditDocument['date'] = [];
  for (const entry of entries) {
    if (entry.param === 'date' && entry.kind === 'date') date.push({ low: entry.low, high: entry.high });
    if (!STORED.has(entry.param)) continue;
    if (entry.kind === 'token' && entry.code !== null) terms.push({ p: entry.param, v: entry.code, s: entry.system ?? '' });
    else if (entry.kind === 'reference' && entry.ref !== null) terms.push({ p: entry.param, v: entry.ref, s: '' });
  }
  return {
    _id: id,
    lastUpdated: stored.meta?.lastUpdated ?? new Date().toISOString(),
    terms,
    date,
    sortLow: date[0]?.low ?? MAX_INSTANT,
    sortHigh: date[0]?.high ?? MIN_INSTANT,
    body: stored,
  };
}

export function auditRecord(doc: Pick<AuditDocument, '_id' | 'lastUpdated' | 'body'>): VersionRecord {
  return { resourceType: AUDIT_LOG_TYPE, id: doc._id, versionId: 1, lastUpdated: doc.lastUpdated, deleted: false, resource: doc.body };
}

/** The query's conditions and the access filter's, as one filter over `audit`. */
export function compileAuditFilter(where: readonly Condition[], access: AccessFilter | undefined): Document {
  const all = [...where, ...(access?.conditionsFor(AUDIT_LOG_TYPE) ?? [])].map(conditionFilter).filter((c) => Object.keys(c).length > 0);
  return all.length === 0 ? {} : { $and: all };
}

function conditionFilter(condition: Condition): Document {
  switch (condition.kind) {
    case 'constant':
      return condition.value ? {} : NOTHING;
    case 'any':
      return condition.of.length === 0 ? NOTHING : { $or: condition.of.map((group) => ({ $and: [{}, ...group.map(conditionFilter)] })) };
    case 'not':
      return { $nor: [conditionFilter(condition.condition)] };
    case 'param':
      return paramFilter(condition);
    default:
      throw notSupported('The access log cannot be searched with chains or _has');
  }
}

function paramFilter(condition: ParamCondition): Document {
  const { code, modifier, values } = condition;
  if (modifier !== undefined) throw notSupported(`${code}: the modifier :${modifier} is not supported on the access log`);
  if (code === '_id') return { _id: { $in: values.map((value) => (value.kind === 'token' ? (value.code ?? '') : '')) } };
  if (code === 'date') {
    return { $or: values.map((value) => (value.kind === 'date' ? { date: { $elemMatch: rangeMatch(value) } } : NOTHING)) };
  }
  if (!STORED.has(code)) throw notSupported(`The access log is not searched by ${code}`);
  return { $or: values.map((value) => ({ terms: { $elemMatch: { p: code, ...termMatch(code, value) } } })) };
}

function termMatch(code: string, value: SearchValue): Document {
  if (value.kind === 'token') {
    const system = value.system === null ? { s: '' } : value.system !== undefined ? { s: value.system } : {};
    return { ...(value.code !== undefined ? { v: value.code } : {}), ...system };
  }
  if (value.kind === 'reference') {
    if (value.ref !== undefined) return { v: value.ref };
    if (value.id !== undefined && value.targetTypes?.length) return { v: { $in: value.targetTypes.map((type) => `${type}/${value.id}`) } };
    if (value.id !== undefined) return { v: { $in: [value.id] } };
  }
  throw notSupported(`${code}: this kind of value is not supported on the access log`);
}

/** The sort's fields: `date` by the recorded range, `_lastUpdated`, then `_id` (always last, the tie-breaker). */
function sortFields(sort: readonly SortKey[]): Array<[string, 1 | -1]> {
  const fields: Array<[string, 1 | -1]> = [];
  for (const key of sort) {
    const direction = key.descending ? -1 : 1;
    if (key.code === 'date') fields.push([key.descending ? 'sortHigh' : 'sortLow', direction]);
    else if (key.code === '_lastUpdated') fields.push(['lastUpdated', direction]);
    else if (key.code === '_id') fields.push(['_id', direction]);
    else throw notSupported(`The access log is sorted by date (or -date), not by ${key.code}`);
  }
  if (!fields.some(([field]) => field === '_id')) fields.push(['_id', 1]);
  return fields;
}

/** Documents strictly beyond `values` in the order (`backwards`: strictly before). */
function beyond(fields: ReadonlyArray<[string, 1 | -1]>, values: ReadonlyArray<unknown>, backwards: boolean): Document {
  return {
    $or: fields.map(([field, direction], i) => ({
      ...Object.fromEntries(fields.slice(0, i).map(([f], j) => [f, values[j]])),
      [field]: { [(direction === 1) !== backwards ? '$gt' : '$lt']: values[i] },
    })),
  };
}

/** A page (offset or keyset) and the exact count; positions carry the sort fields' values, `_id` last. */
export async function searchAuditLog(reader: AuditReader, query: SearchQuery, access: AccessFilter | undefined): Promise<SearchResult> {
  if (query.include?.length || query.revinclude?.length) throw notSupported('The access log cannot be searched with _include or _revinclude');
  const filter = compileAuditFilter(query.where, access);
  const fields = sortFields(query.sort);
  const valuesOf = (doc: Document) => fields.map(([field]) => doc[field] as unknown);
  const result: SearchResult = { records: [] };
  if (query.count > 0) {
    const backwards = query.before !== undefined;
    const position: CursorPosition | undefined = query.after ?? query.before;
    const cursorValues = (at: CursorPosition) => [...at.values, at.id].slice(0, fields.length);
    const bounded = position ? { $and: [filter, beyond(fields, cursorValues(position), backwards)] } : filter;
    const sort = Object.fromEntries(fields.map(([field, direction]) => [field, backwards ? -direction : direction])) as Record<string, 1 | -1>;
    const fetched = await reader.find(bounded, { sort, skip: position ? 0 : query.offset, limit: query.count + 1 });
    const beyondPage = fetched.length > query.count;
    const docs = fetched.slice(0, query.count);
    if (backwards) docs.reverse();
    result.records = docs.map((doc) => auditRecord(doc as AuditDocument));
    const toPosition = (doc: Document): CursorPosition => ({ values: valuesOf(doc).slice(0, query.sort.length) as Array<string | number | null>, resourceType: AUDIT_LOG_TYPE, id: doc._id as string });
    const [first, last] = [docs[0], docs.at(-1)];
    if (first && last) [result.first, result.last] = [toPosition(first), toPosition(last)];
    const other = async (at: CursorPosition, back: boolean) =>
      (await reader.find({ $and: [filter, { $nor: [beyond(fields, cursorValues(at), back)] }] }, { limit: 1 })).length > 0;
    const hasMore = query.before ? await other(query.before, true) : beyondPage;
    const hasPrevious = query.after ? await other(query.after, false) : query.before ? beyondPage : query.offset > 0;
    if (hasMore) result.hasMore = true;
    if (hasPrevious) result.hasPrevious = true;
  }
  // Exact, whatever the number (audit_by_term / audit_by_date narrow it).
  if (query.total !== 'none') result.total = await reader.count(filter);
  return result;
}

const isDuplicateKey = (error: unknown) => typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;

/** The log's operations over the `audit` collection, in a transaction when given its session. */
export class MongoAuditLog {
  constructor(
    private readonly collection: Collection<AuditDocument>,
    private readonly indexer: Indexer,
    private readonly session?: ClientSession,
  ) {}

  reader(): AuditReader {
    const session = this.session;
    const collection = this.collection as unknown as Collection<Document>;
    return {
      async find(filter, options = {}) {
        let cursor = collection.find(filter, { session, ...(options.projection ? { projection: options.projection } : {}) });
        if (options.sort) cursor = cursor.sort(options.sort);
        if (options.skip) cursor = cursor.skip(options.skip);
        if (options.limit !== undefined) cursor = cursor.limit(options.limit);
        return cursor.toArray();
      },
      count: (filter) => collection.countDocuments(filter, { session }),
    };
  }

  async read(id: string, access: AccessFilter | undefined): Promise<VersionRecord | undefined> {
    const filter = { $and: [{ _id: id }, compileAuditFilter([], access)] };
    const doc = await this.collection.findOne(filter, { session: this.session, projection: { _id: 1, lastUpdated: 1, body: 1 } });
    return doc ? auditRecord(doc) : undefined;
  }

  async exists(ids: readonly string[], access: AccessFilter | undefined): Promise<string[]> {
    if (ids.length === 0) return [];
    const found = await this.reader().find({ $and: [{ _id: { $in: [...ids] } }, compileAuditFilter([], access)] }, { projection: { _id: 1 } });
    return found.map((doc) => doc._id as string);
  }

  /** Version 1 of a new event; 409 when its id is stored (the idempotent append relies on that answer). */
  async create(now: Date, event: AnyResource): Promise<VersionRecord> {
    const doc = auditDocument(this.indexer, stampResource(event, 1, now.toISOString()));
    try {
      await this.collection.insertOne(doc, { session: this.session });
    } catch (error) {
      if (isDuplicateKey(error)) throw conflict(`${AUDIT_LOG_TYPE}/${doc._id} already exists`);
      throw error;
    }
    return auditRecord(doc);
  }

  /** Moves stamped events in (the migration): ids already stored are skipped. Returns how many were new. */
  async appendStamped(events: readonly AnyResource[]): Promise<void> {
    if (events.length === 0) return;
    try {
      await this.collection.insertMany(events.map((event) => auditDocument(this.indexer, event)), { ordered: false, session: this.session });
    } catch (error) {
      const writeErrors = (error as { writeErrors?: Array<{ code?: number }> | { code?: number } }).writeErrors;
      const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
      if (list.length === 0 || list.some((e) => e.code !== 11000)) throw error;
    }
  }
}
