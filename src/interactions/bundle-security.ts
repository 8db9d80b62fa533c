import type { RequestContext } from '../context';
import { FhirError } from '../errors';
import { entryAudit } from '../security/entry-audit';
import { createRequestGuard, type AccessCache } from '../security/request-guard';
import type { ClassifiedRequest } from '../security/scopes/classify';
import type { Storage } from '../storage/port';
import type { EntryResult } from './bundle-entry';
import { jsonPatchOf } from './bundle-entry';
import type { EntryRequest } from './bundle-request';
import { admit, auditOutcome, checkWrite, classify, type Admitted, type Caller } from './dispatch';
import type { EntryRunner, RouteServices } from './route';

/** An entry that passed its admission: what it does, and the context (access filter included) it runs with. */
export interface AdmittedEntry extends Admitted {
  request: EntryRequest;
}

/** How a bundle's entries are secured and audited, through the admission path of REST calls (dispatch.ts); built once per bundle request. */
export interface EntrySecurity {
  /** What the entry does, as its REST call is classified. */
  classify(request: EntryRequest): ClassifiedRequest;
  /** Admits the entry as its REST call would be: 405, 403, or its context. */
  admit(request: EntryRequest, classified: ClassifiedRequest): Promise<AdmittedEntry>;
  /** For an entry that changes state, once its references are final: 403 when it would leave what the scopes grant. */
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

/** The body a write check sees: the resource, or for a PATCH the decoded JSON Patch (as the REST route receives it). */
function writtenBody(request: EntryRequest): unknown {
  return request.method === 'PATCH' ? jsonPatchOf(request) : request.resource;
}

export function entrySecurity(services: RouteServices, ctx: RequestContext, entries: EntryRunner): EntrySecurity {
  if (!entries.guard) assertUnrestricted(ctx);
  const guard = entries.guard ?? createRequestGuard({ storage: services.storage, baseUrl: ctx.baseUrl });
  const cache: AccessCache = new Map();
  const caller: Caller = { principal: ctx.principal, requestId: ctx.requestId, now: ctx.now };

  return {
    classify: (request) => classify(request.match),
    admit: async (request, classified) => ({ ...(await admit(guard, ctx.baseUrl, request.match, classified, caller, cache)), request }),
    checkWrite: (entry, storage) => checkWrite(guard, entry, writtenBody(entry.request), storage),
    async searchContext(type) {
      const match = entries.router.find('GET', `/${encodeURIComponent(type)}`);
      if (!match) throw FhirError.of(404, 'not-supported', `Unknown resource type "${type}"`);
      return (await admit(guard, ctx.baseUrl, match, classify(match), caller, cache)).ctx;
    },
    async audit(classified, status, result) {
      if (!entries.onEntry) return;
      entries.onEntry(await entryAudit(services.storage, ctx.baseUrl, ctx.requestId, auditOutcome(classified, status, result)));
    },
  };
}
