import type { Bundle, BundleEntry } from './types';
import { operationOutcome, type Issue } from '../errors';
import { shareBody } from './stored-body';
import type { VersionRecord } from './version-record';

/** The version each entry of a stored body was made from: the audit takes its reference and patients from it, not from the body. */
const entrySources = new WeakMap<BundleEntry, VersionRecord>();

/**
 * An entry holding the body of `record`, still the stored bytes when nobody
 * parsed them (stored-body.ts); `fields` declare `resource` where it goes.
 */
export function versionEntry(fields: BundleEntry, record: VersionRecord): BundleEntry {
  const entry = shareBody(fields, record);
  entrySources.set(entry, record);
  return entry;
}

/** A search entry of `record`. */
export function recordEntry(baseUrl: string, record: VersionRecord, mode: 'match' | 'include'): BundleEntry {
  return versionEntry({ fullUrl: resourceUrl(baseUrl, record), resource: undefined, search: { mode } }, record);
}

/** The version an entry was made from (versionEntry, historyBundle); undefined for any other entry. */
export function entrySource(entry: BundleEntry): VersionRecord | undefined {
  return entrySources.get(entry);
}

export const resourceUrl = (baseUrl: string, record: { resourceType: string; id: string }): string =>
  `${baseUrl}/${record.resourceType}/${record.id}`;

export const versionUrl = (baseUrl: string, record: VersionRecord): string =>
  `${resourceUrl(baseUrl, record)}/_history/${record.versionId}`;

export const etag = (record: VersionRecord): string => `W/"${record.versionId}"`;

export type PageLinks = Partial<Record<'self' | 'first' | 'previous' | 'next', string>>;

function links(pageLinks: PageLinks): Bundle['link'] {
  return Object.entries(pageLinks).map(([relation, url]) => ({ relation, url: url as string }));
}

export function searchsetBundle(
  baseUrl: string,
  records: VersionRecord[],
  pageLinks: PageLinks,
  total: number | undefined,
  warnings: Issue[] = [],
): Bundle {
  const entry: BundleEntry[] = records.map((record) => recordEntry(baseUrl, record, 'match'));
  if (warnings.length > 0) {
    entry.push({ resource: operationOutcome(warnings), search: { mode: 'outcome' } });
  }
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(total !== undefined ? { total } : {}),
    link: links(pageLinks),
    entry,
  };
}

/**
 * The request that made each version is not stored, so it is inferred:
 * a tombstone was a DELETE, version 1 a create (POST, or a PUT that created
 * it: indistinguishable afterwards), later versions an update.
 */
function historyRequest(record: VersionRecord): BundleEntry['request'] {
  if (record.deleted) return { method: 'DELETE', url: `${record.resourceType}/${record.id}` };
  if (record.versionId === 1) return { method: 'POST', url: record.resourceType };
  return { method: 'PUT', url: `${record.resourceType}/${record.id}` };
}

export function historyBundle(baseUrl: string, records: VersionRecord[], pageLinks: PageLinks, total: number): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'history',
    total,
    link: links(pageLinks),
    entry: records.map((record) => historyEntry(baseUrl, record)),
  };
}

/** A history entry; a tombstone's has no `resource`. */
function historyEntry(baseUrl: string, record: VersionRecord): BundleEntry {
  const request = historyRequest(record);
  const response = { status: record.deleted ? '204' : record.versionId === 1 ? '201' : '200', etag: etag(record), lastModified: record.lastUpdated };
  const fullUrl = resourceUrl(baseUrl, record);
  if (record.deleted) {
    const entry = { fullUrl, request, response };
    entrySources.set(entry, record);
    return entry;
  }
  return versionEntry({ fullUrl, resource: undefined, request, response }, record);
}

/** Paging links for an offset-paged result; extra parameters (e.g. a pinned time) ride along. */
export function pageLinks(
  pageUrl: (offset: number) => string,
  offset: number,
  count: number,
  returned: number,
  total: number | undefined,
): PageLinks {
  const result: PageLinks = { self: pageUrl(offset), first: pageUrl(0) };
  if (offset > 0 && count > 0) result.previous = pageUrl(Math.max(0, offset - count));
  const more = total !== undefined ? offset + returned < total : returned === count && count > 0;
  if (more) result.next = pageUrl(offset + count);
  return result;
}
