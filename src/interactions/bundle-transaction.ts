import { randomUUID } from 'node:crypto';
import { badRequest, FhirError } from '../errors';
import type { StorageOps } from '../storage/port';
import type { RequestContext } from '../context';
import type { ClassifiedRequest } from '../security/scopes/classify';
import { executeEntry, type EntryResult } from './bundle-entry';
import {
  conditionalReferenceType,
  conditionalReferencesMemo,
  conditionalTarget,
  replaceInCriteria,
  replaceReferences,
  resolveConditionalReference,
  type ReferenceTargets,
} from './bundle-references';
import { isWrite, unsupportedRequest, type EntryRequest } from './bundle-request';
import { atEntry, type EntryReturn } from './bundle-response';
import type { AdmittedEntry, EntrySecurity } from './bundle-security';
import { servicesInUnit } from './bundle-services';
import { atMostOne, findMatches } from './conditional';
import { assertResourceType } from './resource-body';
import type { EntryRunner, RouteServices } from './route';

/** http.html#trules: DELETE, then POST, then PUT and PATCH, then GET and HEAD; entry order within each. */
const PHASE: Record<EntryRequest['method'], number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 4, HEAD: 4 };
const READS = PHASE.GET;
/**
 * Operations that change state (a `$book`, a `$submit`) run after the
 * creates, updates and patches, whose results they may act on, and before
 * every read, which must see what they did.
 */
const STATE_OPERATIONS = 3;

/** The entry's phase: a POST that only reads (a search, an operation) is processed with the GETs. */
const phaseOf = (request: EntryRequest): number => {
  if (!isWrite(request)) return READS;
  return request.match.route.interaction === 'operation' ? STATE_OPERATIONS : PHASE[request.method];
};

export function processingOrder(requests: EntryRequest[]): EntryRequest[] {
  return [...requests].sort((a, b) => phaseOf(a) - phaseOf(b) || a.index - b.index);
}

/**
 * The storage calls of a unit of work resolve as microtasks, which would let
 * a long transaction hold the event loop from its first entry to its last:
 * every other request, even a read that needs no lock, would wait for it.
 * Yielding every few entries lets them through.
 */
const ENTRIES_BETWEEN_YIELDS = 25;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The id of a new resource created by a POST entry. The server's own choice
 * (a random UUID) unless the caller of the bundle supplies one (the loader,
 * which validates the final bodies ahead, on another thread: scripts/load-pipeline.ts).
 */
export type NewId = (request: EntryRequest) => string;

/** A write entry with the id it will write, decided before any create or update runs. */
interface PlannedWrite {
  entry: AdmittedEntry;
  /** `Type/id`. */
  target: string;
  /** For a create: the new resource's id. */
  assignedId?: string;
}

/** A conditional create or update: which resource it writes depends on a search. */
const isConditionalWrite = ({ method, ifNoneExist, query }: EntryRequest) =>
  (method === 'POST' && ifNoneExist !== undefined) || (method === 'PUT' && query.length > 0);

/**
 * Which resource a create, update or patch entry will write. A conditional
 * create or update is looked up now, inside the transaction and through the
 * entry's own access filter (it finds only what its REST call would), so
 * that references to its fullUrl point at the resource it will really touch.
 */
