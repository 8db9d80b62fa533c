import { withStoredBody } from '../../fhir/stored-body';
import type { AnyResource } from '../../fhir/types';
import { compartmentPatients } from '../../search/compartment-patients';
import type { IndexEntry, IndexEntryKind } from '../../search/index-entry';
import type { VersionRecord } from '../port';

/**
 * The shapes the MongoDB adapter stores, and the pure functions that build
 * them. The differential test builds its in-memory documents with these same
 * functions, so the shape the mingo-evaluated filters run over cannot drift
 * from the shape the adapter writes.
 */

/** One version of one resource: the fields shared by `resources` and `history`. */
export interface VersionDocument {
  type: string;
  id: string;
  versionId: number;
  /** ISO instant with milliseconds, UTC: sorts as a string, like SQLite's text column. */
  lastUpdated: string;
  deleted: boolean;
  /**
   * The body as it is sent (`JSON.stringify` of the stamped resource): a read
   * hands these bytes to the response without decoding a BSON document and
   * re-serialising it (fhir/stored-body.ts). Absent for a tombstone.
   */
  json?: string;
  /**
   * The body as a document: versions written before `json` existed keep it
   * (they read as before), and the in-memory version a write just stamped
   * carries it alongside `json`. A stored document written now has `json` only.
   */
  resource?: AnyResource;
  /** The patients whose compartment holds the version (VersionRecord.patients); absent for a tombstone and older versions. */
  patients?: string[];
  /**
   * Write order (an ObjectId's hex, assigned when the version is stamped):
   * breaks ties between versions with the same lastUpdated so that history
   * is newest first and pages are stable, as SQLite's `seq` does.
   */
  seq: string;
}

/**
 * An index entry as a field of the stored document: its kind is the array it
 * lives in. A composite's components are stored without their `param` and
 * `kind`: a search matches component i at `components.<i>` by the kind of
 * its search value (entry-match.ts), so both would be bytes no query reads.
 */
export type StoredEntry<K extends IndexEntryKind> = K extends 'composite'
  ? { param: string; components: Array<Record<string, unknown>> }
  : Omit<Extract<IndexEntry, { kind: K }>, 'kind'>;

/**
 * The index entries grouped by kind (`idx.token: [{param, system, code}]`),
 * one array per kind so that each gets its own multikey index and a search
 * condition can `$elemMatch` within one entry. A kind with no entry has no
 * field. Every kind is stored, searchable or not yet, so that teaching the
 * search compiler a new kind needs no data migration. Entries name their
 * parameter by its code, not by an integer id as SQLite's rows do
 * (sqlite/param-ids.ts): WiredTiger compresses both the repeated codes of
 * an index's keys (prefix compression) and the documents (snappy), and ids
 * would need a shared id collection and a lookup before each query compiles.
 */
export type IndexFields = { [K in IndexEntryKind]?: Array<StoredEntry<K>> };

/**
 * Precomputed sort keys, one per parameter that has a sortable value, so
 * that `_sort` reads (and an index can cover) one field instead of scanning
 * entries at query time: `min` is the value an ascending sort uses, `max`
 * the one a descending sort uses (see search-sort.ts). `has` is always true:
 * it exists so that a sort can put resources WITHOUT the key last in both
 * directions (a missing field sorts before `true`).
 */
export type SortKeyFields = Record<string, SortKey>;

export interface SortKey {
  has: true;
  min: string | number;
  max: string | number;
}

/** The current version of a resource (`resources` collection). */
export interface ResourceDocument extends VersionDocument {
  idx: IndexFields;
  sort: SortKeyFields;
  /**
   * Set while the history row of this version may not be written yet (writes
   * outside a transaction, see ops.ts): whoever finds it set can write that
   * row from this document, which holds everything the row needs.
   */
  historyPending?: true;
}

/** Every version (`history` collection). */
export type HistoryDocument = VersionDocument;

export function versionDocument(record: VersionRecord, seq: string): VersionDocument {
  return {
    type: record.resourceType,
    id: record.id,
    versionId: record.versionId,
    lastUpdated: record.lastUpdated,
    deleted: record.deleted,
    ...(record.resource !== undefined ? { resource: record.resource } : {}),
    seq,
  };
}

/**
 * A version just stamped (with its body as a document) made ready to store:
 * the body's bytes and, from the index entries the write computes anyway,
 * its patients. The body document stays on the in-memory version (the
 * write's answer uses it) and is left out of what is stored (versionFields).
 */
