/**
 * The one admission path: every REST request and every batch or transaction
 * entry is classified from its route, admitted (scopes, the consent access
 * filter, AuditEvents immutable), checked as a write when its route changes
 * state, run, and described for the audit, by these functions. The HTTP
 * layer only authenticates, parses and replies; the bundle only orders.
 */
import type { Principal, RequestContext } from '../context';
import type { AnyResource } from '../fhir/types';
import { entrySource } from '../fhir/bundle';
import type { Bundle, BundleEntry } from '../fhir/types';
import { auditedBody, auditedRecord, type AuditedResource, type EntryOutcome } from '../security/entry-audit';
import type { AccessCache, RequestGuard } from '../security/request-guard';
import { classifyRoute, type ClassifiedRequest } from '../security/scopes/classify';
import type { Storage } from '../storage/port';
import type { EntryRunner, InteractionResult, ParsedRequest, RouteMatch, RouteServices } from './route';

/** Who asks, and when: the same for every entry of a bundle. */
export interface Caller {
  principal: Principal;
  requestId: string;
  now: Date;
}

/** A request that passed admission: its route, what it does, and the context (access filter included) it runs with. */
export interface Admitted {
  match: RouteMatch;
  classified: ClassifiedRequest;
  ctx: RequestContext;
}

/** The operator's context for a public route (the CapabilityStatement): nothing to admit. */
function publicContext(caller: Caller, baseUrl: string): RequestContext {
  return { requestId: caller.requestId, baseUrl, principal: caller.principal, now: caller.now };
}

/** What the route of `match` does, for admission and the audit record. */
export function classify(match: RouteMatch): ClassifiedRequest {
  return classifyRoute(match.route, match.params);
}

/**
 * Admits a classified request: a public route and a 405-only route need no
 * admission (405 whoever asks: a token without every right must not be told
 * 403 instead); anything else goes through the request guard (405 for an
 * AuditEvent write, 403, the access filter). `cache` shares the access
 * filters of one bundle's entries.
 */
export async function admit(
  guard: RequestGuard,
  baseUrl: string,
  match: RouteMatch,
  classified: ClassifiedRequest,
  caller: Caller,
  cache?: AccessCache,
): Promise<Admitted> {
  if (match.route.public || match.route.methodNotAllowed) return { match, classified, ctx: publicContext(caller, baseUrl) };
  return { match, classified, ctx: await guard.admit({ ...caller, classified }, cache) };
}

/** A route that changes state is checked as a write before it runs: its body may not leave what the scopes grant (403). */
export async function checkWrite(guard: RequestGuard, admitted: Admitted, body: unknown, storage?: Storage): Promise<void> {
  if (!admitted.match.route.changesState) return;
  await guard.checkWrite(admitted.ctx, admitted.classified, body, storage);
}

/** Runs the admitted route's handler. */
export function run(services: RouteServices, admitted: Admitted, request: ParsedRequest, entries: EntryRunner): Promise<InteractionResult> {
  return admitted.match.route.handler(services, admitted.ctx, request, entries);
}

/**
 * The data resources a result returned or wrote (never an OperationOutcome):
 * what the audit records. A stored version (the record read, a search
 * entry's source) is given as its record, so that the audit reads its
 * reference and patients there instead of parsing its body.
 */
export function returnedResources(result: InteractionResult | undefined): AuditedResource[] {
  if (!result) return [];
  if (result.disclosed) return (result.disclosed as AnyResource[]).map(auditedBody);
  const body = result.body as Bundle | undefined;
  if (body?.resourceType === 'Bundle') return (body.entry ?? []).flatMap(entryResource);
  // An operation's own answer counts as returned, as a search's page does.
  const found: AuditedResource[] = [];
  if (result.record && !result.record.deleted) found.push(auditedRecord(result.record));
  if (result.body) found.push(auditedBody(result.body as AnyResource));
  return found.filter(isData);
}

function entryResource(entry: BundleEntry): AuditedResource[] {
  const source = entrySource(entry);
  if (source) return source.deleted ? [] : [auditedRecord(source)];
  const resource = entry.resource as AnyResource | undefined;
  return resource && isData(resource) ? [auditedBody(resource)] : [];
}

const isData = (resource: { resourceType: string }): boolean => resource.resourceType !== 'OperationOutcome';

/** What the audit needs of one interaction: its classification, status, the resources of its result and what it wrote or deleted. */
export function auditOutcome(classified: ClassifiedRequest, status: number, result?: InteractionResult): EntryOutcome {
  const record = result?.record;
  return {
    classified,
    status,
    returned: status < 400 ? returnedResources(result) : [],
    ...(record ? { target: { type: record.resourceType, id: record.id } } : {}),
  };
}
