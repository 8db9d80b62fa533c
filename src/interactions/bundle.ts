import type { RequestContext } from '../context';
import { badRequest, FhirError } from '../errors';
import type { Bundle, BundleEntry } from '../fhir/types';
import type { EntryResult } from './bundle-entry';
import { executeEntry } from './bundle-entry';
import { isWrite, parseEntryRequest, type EntryRequest } from './bundle-request';
import type { ClassifiedRequest } from '../security/scopes/classify';
import { entrySecurity, type EntrySecurity } from './bundle-security';
import { errorAtEntry, failedEntry, responseEntry, type EntryReturn } from './bundle-response';
import { runTransaction, type NewId } from './bundle-transaction';
import type { EntryRunner, RouteServices } from './route';

export interface BundleOptions extends EntryRunner {
  /** MAX_BUNDLE_ENTRIES: a larger bundle is answered 413 before any entry runs. */
  maxEntries: number;
  /** `Prefer: return=` for the entries that write. */
  preference: EntryReturn;
  /** The id of each resource a transaction's POST creates; a random UUID when absent (bundle-transaction.ts). */
  newId?: NewId;
}

/** The bundle's envelope: a batch or transaction, with at most `maxEntries` entries. */
function envelope(body: unknown, maxEntries: number): { type: 'batch' | 'transaction'; entries: unknown[] } {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || (body as { resourceType?: unknown }).resourceType !== 'Bundle') {
    throw badRequest('POST to the base takes a Bundle of type batch or transaction', ['resourceType']);
  }
  const { type, entry } = body as { type?: unknown; entry?: unknown };
  if (type !== 'batch' && type !== 'transaction') throw badRequest(`Bundle.type must be batch or transaction, got ${String(type)}`, ['Bundle.type']);
  if (entry !== undefined && !Array.isArray(entry)) throw badRequest('Bundle.entry must be an array', ['Bundle.entry']);
  const entries = (entry as unknown[] | undefined) ?? [];
  if (entries.length > maxEntries) {
    throw FhirError.of(413, 'too-costly', `The bundle has ${entries.length} entries; this server takes at most ${maxEntries} (MAX_BUNDLE_ENTRIES)`, ['Bundle.entry']);
  }
  return { type, entries };
}

/** A batch entry that failed with something other than a FhirError: a bug, answered 500 in that entry only (the details stay out of the response). */
function internalError(ctx: RequestContext, index: number): FhirError {
  return FhirError.of(500, 'exception', `Bundle.entry[${index}] failed with an internal error (request id ${ctx.requestId})`, [`Bundle.entry[${index}]`]);
}

/**
 * A batch: each entry on its own (its own unit of work where it needs one),
 * admitted as its own REST call would be; a failure (refusal included) is
 * answered in its entry only, and every entry that got as far as being
 * classified is audited with its own status.
 */
async function runBatch(services: RouteServices, ctx: RequestContext, entries: unknown[], options: BundleOptions, security: EntrySecurity): Promise<BundleEntry[]> {
  const response: BundleEntry[] = [];
  for (const [index, entry] of entries.entries()) {
    let request: EntryRequest | undefined;
    let classified: ClassifiedRequest | undefined;
    try {
      request = parseEntryRequest(entry, index, ctx.baseUrl, options.router);
      classified = security.classify(request);
      const admitted = await security.admit(request, classified);
      if (isWrite(request)) await security.checkWrite(admitted, services.storage);
      const result = await executeEntry(services, admitted.ctx, request, options, options.preference);
      await security.audit(admitted.classified, result.status, result);
      response.push(responseEntry(ctx.baseUrl, result, options.preference));
    } catch (error) {
      const located = request ? errorAtEntry(error, request) : error;
      const failure = located instanceof FhirError ? located : internalError(ctx, index);
      if (classified) await security.audit(classified, failure.status);
      response.push(failedEntry(failure));
    }
  }
  return response;
}

/**
 * `POST [base]` with a batch or transaction Bundle (http.html#transaction):
 * answers the batch-response or transaction-response Bundle, one entry per
 * request entry in the same order. A transaction that fails answers the
 * failing entry's error instead (thrown), and nothing of it is written.
 * Each entry is routed by the REST router (`options.router`), and
 * authorized, filtered and audited as its own REST call (`options.guard`,
 * `options.onEntry`).
 */
export async function runBundle(services: RouteServices, ctx: RequestContext, body: unknown, options: BundleOptions): Promise<Bundle> {
  const security = entrySecurity(services, ctx, options);
  const { type, entries } = envelope(body, options.maxEntries);
  if (type === 'batch') {
    return { resourceType: 'Bundle', type: 'batch-response', entry: await runBatch(services, ctx, entries, options, security) };
  }
  const requests = entries.map((entry, index) => parseEntryRequest(entry, index, ctx.baseUrl, options.router));
  assertDistinctFullUrls(requests);
  const results: EntryResult[] = await runTransaction(services, requests, security, options);
  return { resourceType: 'Bundle', type: 'transaction-response', entry: results.map((result) => responseEntry(ctx.baseUrl, result, options.preference)) };
}

/** Two entries with one fullUrl would make the references to it ambiguous. */
function assertDistinctFullUrls(requests: EntryRequest[]): void {
  const seen = new Map<string, number>();
  for (const { fullUrl, index } of requests) {
    if (fullUrl === undefined) continue;
    const earlier = seen.get(fullUrl);
    if (earlier !== undefined) throw badRequest(`Bundle.entry[${earlier}] and Bundle.entry[${index}] have the same fullUrl ${fullUrl}`, [`Bundle.entry[${index}].fullUrl`]);
    seen.set(fullUrl, index);
  }
}
