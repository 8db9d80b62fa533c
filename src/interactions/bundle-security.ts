import type { RequestContext } from '../context';
import { FhirError } from '../errors';
import type { AnyResource } from '../fhir/types';
import type { EntryAudit } from '../security/audit/entry-audits';
import { entryAudit } from '../security/entry-audit';
import { createRequestGuard, type AccessCache, type RequestGuard } from '../security/request-guard';
import { classifyRequest, type ClassifiedRequest } from '../security/scopes/classify';
import type { Storage } from '../storage/port';
import { jsonPatchOf, type EntryResult } from './bundle-entry';
import type { EntryRequest } from './bundle-request';
import type { Services } from './services';

/** An entry that passed its admission: what it does, and the context (access filter included) it runs with. */
export interface AdmittedEntry {
  request: EntryRequest;
  classified: ClassifiedRequest;
  ctx: RequestContext;
}

/** How a bundle's entries are secured and audited; built once per bundle request. */
export interface EntrySecurity {
  /** Admits the entry as its REST call (`classifyEntry`) would be: 405, 403, or its context. */
  admit(request: EntryRequest, classified: ClassifiedRequest): Promise<AdmittedEntry>;
  /** For a write entry, once its references are final: 403 when it would leave what the scopes grant. */
  checkWrite(entry: AdmittedEntry, storage: Storage): Promise<void>;
  /**
   * The context of a search of `type` on the caller's behalf (a conditional
   * reference): admitted as `GET [type]?...` would be, so it only ever finds
   * what the caller may see, and needs the scopes such a search needs.
   */
  searchContext(type: string): Promise<RequestContext>;
  /** Records what one entry did (or why it failed) for the audit. */
  audit(classified: ClassifiedRequest, status: number, result?: EntryResult): Promise<void>;
}

export interface EntrySecurityOptions {
  /** The request guard of the server (scopes and consent); absent: only the unrestricted operator may send bundles. */
  guard?: RequestGuard;
  /** Receives one audit record per entry (the route pushes them onto `request.entryAudits`). */
  onEntry?: (audit: EntryAudit) => void;
}

/**
 * Without the server's guard the consent layer is unknown here, so only the
 * operator acting without a token (no scopes, no consent, no filter) may
 * send a bundle: an entry must never do what its own request would be refused.
 */
function assertUnrestricted(ctx: RequestContext): void {
  const { principal } = ctx;
  if (principal.kind === 'operator' && principal.token === undefined && ctx.access === undefined) return;
  throw FhirError.of(403, 'forbidden', 'Batch and transaction bundles are not authorized entry by entry on this server configuration: only the operator may send them');
}

/** The data resources an entry returned or wrote (never an OperationOutcome). */
function resourcesOf(result: EntryResult | undefined): AnyResource[] {
  if (!result) return [];
  // An operation's own answer counts as returned, as the REST audit counts a response body.
  const found = result.bundle ? (result.bundle.entry ?? []).map((entry) => entry.resource as AnyResource | undefined) : [result.record?.resource, result.body as AnyResource | undefined];
  return found.filter((resource): resource is AnyResource => resource !== undefined && resource.resourceType !== 'OperationOutcome');
}

/** The body a write check sees: the resource, or for a PATCH the decoded JSON Patch (as the REST route receives it). */
function writtenBody(request: EntryRequest): unknown {
  return request.method === 'PATCH' ? jsonPatchOf(request) : request.resource;
}

export function entrySecurity(services: Services, ctx: RequestContext, options: EntrySecurityOptions): EntrySecurity {
  if (!options.guard) assertUnrestricted(ctx);
  const guard = options.guard ?? createRequestGuard({ storage: services.storage, baseUrl: ctx.baseUrl });
  const cache: AccessCache = new Map();
  const { principal, requestId, now } = ctx;
  const admitted = (classified: ClassifiedRequest) => guard.admit({ principal, classified, requestId, now }, cache);

  return {
    admit: async (request, classified) => ({ request, classified, ctx: await admitted(classified) }),
    checkWrite: ({ request, classified, ctx: entryCtx }, storage) => guard.checkWrite(entryCtx, classified, writtenBody(request), storage),
    searchContext: (type) => admitted(classifyRequest('GET', '/:type', { type })),
    async audit(classified, status, result) {
      if (!options.onEntry) return;
      const record = result?.record;
      const target = record ? { type: record.resourceType, id: record.id } : undefined;
      options.onEntry(await entryAudit(services.storage, ctx.baseUrl, requestId, { classified, status, returned: resourcesOf(result), target }));
    },
  };
}
