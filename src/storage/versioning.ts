/**
 * Versioning rules every storage adapter applies the same way: which
 * resource is written, how its storage-owned meta is stamped, how its
 * lastUpdated relates to the previous version's, and how an instant given
 * by a client is brought to the stored form. One module, so that the
 * adapters cannot drift apart on any of them.
 */
import { badRequest } from '../errors';
import type { AnyResource } from '../fhir/types';

/** The resource's type and id; a body without them cannot be stored (400). */
export function identity(resource: AnyResource): { resourceType: string; id: string } {
  const { resourceType, id } = resource;
  if (typeof resourceType !== 'string' || resourceType === '') throw badRequest('The resource has no resourceType');
  if (typeof id !== 'string' || id === '') throw badRequest('The resource has no id');
  return { resourceType, id };
}

/** A clock that stepped back (or an older request committing late) must not make a version older than its predecessor. */
export function notBefore(instant: string, previous: string | undefined): string {
  return previous !== undefined && previous > instant ? previous : instant;
}

/** The body as stored: meta right after the identity, with the storage-owned versionId and lastUpdated. */
export function stampResource(resource: AnyResource, versionId: number, lastUpdated: string): AnyResource {
  const { resourceType, id, meta, ...rest } = resource;
  return { resourceType, id, meta: { ...meta, versionId: String(versionId), lastUpdated }, ...rest } as AnyResource;
}

/**
 * Stored instants are `toISOString()` text and compare as text:
 * `...T10:00:02+01:00` and `...T09:00:02.000Z` are the same instant but only
 * the second compares right, so a bound written otherwise is converted
 * first. `name` says which bound, for the 400.
 */
export function storedInstant(instant: string, name: string): string {
  const time = Date.parse(instant);
  if (Number.isNaN(time)) throw badRequest(`History '${name}' is not an instant: ${instant}`);
  return new Date(time).toISOString();
}
