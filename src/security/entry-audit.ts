import type { AnyResource } from '../fhir/types';
import type { Storage, VersionRecord } from '../storage/port';
import { namedResource } from './audit/collect';
import type { EntryAudit } from './audit/entry-audits';
import type { ClassifiedRequest } from './scopes/classify';

/**
 * A resource an interaction returned or touched, as the audit needs it: its
 * reference, and its patients as the storage kept them with the version, or
 * else the body to find them in. The audit of a stored version so never
 * parses its body (fhir/stored-body.ts). A body is not one by accident: it
 * has neither `patients` nor `body`.
 */
export type AuditedResource = { resourceType: string; id?: string | undefined } & (
  | { patients: readonly string[] }
  | { body: () => AnyResource | undefined }
);

/** A body without a stored version behind it (an operation's answer, an entry built from a body). */
export const auditedBody = (resource: AnyResource): AuditedResource => ({ resourceType: resource.resourceType, id: resource.id, body: () => resource });

/** A stored version: its patients when the storage kept them, its body (parsed only if the audit runs) otherwise. */
export function auditedRecord(record: VersionRecord): AuditedResource {
  const { resourceType, id, patients } = record;
  return patients ? { resourceType, id, patients } : { resourceType, id, body: () => record.resource };
}

/** What a bundle entry did, as far as its audit record is concerned. */
export interface EntryOutcome {
  classified: ClassifiedRequest;
  status: number;
  /** The resources the entry returned or wrote. */
  returned: readonly AuditedResource[];
  /** `Type/id` the entry acted on when its URL does not name it (a conditional write or delete). */
  target?: { type: string; id: string };
}

/**
 * The audit record of one bundle entry, with the same rules as a REST
 * request's: the resource the entry names (or wrote) is recorded even when
 * the entry did not return it (a write answered without a body, a delete, a
 * refused or hidden read), read as the operator; a 404 for a resource that
 * exists is `hidden` (the access layer answered it).
 */
export async function entryAudit(storage: Storage, baseUrl: string, requestId: string, outcome: EntryOutcome): Promise<EntryAudit> {
  const { classified, status, returned } = outcome;
  const resources = [...returned];
  const target = classified.resourceType && classified.id ? { type: classified.resourceType, id: classified.id } : outcome.target;
  if (!target || returned.some((resource) => resource.resourceType === target.type && resource.id === target.id)) {
    return { classified, status, resources };
  }
  const stored = await namedResource(storage, baseUrl, requestId, target.type, target.id);
  // A tombstone (a resource deleted at version 1) has no body and no patients: nothing to record.
  if (!stored || stored.deleted) return { classified, status, resources };
  return { classified, status, resources: [...resources, auditedRecord(stored)], ...(status === 404 ? { hidden: true } : {}) };
}
