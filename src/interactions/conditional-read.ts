import type { VersionRecord } from '../fhir/version-record';

/** The validators of a conditional read, from HTTP headers or a bundle entry's request. */
export interface ReadConditions {
  ifNoneMatch?: string;
  ifModifiedSince?: string;
}

/**
 * Conditional read (`If-None-Match`, `If-Modified-Since`): true when the
 * client's copy is current, so a 304 without a body will do.
 */
export function clientCopyIsCurrent(conditions: ReadConditions, record: VersionRecord): boolean {
  if (conditions.ifNoneMatch !== undefined) {
    const tags = conditions.ifNoneMatch.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
    return tags.includes('*') || tags.includes(`"${record.versionId}"`);
  }
  if (conditions.ifModifiedSince !== undefined) {
    const since = Date.parse(conditions.ifModifiedSince);
    // HTTP dates have whole seconds: compare at that precision.
    return !Number.isNaN(since) && Math.floor(Date.parse(record.lastUpdated) / 1000) * 1000 <= since;
  }
  return false;
}