async function planWrite(tx: StorageOps, entry: AdmittedEntry, newId: NewId = () => randomUUID()): Promise<PlannedWrite> {
  const { request, ctx } = entry;
  const { segments, query, method } = request;
  const [type, id] = segments;
  const instance = segments.length === 2 && query.length === 0;
  const typeLevel = segments.length === 1 && (method === 'POST' ? query.length === 0 : method === 'PUT' && query.length > 0);
  if (!instance && !typeLevel) throw unsupportedRequest(request);
  assertResourceType(type);
  if (method === 'POST') {
    const existing = request.ifNoneExist ? atMostOne(await findMatches(tx, ctx, type, request.ifNoneExist), 'create') : undefined;
    const assignedId = existing?.id ?? newId(request);
    return { entry, target: `${type}/${assignedId}`, assignedId };
  }
  if (id !== undefined) return { entry, target: `${type}/${id}` };
  // Conditional update: the match, else the body's id, else a new one written into the body.
  const match = atMostOne(await findMatches(tx, ctx, type, request.query), 'update');
  const body = request.resource;
  const isObject = body !== null && typeof body === 'object' && !Array.isArray(body);
  const bodyId = isObject ? (body as { id?: unknown }).id : undefined;
  const chosen = match?.id ?? (typeof bodyId === 'string' ? bodyId : randomUUID());
  // Anything but an object is left for the update to refuse (400), as the REST route would.
  const resource = isObject && bodyId === undefined ? { ...body, id: chosen } : body;
  return { entry: { ...entry, request: { ...request, resource } }, target: `${type}/${chosen}` };
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

/** The entry with its resource's references replaced (a PATCH's Binary holds no references). */
function withReferences(entry: AdmittedEntry, targets: ReferenceTargets): AdmittedEntry {
  if (entry.request.method === 'PATCH') return entry;
  return { ...entry, request: { ...entry.request, resource: replaceReferences(entry.request.resource, targets) } };
}

/**
 * One transaction's progress: the results so far, the fullUrls and
 * conditional references resolved so far, and the entry being worked on
 * (the one a failure is audited against). Built afresh for each attempt of
 * the unit of work (MongoDB retries transient errors), so the input stays
 * untouched.
 */
class TransactionRun {
  readonly results: EntryResult[];
  readonly targets = new Map<string, string>();
  readonly touched = new TouchedResources();
  /** What the planned writes will create or update: references to them resolve (reference-integrity.ts). */
  private readonly planned = new Set<string>();
  private readonly inUnit: RouteServices;

  constructor(
    services: RouteServices,
    private readonly entries: EntryRunner & { preference: EntryReturn; newId?: NewId },
    private readonly tx: StorageOps,
    /** The context of a conditional reference's search, by the type it searches (admitted before the unit of work). */
    private readonly searchContexts: ReadonlyMap<string, RequestContext>,
    private readonly security: EntrySecurity,
    size: number,
    private readonly onStep: (entry: AdmittedEntry) => void,
    /** The conditional references of a body, walked once per transaction (conditionalReferencesMemo). */
    readonly conditionalReferencesOf: (resource: unknown) => ReadonlySet<string>,
  ) {
    this.inUnit = { ...servicesInUnit(services, tx), plannedTargets: this.planned };
    this.results = new Array(size);
  }

  /** Runs `work` for `entry`: whatever fails there names the entry and is audited against it. */
  step<T>(entry: AdmittedEntry, work: () => Promise<T>): Promise<T> {
    this.onStep(entry);
    return atEntry(entry.request, work);
  }

  async run(entry: AdmittedEntry, assignedId?: string): Promise<EntryResult> {
    const { entries } = this;
    const result = await this.step(entry, () => executeEntry(this.inUnit, entry.ctx, entry.request, entries, entries.preference, assignedId));
    this.results[entry.request.index] = result;
    return result;
  }

  /** An operation that changes state: checked as a write, then run (its references are its own business, not the transaction's). */
  async runOperation(entry: AdmittedEntry): Promise<void> {
    await this.step(entry, () => this.security.checkWrite(entry, this.inUnit.storage));
    await this.run(entry);
  }

  async runDelete(entry: AdmittedEntry): Promise<void> {
    const deleted = (await this.run(entry)).record;
    const { segments } = entry.request;
    const target = deleted ? `${deleted.resourceType}/${deleted.id}` : segments.length === 2 ? segments.join('/') : undefined;
    if (target) this.touched.add(target, entry.request);
  }

  /** Plans creates, updates and patches in the given order, recording the `Type/id` each entry's fullUrl stands for. */
  async plan(writes: AdmittedEntry[]): Promise<PlannedWrite[]> {
    const planned: PlannedWrite[] = [];
    for (const entry of writes) {
      const write = await this.step(entry, () => planWrite(this.tx, withCriteria(entry, this.targets), this.entries.newId));
      if (entry.request.fullUrl !== undefined && entry.request.method !== 'PATCH') this.targets.set(entry.request.fullUrl, write.target);
      planned.push(write);
    }
    return planned;
  }

  /**
   * Records the resources planned writes act on. Called after the deletes
   * have recorded theirs, so that a conflict fails the entry the spec
   * processes later, as if the writes had been planned after them.
   */
  claim(writes: PlannedWrite[]): PlannedWrite[] {
    for (const { entry, target } of writes) {
      this.onStep(entry);
      this.touched.add(target, entry.request);
      this.planned.add(target);
    }
    return writes;
  }

  /**
   * Writes one planned entry: its fullUrl references replaced, then its
   * conditional references resolved (a search through the caller's access
   * filter, which sees what this transaction wrote before), then the write
   * check on the final body, then the write. With `mayWait`, a conditional
   * reference that matches nothing yet leaves the entry unwritten (false).
   */
  async write({ entry, assignedId }: PlannedWrite, mayWait: boolean): Promise<boolean> {
    for (const reference of this.conditionalReferencesOf(entry.request.resource)) {
      if (this.targets.has(reference)) continue;
      const ctx = this.searchContexts.get(conditionalReferenceType(reference)) as RequestContext;
      const resolved = await this.step(entry, () => (mayWait ? conditionalTarget : resolveConditionalReference)(this.tx, ctx, reference));
      if (resolved === undefined) return false;
      this.targets.set(reference, resolved);
    }
    const final = withReferences(entry, this.targets);
    await this.step(final, () => this.security.checkWrite(final, this.inUnit.storage));
    await this.run(final, assignedId);
    return true;
  }
}

/** The entry with the fullUrls in its search criteria (conditional URL, ifNoneExist, a read's query) replaced by `Type/id`. */
function withCriteria(entry: AdmittedEntry, targets: ReferenceTargets): AdmittedEntry {
  const { request } = entry;
  const ifNoneExist = request.ifNoneExist && replaceInCriteria(request.ifNoneExist, targets);
  return { ...entry, request: { ...request, query: replaceInCriteria(request.query, targets), ...(ifNoneExist ? { ifNoneExist } : {}) } };
}

/**
 * The spec resolves conditional references once the bundle's resources are
 * known ("at commit time"); here they are resolved when the entry holding
 * them is written, by a search that sees what the transaction wrote before.
 * So every entry without conditional references is written first, POSTs
 * then PUTs and PATCHes, and only then the entries with some (in the same
 * phase order). The ids were planned beforehand, so this order changes
 * nothing else.
 */
function referencesLast(writes: PlannedWrite[], conditionalReferencesOf: (resource: unknown) => ReadonlySet<string>): PlannedWrite[] {
  // Ranked once per entry, not once per comparison.
  const rank = new Map(writes.map(({ entry: { request } }) => [request, 4 * Number(conditionalReferencesOf(request.resource).size > 0) + phaseOf(request)]));
  const rankOf = (write: PlannedWrite) => rank.get(write.entry.request) as number;
  return [...writes].sort((a, b) => rankOf(a) - rankOf(b) || a.entry.request.index - b.entry.request.index);
}

/**
 * Writes the planned entries (`referencesLast`) in rounds: an entry whose
 * conditional reference matches nothing yet waits for the next round, since
 * an entry written after it (itself holding a conditional reference) may
 * create its target. A round that writes nothing fails on the first entry
 * still waiting (412). Rounds beyond the first only happen for such chains.
 */
async function writeAll(run: TransactionRun, planned: PlannedWrite[]): Promise<void> {
  let steps = 0;
  let waiting = referencesLast(planned, run.conditionalReferencesOf);
  while (waiting.length > 0) {
    const next: PlannedWrite[] = [];
    for (const write of waiting) {
      if (++steps % ENTRIES_BETWEEN_YIELDS === 0) await yieldToEventLoop();
      if (!(await run.write(write, true))) next.push(write);
    }
    if (next.length === waiting.length) await run.write(next.shift() as PlannedWrite, false);
    waiting = next;
  }
}

/**
 * A transaction: every entry admitted first (a refusal fails it before
 * anything is locked or written), then in one unit of work, in the spec's
 * order; the first entry that fails rolls everything back and its error
 * (naming the entry) is the answer. Every entry is audited once the outcome
 * is known: all of them when it commits, the failing one when it does not.
 * Returns the results in the bundle's order.
 */
export async function runTransaction(
  services: RouteServices,
  requests: EntryRequest[],
  security: EntrySecurity,
  entries: EntryRunner & { preference: EntryReturn; newId?: NewId },
): Promise<EntryResult[]> {
  let current: ClassifiedRequest | undefined;
  try {
    const admitted: AdmittedEntry[] = [];
    const searchContexts = new Map<string, RequestContext>();
    const conditionalReferencesOf = conditionalReferencesMemo();
    for (const request of processingOrder(requests)) {
      current = undefined;
      const classified = (current = await atEntry(request, async () => security.classify(request)));
      admitted.push(await atEntry(request, () => security.admit(request, classified)));
      // Admitted now, outside the unit of work: building an access filter reads the storage (Consents).
      // Only writes resolve conditional references: a resource sent to an operation is taken as it is.
      const references = isWrite(request) ? conditionalReferencesOf(request.resource) : new Set<string>();
      for (const type of new Set([...references].map(conditionalReferenceType))) {
        if (!searchContexts.has(type)) searchContexts.set(type, await atEntry(request, () => security.searchContext(type)));
      }
    }
    const results = await services.storage.unitOfWork(async (tx) => {
      const run = new TransactionRun(
        services,
        entries,
        tx,
        searchContexts,
        security,
        requests.length,
        (entry) => (current = entry.classified),
        conditionalReferencesOf,
      );
      const writes = admitted.filter((e) => phaseOf(e.request) === PHASE.POST || phaseOf(e.request) === PHASE.PUT);
      // The ids of unconditional writes need no search: known first, so that the criteria of the
      // conditional deletes, creates and updates can name their fullUrls (`subject=urn:uuid:...`).
      const unconditional = await run.plan(writes.filter((e) => !isConditionalWrite(e.request)));
      for (const entry of admitted.filter((e) => phaseOf(e.request) === PHASE.DELETE)) await run.runDelete(withCriteria(entry, run.targets));
      // Conditional creates and updates search after the deletes, whose effect they must see.
      const planned = [...run.claim(unconditional), ...run.claim(await run.plan(writes.filter((e) => isConditionalWrite(e.request))))];
      await writeAll(run, planned);
      for (const entry of admitted.filter((e) => phaseOf(e.request) === STATE_OPERATIONS)) await run.runOperation(withCriteria(entry, run.targets));
      let reads = 0;
      for (const entry of admitted.filter((e) => phaseOf(e.request) === READS)) {
        // Searches cost more than writes: the event loop gets its turn between chunks of them too.
        if (++reads % ENTRIES_BETWEEN_YIELDS === 0) await yieldToEventLoop();
        await run.run(withCriteria(entry, run.targets));
      }
      return run.results;
    });
    current = undefined;
    for (const entry of admitted) {
      // Every admitted entry ran in the unit of work above, so each has its result.
      const result = results[entry.request.index]!;
      await security.audit(entry.classified, result.status, result);
    }
    return results;
  } catch (error) {
    if (current) await security.audit(current, error instanceof FhirError ? error.status : 500);
    throw error;
  }
}