export function withStoredFields(version: VersionDocument, entries: readonly IndexEntry[]): VersionDocument {
  if (version.resource === undefined) return version;
  return { ...version, json: JSON.stringify(version.resource), patients: compartmentPatients(version.type, version.id, entries) };
}

/** The body of a stored document, whichever form it was written in. */
export function documentBody(doc: VersionDocument): AnyResource | undefined {
  return doc.resource ?? (doc.json !== undefined ? (JSON.parse(doc.json) as AnyResource) : undefined);
}

export function indexFields(entries: readonly IndexEntry[]): IndexFields {
  const fields: Partial<Record<IndexEntryKind, unknown[]>> = {};
  for (const entry of entries) {
    const { kind, ...stored } = entry;
    if (entry.kind === 'composite') {
      const components = entry.components.map(({ param: _param, kind: _kind, ...values }) => values);
      (fields.composite ??= []).push({ param: entry.param, components });
    } else (fields[kind] ??= []).push(stored);
  }
  return fields as IndexFields;
}

export function resourceDocument(version: VersionDocument, entries: readonly IndexEntry[]): ResourceDocument {
  return { ...versionFields(version), idx: indexFields(entries), sort: sortKeyFields(entries) };
}

/**
 * The value an entry contributes to its parameter's sort key (query.ts,
 * "Sort"): ranges their ends, strings their normalized form, tokens their
 * code, references their `ref`, uris their value. Composites do not sort,
 * and entries without the field (a text-only token, a logical reference)
 * contribute nothing.
 */
function sortValues(entry: IndexEntry): { low: string | number; high: string | number } | undefined {
  switch (entry.kind) {
    case 'date':
    case 'number':
    case 'quantity':
      return { low: entry.low, high: entry.high };
    case 'string':
      return { low: entry.norm, high: entry.norm };
    case 'token':
      return entry.code === null ? undefined : { low: entry.code, high: entry.code };
    case 'reference':
      return entry.ref === null ? undefined : { low: entry.ref, high: entry.ref };
    case 'uri':
      return { low: entry.value, high: entry.value };
    case 'composite':
      return undefined;
  }
}

/** A parameter code usable as a field name: no `.` (a path step) and no leading `$` (an operator). */
export function isFieldSafe(code: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(code);
}

export function sortKeyFields(entries: readonly IndexEntry[]): SortKeyFields {
  // Built as a Map: a parameter called `__proto__` or `constructor` must stay an ordinary key.
  const keys = new Map<string, SortKey>();
  for (const entry of entries) {
    const values = sortValues(entry);
    if (values === undefined || !isFieldSafe(entry.param)) continue;
    const key = keys.get(entry.param);
    if (key === undefined) keys.set(entry.param, { has: true, min: values.low, max: values.high });
    else {
      if (values.low < key.min) key.min = values.low;
      if (values.high > key.max) key.max = values.high;
    }
  }
  return Object.fromEntries(keys);
}

/** The history row of a version, whichever document it is taken from. */
export function historyDocument(version: VersionDocument): HistoryDocument {
  return versionFields(version);
}

/**
 * Only the version fields: drops `_id`, `idx`, `sort` and markers, which
 * must not travel between collections, and the body document where its
 * bytes are there to be stored instead.
 */
function versionFields(doc: VersionDocument): VersionDocument {
  return {
    type: doc.type,
    id: doc.id,
    versionId: doc.versionId,
    lastUpdated: doc.lastUpdated,
    deleted: doc.deleted,
    ...(doc.json !== undefined ? { json: doc.json } : doc.resource !== undefined ? { resource: doc.resource } : {}),
    ...(doc.patients !== undefined ? { patients: doc.patients } : {}),
    seq: doc.seq,
  };
}

/** A body document at hand is used as it is; stored bytes stay unparsed until read (fhir/stored-body.ts). */
export function versionRecord(doc: VersionDocument): VersionRecord {
  const record: VersionRecord = {
    resourceType: doc.type,
    id: doc.id,
    versionId: doc.versionId,
    lastUpdated: doc.lastUpdated,
    deleted: doc.deleted,
  };
  if (doc.resource !== undefined) record.resource = doc.resource;
  else if (doc.json !== undefined) withStoredBody(record, doc.json);
  if (doc.patients !== undefined) record.patients = doc.patients;
  return record;
}
