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
  /**
   * The stored body with `meta.versionId` and `meta.lastUpdated` set; absent
   * for a tombstone. An adapter may hand it out unparsed (stored-body.ts):
   * it is parsed when first read, and a response written before that sends
   * the stored bytes.
   */
  resource?: AnyResource;
  /**
   * The patients whose compartment holds this version, as the storage
   * computed them when it wrote it (search/compartment-patients.ts): what
   * the audit records without reading the body. Absent where the storage
   * kept none (a version written before it did, a tombstone).
   */
  patients?: readonly string[];
}
