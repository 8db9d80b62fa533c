import type { AnyResource } from '../fhir/types';
import type { Storage } from '../storage/port';
import { namedResource } from './audit/collect';
import type { EntryAudit } from './audit/entry-audits';
import type { ClassifiedRequest } from './scopes/classify';

/** What a bundle entry did, as far as its audit record is concerned. */
export interface EntryOutcome {
  classified: ClassifiedRequest;
  status: number;
  /** The resources the entry returned or wrote. */
  returned: readonly AnyResource[];
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
  if (!stored?.resource) return { classified, status, resources };
  return { classified, status, resources: [...resources, stored.resource], ...(status === 404 && !stored.deleted ? { hidden: true } : {}) };
}
