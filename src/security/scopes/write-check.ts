import type { Operation } from 'fast-json-patch';
import { systemContext, type RequestContext } from '../../context';
import { FhirError } from '../../errors';
import type { AnyResource } from '../../fhir/types';
import { applyJsonPatch } from '../../fhir/json-patch';
import type { Indexer } from '../../search/index-entry';
import type { Storage } from '../../storage/port';
import type { ClassifiedRequest } from './classify';
import { matchesConditions } from './match-conditions';
import { scopeConditionsFor } from './scope-access';

const outside = (what: string) => FhirError.of(403, 'forbidden', `The token's scopes do not allow ${what}`);

function asResource(body: unknown, type: string): AnyResource | undefined {
  const candidate = body as AnyResource | undefined;
  return candidate && typeof candidate === 'object' && candidate.resourceType === type ? candidate : undefined;
}

/**
 * Writes may not put a resource outside what the scopes grant (a `patient/`
 * token writing another patient's Observation, a granular scope writing a
 * category it does not cover), nor change one that is outside: 403. The
 * conditions are the same ones reads are filtered with, evaluated in memory
 * on the body (the patched result for a patch) and on the stored version.
 * Bodies that are not resources of the type are left for the interaction
 * to reject with its own 400.
 */
export async function checkWriteStaysInside(
  ctx: RequestContext,
  request: ClassifiedRequest,
  body: unknown,
  storage: Storage,
  indexer: Indexer,
): Promise<void> {
  const { interaction, resourceType, id } = request;
  if (!resourceType || !['create', 'update', 'patch', 'delete'].includes(interaction)) return;
  const conditions = scopeConditionsFor(ctx.principal, resourceType, request.accessPermission);
  if (conditions === undefined || conditions.length === 0) return;
  const inside = (resource: AnyResource) => matchesConditions(conditions, resource, indexer(resource));
  const stored = id === undefined ? undefined : await storage.read(systemContext(ctx.baseUrl, ctx.requestId), resourceType, id);
  const current = stored && !stored.deleted ? (stored.resource as AnyResource) : undefined;
  if (current && !inside(current)) throw outside(`changing ${resourceType}/${id}`);
  let written: AnyResource | undefined;
  if (interaction === 'patch') {
    try {
      written = current ? applyJsonPatch(current, body as Operation[]) : undefined;
    } catch {
      // An unusable patch fails in the interaction with its own status.
      written = undefined;
    }
  } else if (interaction !== 'delete') {
    const resource = asResource(body, resourceType);
    written = resource && id !== undefined ? { ...resource, id } : resource;
  }
  if (written && !inside(written)) throw outside(`writing this ${resourceType}: it would be outside the granted compartment or query`);
}
