import type { AnyResource } from './types';

/**
 * One version of one resource as the storage keeps it. A deleted version is a
 * tombstone: it has no body but keeps its place in the history. Defined on
 * this floor so that the HTTP layer, bundles and audit may name it without
 * importing the storage port.
 */
export interface VersionRecord {
  resourceType: string;
  id: string;
  versionId: number;
  /** ISO-8601 instant with milliseconds, UTC (`meta.lastUpdated`). */
  lastUpdated: string;
  deleted: boolean;
  /** The stored body with `meta.versionId` and `meta.lastUpdated` set; absent for a tombstone. */
  resource?: AnyResource;
}
