/**
 * One export job's work, off the request path: the searches it runs, page
 * by page (a chunk), with the job principal's access filter (scopes and
 * Consents, applied inside each query as for any search), each resource in
 * its version as of transactionTime, into NDJSON files. Between chunks it
 * yields to the event loop so that requests interleave with it.
 */
import type { RequestContext } from '../context';
import type { AnyResource, Bundle } from '../fhir/types';
import type { VersionRecord } from '../fhir/version-record';
import type { QueryPairs } from '../interactions/conditional';
import type { Services } from '../interactions/services';
import { compartmentAccess, compartmentCondition, compartmentConditionForTypes, type Compartments } from '../search/compartment';
import { createIndexer } from '../search/indexer';
import { parseSearch } from '../search/parse';
import type { Condition, CursorPosition, SearchQuery } from '../search/query';
import { subsetResource } from '../search/subset';
import { patientsOfFactory } from '../security/audit/patients-of';
import type { RequestGuard } from '../security/request-guard';
import { parseSearchWithStoredTerminology } from '../terminology/stored-terminology';
import { NdjsonWriter, type ExportFolder } from './files';
import { restorePrincipal, type ExportJob, type OutputFile } from './job';
import { anyOf, SnapshotChanges, type Verdict } from './snapshot';

export interface RunnerDeps {
  services: Services;
  guard: RequestGuard;
  baseUrl: string;
  folder: ExportFolder;
  /** Resources per search page (one chunk). */
  chunkSize: number;
  fileMaxResources: number;
}

export interface RunControl {
  /** True once the job is cancelled or the server stops: the run ends without completing anything. */
  stopped(): boolean;
  /** Called after each chunk. */
  progress(exported: number, step: string): void;
}

export interface RunResult {
  output: OutputFile[];
  deletedFile?: OutputFile;
  errorFile?: OutputFile;
  /** The patients whose data went into the job (for their AuditEvents). */
  patients: Set<string>;
  types: string[];
}

/** One search of the plan: a type (or the unfiltered types of a compartment level, together), its criteria, a batch of compartments. */
interface PlannedQuery {
  types: string[];
  pairs: QueryPairs;
  /** The patients whose compartments the search is restricted to (Patient and Group levels). */
  patients?: string[];
  /** `_since` applies (not to the Patients whose compartments are listed). */
  since: boolean;
}

/** A planned query parsed once, with the context (access filter) its pages run with. */
interface PreparedQuery {
  query: SearchQuery;
  ctx: RequestContext;
}

/**
 * Patients per compartment search at the Patient and Group levels: their
 * references are the values of one condition (an indexed IN test), so the
 * number of searches grows with patients / PATIENT_BATCH, not with patients.
 */
export const PATIENT_BATCH = 500;

const yieldToRequests = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The searches of a type: one per `_typeFilter` (ORed), or one for the whole type. */
function queriesOfType(job: ExportJob, type: string, patients?: string[]): PlannedQuery[] {
  const filters = job.typeFilters[type] ?? [''];
  return filters.map((filter) => ({ types: [type], pairs: [...new URLSearchParams(filter).entries()], since: true, ...(patients ? { patients } : {}) }));
}

/** The plan for a batch of compartments: the unfiltered types in one search, each filter in its own. */
function compartmentQueries(job: ExportJob, patients: string[]): PlannedQuery[] {
  const plain = job.types.filter((type) => !job.typeFilters[type]);
  const filtered = job.types.filter((type) => job.typeFilters[type]).flatMap((type) => queriesOfType(job, type, patients));
  return [...(plain.length > 0 ? [{ types: plain, pairs: [], since: true, patients }] : []), ...filtered];
}

