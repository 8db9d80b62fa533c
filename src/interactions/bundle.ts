import type { RequestContext } from '../context';
import { badRequest, FhirError } from '../errors';
import type { Bundle, BundleEntry } from '../fhir/types';
import type { EntryResult } from './bundle-entry';
import { executeEntry } from './bundle-entry';
import { parseEntryRequest, type EntryRequest } from './bundle-request';
import { errorAtEntry, failedEntry, responseEntry, type EntryReturn } from './bundle-response';
import { runTransaction } from './bundle-transaction';
import type { Services } from './services';

export interface BundleOptions {
  /** MAX_BUNDLE_ENTRIES: a larger bundle is answered 413 before any entry runs. */
  maxEntries: number;
  /** `Prefer: return=` for the entries that write. */
  preference: EntryReturn;
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

/** A batch: each entry on its own (its own unit of work where it needs one), a failure answered in its entry only. */
async function runBatch(services: Services, ctx: RequestContext, entries: unknown[], preference: EntryReturn): Promise<BundleEntry[]> {
  const response: BundleEntry[] = [];
  for (const [index, entry] of entries.entries()) {
    let request: EntryRequest | undefined;
    try {
      request = parseEntryRequest(entry, index, ctx.baseUrl);
      response.push(responseEntry(ctx.baseUrl, await executeEntry(services, ctx, request), preference));
    } catch (error) {
      const located = request ? errorAtEntry(error, request) : error;
      if (!(located instanceof FhirError)) throw located;
      response.push(failedEntry(located));
    }
  }
  return response;
}

/**
 * `POST [base]` with a batch or transaction Bundle (http.html#transaction):
 * answers the batch-response or transaction-response Bundle, one entry per
 * request entry in the same order. A transaction that fails answers the
 * failing entry's error instead (thrown), and nothing of it is written.
 */
export async function processBundle(services: Services, ctx: RequestContext, body: unknown, options: BundleOptions): Promise<Bundle> {
  assertUnrestricted(ctx);
  const { type, entries } = envelope(body, options.maxEntries);
  if (type === 'batch') {
    return { resourceType: 'Bundle', type: 'batch-response', entry: await runBatch(services, ctx, entries, options.preference) };
  }
  const requests = entries.map((entry, index) => parseEntryRequest(entry, index, ctx.baseUrl));
  assertDistinctFullUrls(requests);
  const results: EntryResult[] = await runTransaction(services, ctx, requests);
  return { resourceType: 'Bundle', type: 'transaction-response', entry: results.map((result) => responseEntry(ctx.baseUrl, result, options.preference)) };
}

/**
 * Scopes and access conditions are decided per HTTP route (the security
 * hooks classify `POST /` as one operation), not yet per bundle entry. Until
 * each entry is authorized as its own request would be, only the unrestricted
 * operator (no token scopes, no access filter) may send a bundle: an entry
 * must never do what its own request would be refused.
 */
function assertUnrestricted(ctx: RequestContext): void {
  const { principal } = ctx;
  if (principal.kind === 'operator' && principal.token === undefined && ctx.access === undefined) return;
  throw FhirError.of(403, 'forbidden', 'Batch and transaction bundles are available to the operator only until bundle entries are authorized one by one');
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
