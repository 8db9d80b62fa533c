import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../context';
import { badRequest } from '../errors';
import type { StorageOps } from '../storage/port';
import { executeEntry, type EntryResult } from './bundle-entry';
import { conditionalReferences, replaceReferences, resolveConditionalReference } from './bundle-references';
import { unsupportedRequest, type EntryRequest } from './bundle-request';
import { atEntry } from './bundle-response';
import { servicesInUnit } from './bundle-services';
import { atMostOne, findMatches } from './conditional';
import { assertResourceType } from './resource-body';
import type { Services } from './services';

/** http.html#trules: DELETE, then POST, then PUT and PATCH, then GET and HEAD; entry order within each. */
const PHASE: Record<EntryRequest['method'], number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

export function processingOrder(requests: EntryRequest[]): EntryRequest[] {
  return [...requests].sort((a, b) => PHASE[a.method] - PHASE[b.method] || a.index - b.index);
}

/**
 * The storage calls of a unit of work resolve as microtasks, which would let
 * a long transaction hold the event loop from its first entry to its last:
 * every other request, even a read that needs no lock, would wait for it.
 * Yielding every few entries lets them through.
 */
const ENTRIES_BETWEEN_YIELDS = 25;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A write entry with the id it will write, decided before any create or update runs. */
interface PlannedWrite {
  request: EntryRequest;
  /** `Type/id`. */
  target: string;
  /** For a create: the new resource's id. */
  assignedId?: string;
}

/**
 * Which resource a create, update or patch entry will write. A conditional
 * create or update is looked up now, inside the transaction, so that
 * references to its fullUrl point at the resource it will really touch.
 */
async function planWrite(tx: StorageOps, ctx: RequestContext, request: EntryRequest): Promise<PlannedWrite> {
  const { segments, query, method } = request;
  const [type, id] = segments;
  const instance = segments.length === 2 && query.length === 0;
  const typeLevel = segments.length === 1 && (method === 'POST' ? query.length === 0 : method === 'PUT' && query.length > 0);
  if (!instance && !typeLevel) throw unsupportedRequest(request);
  assertResourceType(type);
  if (method === 'POST') {
    const existing = request.ifNoneExist ? atMostOne(await findMatches(tx, ctx, type, request.ifNoneExist), 'create') : undefined;
    const assignedId = existing?.id ?? randomUUID();
    return { request, target: `${type}/${assignedId}`, assignedId };
  }
  if (id !== undefined) return { request, target: `${type}/${id}` };
  // Conditional update: the match, else the body's id, else a new one written into the body.
  const match = atMostOne(await findMatches(tx, ctx, type, request.query), 'update');
  const body = request.resource;
  const isObject = body !== null && typeof body === 'object' && !Array.isArray(body);
  const bodyId = isObject ? (body as { id?: unknown }).id : undefined;
  const chosen = match?.id ?? (typeof bodyId === 'string' ? bodyId : randomUUID());
  // Anything but an object is left for the update to refuse (400), as the REST route would.
  const resource = isObject && bodyId === undefined ? { ...body, id: chosen } : body;
  return { request: { ...request, resource }, target: `${type}/${chosen}` };
}

/**
 * The spec fails a transaction in which two entries act on the same
 * resource (their outcome would depend on the processing order).
 */
class TouchedResources {
  private readonly byTarget = new Map<string, number>();

  add(target: string, request: EntryRequest): void {
    const earlier = this.byTarget.get(target);
    if (earlier !== undefined) {
      throw badRequest(`Bundle.entry[${earlier}] and Bundle.entry[${request.index}] both act on ${target}; a transaction may touch a resource once`, [
        `Bundle.entry[${request.index}]`,
      ]);
    }
    this.byTarget.set(target, request.index);
  }
}

/**
 * Replaces, in every write entry's resource and every read entry's query,
 * the fullUrls of the bundle's creates and updates with `Type/id`, and
 * resolves conditional references by search in the transaction. Returns new
 * requests: the work of a unit may run again (MongoDB retries transient
 * transaction errors), so the input stays untouched.
 */
async function resolveReferences(tx: StorageOps, ctx: RequestContext, writes: PlannedWrite[], reads: EntryRequest[]) {
  const targets = new Map<string, string>();
  for (const { request, target } of writes) {
    if (request.fullUrl !== undefined && request.method !== 'PATCH') targets.set(request.fullUrl, target);
  }
  for (const { request } of writes) {
    for (const reference of conditionalReferences(request.resource)) {
      if (!targets.has(reference)) targets.set(reference, await atEntry(request, () => resolveConditionalReference(tx, ctx, reference)));
    }
  }
  const rewrittenWrites = writes.map((write) =>
    write.request.method === 'PATCH' ? write : { ...write, request: { ...write.request, resource: replaceReferences(write.request.resource, targets) } },
  );
  const rewrittenReads = reads.map((request) => ({
    ...request,
    query: request.query.map(([key, value]): [string, string] => [key, targets.get(value) ?? value]),
  }));
  return { writes: rewrittenWrites, reads: rewrittenReads };
}

/**
 * A transaction: every entry in one unit of work, in the spec's order; the
 * first entry that fails rolls everything back and its error (naming the
 * entry) is the answer. Returns the results in the bundle's order.
 */
export async function runTransaction(services: Services, ctx: RequestContext, requests: EntryRequest[]): Promise<EntryResult[]> {
  const ordered = processingOrder(requests);
  return services.storage.unitOfWork(async (tx) => {
    const inUnit = servicesInUnit(services, tx);
    const results: EntryResult[] = new Array(requests.length);
    const touched = new TouchedResources();
    const run = async (request: EntryRequest, assignedId?: string) => {
      results[request.index] = await atEntry(request, () => executeEntry(inUnit, ctx, request, assignedId));
    };

    for (const request of ordered.filter((r) => r.method === 'DELETE')) {
      await run(request);
      const deleted = results[request.index].record;
      const target = deleted ? `${deleted.resourceType}/${deleted.id}` : request.segments.length === 2 ? request.segments.join('/') : undefined;
      if (target) touched.add(target, request);
    }
    const planned: PlannedWrite[] = [];
    for (const request of ordered.filter((r) => PHASE[r.method] === 1 || PHASE[r.method] === 2)) {
      const write = await atEntry(request, () => planWrite(tx, ctx, request));
      touched.add(write.target, request);
      planned.push(write);
    }
    const { writes, reads } = await resolveReferences(tx, ctx, planned, ordered.filter((r) => PHASE[r.method] === 3));
    for (const [position, write] of writes.entries()) {
      if (position % ENTRIES_BETWEEN_YIELDS === ENTRIES_BETWEEN_YIELDS - 1) await yieldToEventLoop();
      await run(write.request, write.assignedId);
    }
    for (const request of reads) await run(request);
    return results;
  });
}