export class JobRun {
  private readonly writer: NdjsonWriter;
  private readonly seen = new Set<string>();
  private readonly patients = new Set<string>();
  private readonly patientsOf: (resource: AnyResource) => string[];
  private exported = 0;
  private ctx!: RequestContext;
  private readonly snapshot: SnapshotChanges;
  /** Resources changed after transactionTime whose version then the in-memory matcher could not decide: left out. */
  private undecided = 0;
  /** The patients whose compartments a Patient- or Group-level job exports; undefined at the system level. */
  private compartments: Set<string> | undefined;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly job: ExportJob,
    private readonly control: RunControl,
  ) {
    this.writer = new NdjsonWriter(deps.folder.fresh(job.id), deps.fileMaxResources);
    this.patientsOf = patientsOfFactory(deps.baseUrl);
    this.snapshot = new SnapshotChanges(deps.services.storage, deps.baseUrl, job.transactionTime, createIndexer({ baseUrl: deps.baseUrl }), deps.chunkSize);
  }

  /** Runs the job to the end; undefined when it was stopped (its partial files stay `.part` and are removed on the next run). */
  async run(): Promise<RunResult | undefined> {
    try {
      return await this.runAll();
    } finally {
      this.writer.abandon();
    }
  }

  private async runAll(): Promise<RunResult | undefined> {
    const { job } = this;
    // The job's own principal, with its access filter as of now: the same filter a search of theirs gets.
    this.ctx = await this.deps.guard.admit({
      principal: restorePrincipal(job.principal, this.deps.baseUrl),
      classified: { interaction: 'search-system', permissions: ['s'], accessPermission: 's' },
      requestId: `export-${job.id}`,
      now: new Date(),
    });
    if (job.level === 'system') {
      const plan = job.types.flatMap((type) => queriesOfType(job, type));
      for (const [index, query] of plan.entries()) if (!(await this.runQuery(query, `${query.types.join(',')} (search ${index + 1} of ${plan.length})`))) return undefined;
    } else {
      const patients = job.patients ?? (await this.visiblePatients());
      if (!patients) return undefined;
      for (let at = 0; at < patients.length; at += PATIENT_BATCH) {
        const batch = patients.slice(at, at + PATIENT_BATCH);
        const step = `patients ${at + 1}-${at + batch.length} of ${patients.length}`;
        for (const query of compartmentQueries(job, batch)) if (!(await this.runQuery(query, step))) return undefined;
      }
      this.compartments = new Set(patients);
    }
    if (!(await this.changedSinceKickoff())) return undefined;
    const deleted = job.since !== undefined && job.level === 'system' ? await this.deletions() : [];
    if (this.control.stopped()) return undefined;
    for (const bundle of deleted) this.writer.write('Bundle', bundle, 'deleted');
    const undecided = this.undecided > 0 ? [`${this.undecided} resources changed during the export could not be checked as of transactionTime against the criteria and were left out`] : [];
    for (const problem of [...job.problems, ...undecided]) {
      this.writer.write('OperationOutcome', { resourceType: 'OperationOutcome', issue: [{ severity: 'warning', code: 'processing', diagnostics: problem }] }, 'error');
    }
    const files = this.writer.finish();
    const isData = (file: OutputFile) => !file.name.startsWith('deleted-') && !file.name.startsWith('error-');
    const deletedFile = files.find((file) => file.name.startsWith('deleted-'));
    const errorFile = files.find((file) => file.name.startsWith('error-'));
    return {
      output: files.filter(isData),
      ...(deletedFile ? { deletedFile } : {}),
      ...(errorFile ? { errorFile } : {}),
      patients: this.patients,
      types: [...new Set(files.filter(isData).map((file) => file.type))],
    };
  }

  /** The Patient level: every patient the principal may see, as of transactionTime. */
  private async visiblePatients(): Promise<string[] | undefined> {
    const ids: string[] = [];
    const prepared = await this.prepare({ types: ['Patient'], pairs: [], since: false });
    for await (const records of this.pages(prepared)) {
      for (const record of records) if (record.resource && !this.snapshot.isNewer(record.resource)) ids.push(record.id);
      if (!(await this.keepGoing())) return undefined;
    }
    // The Patients changed since kick-off, as they were then: the search saw their current rows.
    const changed = await this.snapshot.changed(new Set(['Patient']), new Date().toISOString(), () => this.keepGoing());
    if (!changed) return undefined;
    for (const ref of changed) {
      const then = await this.snapshot.versionThen(ref);
      if (!then || ids.includes(ref.id)) continue;
      const verdict = this.snapshot.decide(then, this.accessConditions('Patient'));
      if (verdict === undefined) this.undecided++;
      else if (verdict) ids.push(ref.id);
    }
    return ids;
  }

  private async keepGoing(): Promise<boolean> {
    await yieldToRequests();
    return !this.control.stopped();
  }

  private accessConditions(type: string): Condition[] {
    return this.ctx.access?.conditionsFor(type) ?? [];
  }

  /**
   * A planned search as the storage's query, parsed once (value sets stored
   * on the server count for `:in`, as in a search): `_since`, the batch's
   * compartments and the principal's access filter, which the storage
   * applies inside the query. Several types in one search get the exact
   * per-type compartment test through the filter (search/compartment.ts).
   */
  private async prepare(planned: PlannedQuery): Promise<PreparedQuery> {
    const since: QueryPairs = planned.since && this.job.since ? [['_lastUpdated', `gt${this.job.since}`]] : [];
    const options = { strict: true, baseUrl: this.deps.baseUrl };
    const { query: parsed } = await parseSearchWithStoredTerminology(this.deps.services.storage, this.ctx, planned.types, [...planned.pairs, ...since], options);
    const query: SearchQuery = { ...parsed, count: this.deps.chunkSize, offset: 0, total: 'none', include: [], revinclude: [] };
    if (!planned.patients) return { query, ctx: this.ctx };
    const compartments: Compartments = { type: 'Patient', ids: planned.patients };
    const [single] = planned.types;
    if (planned.types.length === 1 && single !== undefined) {
      // The kick-off admits compartment types only at these levels: a type outside it has no condition and matches nothing.
      query.where.push(compartmentCondition(compartments, single) ?? { kind: 'constant', value: false });
      return { query, ctx: this.ctx };
    }
    query.where.push(compartmentConditionForTypes(compartments, planned.types));
    return { query, ctx: { ...this.ctx, access: compartmentAccess(compartments, this.ctx.access) } };
  }

  /** The pages of a prepared search, one chunk each: by keyset, or by offset where the engine gives no positions. */
  private async *pages(prepared: PreparedQuery): AsyncGenerator<VersionRecord[]> {
    let after: CursorPosition | undefined;
    let offset = 0;
    for (;;) {
      const result = await this.deps.services.storage.search(prepared.ctx, { ...prepared.query, ...(after ? { after } : { offset }) });
      yield result.records;
      const keyset = result.last !== undefined || result.hasMore !== undefined;
      if (keyset ? !result.hasMore || !result.last : result.records.length < prepared.query.count) return;
      if (keyset) after = result.last;
      else offset += result.records.length;
    }
  }

  /** One search, page by page; false when the job was stopped. */
  private async runQuery(planned: PlannedQuery, step: string): Promise<boolean> {
    for await (const records of this.pages(await this.prepare(planned))) {
      const written: AnyResource[] = [];
      for (const record of records) {
        // Changed since kick-off: decided by its version then, once the searches are done (changedSinceKickoff).
        const resource = record.resource && this.unchangedInSnapshot(record.resource);
        if (resource && this.write(resource)) written.push(resource);
      }
      if (this.job.latestProvenance && written.length > 0) await this.latestProvenance(written);
      this.writer.flush();
      this.control.progress(this.exported, step);
      if (!(await this.keepGoing())) return false;
    }
    return true;
  }

  /** The current version when the snapshot holds it unchanged (and it changed after `_since`); undefined otherwise. */
  private unchangedInSnapshot(current: AnyResource): AnyResource | undefined {
    if (this.snapshot.isNewer(current) || !this.changedAfterSince(current)) return undefined;
    return current;
  }

  private changedAfterSince(resource: AnyResource): boolean {
    return this.job.since === undefined || (resource.meta?.lastUpdated ?? '') > this.job.since;
  }

  /**
   * The resources of the job's types changed after transactionTime (the
   * searches skipped them): each is exported in its version as of then when
   * that version meets the job's criteria and the access filter, whether it
   * was updated or deleted since (snapshot.ts).
   */
  private async changedSinceKickoff(): Promise<boolean> {
    const changed = await this.snapshot.changed(new Set(this.job.types), new Date().toISOString(), () => this.keepGoing());
    if (!changed) return false;
    for (const ref of changed) {
      if (this.seen.has(`${ref.resourceType}/${ref.id}`)) continue;
      const then = await this.snapshot.versionThen(ref);
      if (!then || !this.changedAfterSince(then)) continue;
      const verdict = this.belongs(then);
      if (verdict === undefined) this.undecided++;
      else if (verdict) this.write(then);
    }
    this.control.progress(this.exported, 'resources changed during the export');
    return this.keepGoing();
  }

  /** Whether a version meets the job: in a compartment it exports (Patient and Group levels), one of its type's searches, the access filter. */
  private belongs(resource: AnyResource): Verdict {
    const type = resource.resourceType;
    if (this.compartments && !this.snapshot.compartmentsOf(resource).some((patient) => this.compartments?.has(patient))) return false;
    const access = this.accessConditions(type);
    return anyOf(
      queriesOfType(this.job, type).map((query) => {
        const where = this.criteriaOf(type, query.pairs);
        return where && this.snapshot.decide(resource, [...where, ...access]);
      }),
    );
  }

  /** A `_typeFilter` query as conditions; undefined when it cannot be read without the stored terminology. */
  private criteriaOf(type: string, pairs: QueryPairs): Condition[] | undefined {
    if (pairs.length === 0) return [];
    try {
      return parseSearch([type], pairs, { strict: true, baseUrl: this.deps.baseUrl }).query.where;
    } catch {
      return undefined;
    }
  }

  /**
   * The version as of transactionTime: the current one when it is not newer,
   * else the latest older version from history; undefined when the resource
   * did not exist then (created later), was deleted then, or changed no
   * later than `_since`.
   */
  private async asOfSnapshot(current: AnyResource): Promise<AnyResource | undefined> {
    const time = this.job.transactionTime;
    let resource: AnyResource | undefined = current;
    if ((current.meta?.lastUpdated ?? '') > time) {
      const page = await this.deps.services.storage.history(this.ctx, { resourceType: current.resourceType, id: current.id, at: time, count: 1, offset: 0 });
      const then = page.records[0];
      resource = then && !then.deleted ? then.resource : undefined;
    }
    if (resource && this.job.since !== undefined && (resource.meta?.lastUpdated ?? '') <= this.job.since) return undefined;
    return resource;
  }

  /** Writes a resource once (several searches may find it); false when it was already written. */
  private write(resource: AnyResource): boolean {
    const key = `${resource.resourceType}/${resource.id}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    // A Group that lists a patient is not that patient's data.
    if (resource.resourceType !== 'Group') for (const patient of this.patientsOf(resource)) this.patients.add(patient);
    this.writer.write(resource.resourceType, subsetResource(resource, undefined, this.job.elements));
    this.exported++;
    return true;
  }

  /** `includeAssociatedData=LatestProvenanceResources`: the newest Provenance (as of transactionTime) targeting each resource. */
  private async latestProvenance(targets: AnyResource[]): Promise<void> {
    const wanted = new Set(targets.map((resource) => `${resource.resourceType}/${resource.id}`));
    const latest = new Map<string, AnyResource>();
    const prepared = await this.prepare({ types: ['Provenance'], pairs: [['target', [...wanted].join(',')]], since: true });
    for await (const records of this.pages(prepared)) {
      for (const record of records) {
        const provenance = record.resource && (await this.asOfSnapshot(record.resource));
        const targetsOf = ((provenance as { target?: Array<{ reference?: string }> } | undefined)?.target ?? []).map((target) => target.reference ?? '');
        for (const target of targetsOf.filter((reference) => wanted.has(reference))) {
          const known = latest.get(target);
          if (provenance && (!known || (known.meta?.lastUpdated ?? '') < (provenance.meta?.lastUpdated ?? ''))) latest.set(target, provenance);
        }
      }
    }
    for (const provenance of latest.values()) this.write(provenance);
  }

  /**
   * `_since` at the system level: the resources whose version as of
   * transactionTime is a deletion made after `_since`, as Bundles of DELETE
   * requests (export.html "deleted"). History lists a resource for a
   * filtered principal only when its current row meets the access filter,
   * so a caller with a filter is never told of deletions it could not have seen.
   */
  private async deletions(): Promise<Bundle[]> {
    const entries: Array<{ request: { method: 'DELETE'; url: string } }> = [];
    for (const type of this.job.types) {
      const decided = new Set<string>();
      for (let offset = 0; ; offset += this.deps.chunkSize) {
        const page = await this.deps.services.storage.history(this.ctx, {
          resourceType: type,
          since: this.job.since,
          at: this.job.transactionTime,
          count: this.deps.chunkSize,
          offset,
        });
        for (const record of page.records) {
          // Newest first: the first version seen of a resource is its state as of transactionTime.
          if (decided.has(record.id)) continue;
          decided.add(record.id);
          if (record.deleted) entries.push({ request: { method: 'DELETE', url: `${type}/${record.id}` } });
        }
        if (page.records.length < this.deps.chunkSize) break;
        await yieldToRequests();
        if (this.control.stopped()) return [];
      }
    }
    const bundles: Bundle[] = [];
    for (let at = 0; at < entries.length; at += this.deps.chunkSize) {
      bundles.push({ resourceType: 'Bundle', type: 'transaction', entry: entries.slice(at, at + this.deps.chunkSize) });
    }
    return bundles;
  }
}
