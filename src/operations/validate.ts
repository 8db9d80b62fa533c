import type { RequestContext } from '../context';
import { badRequest, operationOutcome, type Issue } from '../errors';
import type { AnyResource, OperationOutcome } from '../fhir/types';
import { readResource } from '../interactions/read';
import { assertResourceType } from '../interactions/resource-body';
import type { Services } from '../interactions/services';
import type { OperationDescriptor } from './descriptor';

/** `$validate` takes the resource itself or a Parameters with a `resource` part. */
function resourceToValidate(body: unknown): AnyResource {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('$validate needs a resource, or a Parameters resource with a "resource" parameter');
  }
  const candidate = body as AnyResource & { parameter?: Array<{ name?: string; resource?: AnyResource }> };
  if (candidate.resourceType !== 'Parameters') return candidate;
  const part = candidate.parameter?.find((p) => p.name === 'resource')?.resource;
  if (!part) throw badRequest('The Parameters resource has no "resource" parameter');
  return part;
}

/**
 * The spec's answer to $validate is 200 with an OperationOutcome whether or
 * not the resource is valid; the issues say why. A clean result still carries
 * one informational issue, since an OperationOutcome must have one.
 */
function outcomeOf(issues: Issue[]): OperationOutcome {
  if (issues.length > 0) return operationOutcome(issues);
  return operationOutcome([{ severity: 'information', code: 'informational', diagnostics: 'No issues found: the resource is valid' }]);
}

function checkAgainst(services: Services, type: string, resource: AnyResource, id?: string): OperationOutcome {
  const issues: Issue[] = [];
  if (resource.resourceType !== type) {
    issues.push({ severity: 'error', code: 'invalid', diagnostics: `resourceType "${String(resource.resourceType)}" is not ${type}`, expression: ['resourceType'] });
  } else if (id !== undefined && resource.id !== id) {
    issues.push({ severity: 'error', code: 'invalid', diagnostics: `id "${String(resource.id)}" is not the URL's id "${id}"`, expression: [`${type}.id`] });
  }
  issues.push(...services.validator.validate(resource));
  return outcomeOf(issues);
}

export function validateType(services: Services, type: string, body: unknown): OperationOutcome {
  assertResourceType(type);
  return checkAgainst(services, type, resourceToValidate(body));
}

/** With a body: would this do as the next version of Type/id? Without: is the stored version valid? */
export async function validateInstance(
  services: Services,
  ctx: RequestContext,
  type: string,
  id: string,
  body: unknown,
): Promise<OperationOutcome> {
  assertResourceType(type);
  if (body === undefined) {
    const record = await readResource(services, ctx, type, id);
    return checkAgainst(services, type, record.resource as AnyResource, id);
  }
  return checkAgainst(services, type, resourceToValidate(body), id);
}

/**
 * `$validate` on every type: at type level it reads nothing and needs any
 * grant on the type; at instance level it reads the stored version.
 */
export const validateOperation: OperationDescriptor = {
  code: 'validate',
  definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
  resourceTypes: '*',
  affectsState: false,
  get: ['instance'],
  post: ['type', 'instance'],
  permissions: { type: [], instance: ['r'] },
  returns: { type: 'OperationOutcome', documentation: 'The issues found; one informational issue when there are none' },
  parameters: [{ name: 'resource', type: 'Resource', min: 0, max: 1, documentation: 'The resource to validate (or the resource itself as the body)' }],
  handler: async (services, ctx, { resourceType, id, resource }) => {
    const type = resourceType ?? '';
    if (id === undefined) return { body: validateType(services, type, resource) };
    return { body: await validateInstance(services, ctx, type, id, resource) };
  },
};
