import { badRequest, FhirError, unprocessable, type Issue } from '../errors';
import { isResourceType } from '../fhir/definitions';
import type { AnyResource } from '../fhir/types';
import type { Validator } from '../validation/validator';

/** The resource type named in a URL: unknown types are 404, as for any unknown path. */
export function assertResourceType(type: string | undefined): asserts type is string {
  if (type === undefined || !isResourceType(type)) throw FhirError.of(404, 'not-supported', `Unknown resource type "${type}"`);
}

/** A request body that claims to be a resource of `type`: anything else is 400. */
export function resourceBody(body: unknown, type: string): AnyResource {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('The request body must be a FHIR resource (a JSON object)');
  }
  const resourceType = (body as { resourceType?: unknown }).resourceType;
  if (resourceType !== type) {
    throw badRequest(`The body's resourceType "${String(resourceType)}" does not match the URL's type "${type}"`, ['resourceType']);
  }
  return body as AnyResource;
}

/** Writes accept only valid resources: every error issue is reported at once, 422. */
export function assertValid(validator: Validator, resource: AnyResource): void {
  const issues = validator.validate(resource);
  if (issues.some((i: Issue) => i.severity === 'error' || i.severity === 'fatal')) throw unprocessable(issues);
}

/**
 * Removes what the server owns before a write: the storage stamps versionId
 * and lastUpdated, so a client's values must not survive.
 */
export function withoutServerMeta(resource: AnyResource): AnyResource {
  if (!resource.meta) return resource;
  const { versionId: _v, lastUpdated: _l, ...meta } = resource.meta;
  const copy = { ...resource } as AnyResource;
  if (Object.keys(meta).length === 0) delete copy.meta;
  else copy.meta = meta;
  return copy;
}
