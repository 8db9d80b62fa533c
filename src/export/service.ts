/**
 * Bulk Data export (Bulk Data Access IG 2.0.0, export.html): kick-off, status,
 * files, cancel and expiry, over the stored jobs (src/storage/export-jobs.ts)
 * and the runner (runner.ts). One module owns the job's life:
 *   running -> completed | failed -> (expired or deleted) gone.
 * A job the server was running when it stopped is run again from the start
 * at the next start, with its original transactionTime: the snapshot rule
 * (runner.ts) makes the rerun export exactly what the first run would have.
 */
import { randomUUID } from 'node:crypto';
import type { Principal, RequestContext } from '../context';
import { FhirError, notFound, operationOutcome } from '../errors';
import { resourceTypes } from '../fhir/definitions';
import type { Group } from 'fhir/r4';
import type { AnyResource, OperationOutcome } from '../fhir/types';
import type { Services } from '../interactions/services';
import { compartmentTypes } from '../search/compartment';
import { auditEvents, jobEntity } from '../security/audit/audit-event';
import type { RequestGuard } from '../security/request-guard';
import { scopesGranting, tokenScopes } from '../security/scopes/authorize';
import type { ExportJobStore } from '../storage/export-jobs';
import { ExportFolder } from './files';
import { ownerOf, storePrincipal, type ExportJob, type ExportRequest } from './job';
import { parseKickoff, type KickoffInput } from './kickoff';
import { JobRun, type RunResult } from './runner';

export interface ExportSettings {
  /** EXPORT_MAX_JOBS_PER_CLIENT: running jobs per principal. */
  maxJobsPerClient: number;
  /** EXPORT_MAX_JOBS: running jobs in all. */
  maxJobs: number;
  /** EXPORT_FILE_MAX_RESOURCES. */
  fileMaxResources: number;
  /** EXPORT_RETENTION_HOURS after completion (fractions allowed). */
  retentionHours: number;
  /** EXPORT_DIR: where the files are written. */
  dir: string;
  /** The polling interval advertised in Retry-After; polling faster than half of it answers 429. */
  pollSeconds: number;
  /** Resources per chunk (one search page, at most 1000). */
  chunkSize: number;
  /** The clock retention is measured with (tests control it). */
  clock: () => Date;
}

export const DEFAULT_EXPORT_SETTINGS: Omit<ExportSettings, 'dir'> = {
  maxJobsPerClient: 2,
  maxJobs: 8,
  fileMaxResources: 100_000,
  retentionHours: 24,
  pollSeconds: 2,
  chunkSize: 250,
  clock: () => new Date(),
};

/** Where the AuditEvents of the jobs go: the audit module's buffer (the HTTP layer passes it). */
export type ExportAuditSink = (events: AnyResource[]) => void;

export interface ExportDeps {
  services: Services;
  guard: RequestGuard;
  jobs: ExportJobStore;
  baseUrl: string;
  audit: ExportAuditSink;
  settings: ExportSettings;
}

export type ExportStatus =
  | { kind: 'running'; progress: string; retryAfter: number }
  | { kind: 'completed'; manifest: Record<string, unknown>; expires: Date }
  | { kind: 'failed'; outcome: OperationOutcome };

export interface KickoffCall {
  level: KickoffInput['level'];
  groupId?: string;
  parameters: KickoffInput['parameters'];
  query: KickoffInput['query'];
  isPost: boolean;
  respondAsync: boolean;
  lenient: boolean;
  networkAddress: string;
}

const STATUS_PATH = '$export-status';

const tooMany = (message: string, retryAfter: number) =>
  new FhirError(429, [{ severity: 'error', code: 'throttled', diagnostics: message }], { 'retry-after': String(retryAfter) });

/** What an export-level default exports: at the system level every type the scopes let the principal search; else the Patient compartment. */
function defaultTypes(principal: Principal, level: KickoffInput['level']): string[] {
  // The access log is kept apart and searched at /AuditEvent only (docs/bulk-export.md): never exported.
  const candidates = (level === 'system' ? resourceTypes() : compartmentTypes()).filter((type) => type !== 'AuditEvent');
  const scopes = tokenScopes(principal);
  return scopes ? candidates.filter((type) => scopesGranting(scopes, type, 's').length > 0) : [...candidates];
}

function queryString(pairs: KickoffInput['query']): string {
  const text = new URLSearchParams(pairs.map(([key, value]): [string, string] => [key, value])).toString();
  return text === '' ? '' : `?${text}`;
}

export class ExportService {
  private readonly folder: ExportFolder;
  /** Jobs running in this process, and how far each is. */
  private readonly running = new Map<string, { progress: string; stop: boolean; done: Promise<void> }>();
  private readonly lastPoll = new Map<string, number>();
  private stopping = false;
  private sweeper: NodeJS.Timeout | undefined;
  /** Kick-offs one at a time, so that the limits count every job exactly (MongoDB's store is asynchronous). */
  private admission: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ExportDeps) {
    this.folder = new ExportFolder(deps.settings.dir);
  }

  private now(): Date {
    return this.deps.settings.clock();
  }

  /** Resumes the jobs a stopped server was running, and starts the expiry sweep. */
  async start(): Promise<void> {
    for (const stored of await this.deps.jobs.list('running')) this.launch(stored.document as unknown as ExportJob);
    await this.sweep();
    this.sweeper = setInterval(() => void this.sweep().catch(() => undefined), 60_000);
    this.sweeper.unref();
  }

  /** Stops the runners (their jobs stay `running` and are resumed at the next start). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const run of this.running.values()) run.stop = true;
    await Promise.all([...this.running.values()].map((run) => run.done));
  }

  /** The kick-off: validated, limited, stored and started; answers the status URL. */
  kickOff(ctx: RequestContext, call: KickoffCall): Promise<string> {
    if (!call.respondAsync) throw FhirError.of(400, 'invalid', '$export is asynchronous: send Prefer: respond-async');
    if (call.level === 'system') this.assertSystemScopes(ctx.principal);
    const path = call.level === 'system' ? '$export' : call.level === 'patient' ? 'Patient/$export' : `Group/${call.groupId ?? ''}/$export`;
    const request = parseKickoff(
      { ...call, baseUrl: ctx.baseUrl, requestUrl: `${ctx.baseUrl}/${path}${call.isPost ? '' : queryString(call.query)}` },
      defaultTypes(ctx.principal, call.level),
    );
    const next = this.admission.then(async () => {
      const withMembers = call.level === 'group' ? await this.withGroupMembers(ctx, request) : request;
      return this.create(ctx, withMembers, call.networkAddress);
    });
    this.admission = next.catch(() => undefined);
    return next;
  }

  /** A system-level export needs `system/` read scopes (export.html "Bulk Data Kick-off": Backend Services). */
  private assertSystemScopes(principal: Principal): void {
    const scopes = tokenScopes(principal);
    if (scopes && !scopes.some((scope) => scope.context === 'system' && scope.permissions.has('s'))) {
      throw FhirError.of(403, 'forbidden', 'A system-level $export needs system/ read scopes; use Patient/$export or Group/[id]/$export');
    }
  }

  /**
   * The Group's member Patients as they stand at kick-off, and the members
   * of the Groups it lists (nested), read with the caller's access filter:
   * a Group it may not see is unknown (404). Only members: never another
   * Group's, unless this one lists it. An inactive member is not a member.
   */
  private async withGroupMembers(ctx: RequestContext, request: ExportRequest): Promise<ExportRequest> {
    const members = new Set<string>();
    const visited = new Set<string>();
    const visit = async (id: string, top: boolean): Promise<void> => {
      if (visited.has(id)) return;
      visited.add(id);
      const record = await this.deps.services.storage.read(ctx, 'Group', id);
      if (!record?.resource || record.deleted) {
        if (top) throw notFound(`Group/${id} is not known`);
        return;
      }
      for (const member of (record.resource as unknown as Group).member ?? []) {
        if (member.inactive) continue;
        const [type, memberId] = (member.entity.reference ?? '').split('/');
        if (type === 'Patient' && memberId) members.add(memberId);
        if (type === 'Group' && memberId) await visit(memberId, false);
      }
    };
    await visit(request.groupId ?? '', true);
    if (!request.patients) return { ...request, patients: [...members] };
    const outside = request.patients.filter((id) => !members.has(id));
    return {
      ...request,
      patients: request.patients.filter((id) => members.has(id)),
      problems: [...request.problems, ...outside.map((id) => `Patient/${id} is not a member of Group/${request.groupId ?? ''}; left out`)],
    };
  }

  private async create(ctx: RequestContext, request: ExportRequest, networkAddress: string): Promise<string> {
    const owner = ownerOf(ctx.principal);
    const running = await this.deps.jobs.list('running');
    const retryAfter = this.deps.settings.pollSeconds * 30;
    if (running.filter((job) => job.owner === owner).length >= this.deps.settings.maxJobsPerClient) {
      throw tooMany(`At most ${this.deps.settings.maxJobsPerClient} export jobs may run per client; wait for one to finish or cancel one`, retryAfter);
    }
    if (running.length >= this.deps.settings.maxJobs) throw tooMany(`The server runs ${this.deps.settings.maxJobs} export jobs already; try again later`, retryAfter);
    // transactionTime is strictly before any write that commits after the kick-off answer.
    const transactionTime = new Date().toISOString();
    while (new Date().toISOString() <= transactionTime) await new Promise((resolve) => setTimeout(resolve, 1));
    const job: ExportJob = {
      ...request,
      id: randomUUID(),
      owner,
      principal: storePrincipal(ctx.principal),
      networkAddress,
      transactionTime,
      state: 'running',
      output: [],
    };
    await this.deps.jobs.insert({ id: job.id, owner, state: 'running', document: job as unknown as Record<string, unknown> });
    this.auditKickoff(ctx.principal, job);
    this.launch(job);
    return `${ctx.baseUrl}/${STATUS_PATH}/${job.id}`;
  }

  private launch(job: ExportJob): void {
    const entry = { progress: 'starting', stop: false, done: Promise.resolve() };
    this.running.set(job.id, entry);
    const control = {
      stopped: () => entry.stop || this.stopping,
      progress: (exported: number, step: string) => {
        entry.progress = `${exported} resources exported; ${step}`;
      },
    };
    const { services, guard, baseUrl, settings } = this.deps;
    entry.done = (async () => {
      // Off the request that started it.
      await new Promise((resolve) => setImmediate(resolve));
      try {
        const run = new JobRun({ services, guard, baseUrl, folder: this.folder, chunkSize: settings.chunkSize, fileMaxResources: settings.fileMaxResources }, job, control);
        const result = await run.run();
        if (result && !control.stopped()) await this.complete(job, result);
      } catch (error) {
        if (!control.stopped()) await this.fail(job, error);
      } finally {
        this.running.delete(job.id);
        if (entry.stop) this.folder.remove(job.id);
      }
    })();
  }

  private async complete(job: ExportJob, result: RunResult): Promise<void> {
    const completedAt = this.now();
    const expiresAt = new Date(completedAt.getTime() + this.deps.settings.retentionHours * 3_600_000);
    const done: ExportJob = {
      ...job,
      state: 'completed',
      output: result.output,
      ...(result.deletedFile ? { deletedFile: result.deletedFile } : {}),
      ...(result.errorFile ? { errorFile: result.errorFile } : {}),
      completedAt: completedAt.toISOString(),
      expiresAt: expiresAt.toISOString(),
    };
    if (!(await this.deps.jobs.get(job.id))) return;
    await this.deps.jobs.save({ id: job.id, owner: job.owner, state: 'completed', document: done as unknown as Record<string, unknown> });
    this.auditPatients(done, result);
  }

  private async fail(job: ExportJob, error: unknown): Promise<void> {
    // The message of a FhirError is the client's business; anything else is not described (it may name data).
    const failure = error instanceof FhirError ? error.message : 'The export failed on the server';
    this.folder.remove(job.id);
    if (!(await this.deps.jobs.get(job.id))) return;
    await this.deps.jobs.save({ id: job.id, owner: job.owner, state: 'failed', document: { ...job, state: 'failed', failure } as unknown as Record<string, unknown> });
  }

  /** One AuditEvent per patient whose data went into the job, naming the job and the types exported. */
  private auditPatients(job: ExportJob, result: RunResult): void {
    const principal = this.principalOf(job);
    const resources = [...result.patients].map((patient) => ({ reference: `Patient/${patient}`, patients: [patient] }));
    if (resources.length === 0) return;
    this.audit(
      this.events(principal, job, resources, { types: result.types.join(','), transactionTime: job.transactionTime }),
    );
  }

  /**
   * The kick-off names the job it started: the request's own AuditEvent
   * (install-audit.ts) is written before the job exists, so it cannot, and
   * the later events of the job (per patient, files, cancel) are found by
   * the same job identifier.
   */
  private auditKickoff(principal: Principal, job: ExportJob): void {
    const details = { level: job.level, types: job.types.join(','), transactionTime: job.transactionTime, ...(job.groupId ? { group: job.groupId } : {}) };
    this.audit(this.events(principal, job, [], details, 'operation', '$export-kickoff'));
  }

  private principalOf(job: ExportJob): Principal {
    // Restored only for the agent of the AuditEvent: scopes do not matter there.
    const stored = job.principal;
    const token = stored.token ? { ...stored.token, scopes: [] } : undefined;
    return stored.kind === 'user' ? { ...stored, token: token ?? { issuer: '', scopes: [] } } : token ? { kind: 'operator', token } : { kind: 'operator' };
  }

  private events(
    principal: Principal,
    job: ExportJob,
    resources: Array<{ reference: string; patients: string[] }>,
    details: Record<string, string>,
    interaction: 'operation' | 'read' | 'delete' = 'operation',
    operation = '$export',
  ): AnyResource[] {
    // As for requests (install-audit.ts): the operator without a token (AUTH_MODE=off) is not audited.
    if (principal.kind === 'operator' && !principal.token) return [];
    return auditEvents({
      principal,
      interaction,
      operation,
      recorded: new Date(),
      outcome: '0',
      networkAddress: job.networkAddress,
      baseUrl: this.deps.baseUrl,
      resources,
      extraEntities: [jobEntity(this.deps.baseUrl, job.id, details)],
    }) as unknown as AnyResource[];
  }

  private audit(events: AnyResource[]): void {
    if (events.length > 0) this.deps.audit(events);
  }

  /** The job of this id when `principal` started it and it has not expired; anyone else is told 404. */
  private async ownJob(principal: Principal, id: string): Promise<ExportJob> {
    const stored = await this.deps.jobs.get(id);
    if (!stored || stored.owner !== ownerOf(principal)) throw notFound(`There is no export job ${id}`);
    const job = stored.document as unknown as ExportJob;
    if (job.expiresAt !== undefined && Date.parse(job.expiresAt) <= this.now().getTime()) {
      await this.remove(job.id);
      throw notFound(`There is no export job ${id}`);
    }
    return job;
  }

  async status(principal: Principal, id: string): Promise<ExportStatus> {
    const job = await this.ownJob(principal, id);
    if (job.state === 'failed') {
      return { kind: 'failed', outcome: operationOutcome([{ severity: 'error', code: 'exception', diagnostics: job.failure ?? 'The export failed' }]) };
    }
    if (job.state === 'running') {
      const now = this.now().getTime();
      const last = this.lastPoll.get(id);
      const interval = this.deps.settings.pollSeconds * 1000;
      if (last !== undefined && now - last < interval / 2) throw tooMany(`Poll at most every ${this.deps.settings.pollSeconds} s`, this.deps.settings.pollSeconds);
      this.lastPoll.set(id, now);
      return { kind: 'running', progress: this.running.get(id)?.progress ?? 'queued', retryAfter: this.deps.settings.pollSeconds };
    }
    return { kind: 'completed', manifest: this.manifest(job), expires: new Date(job.expiresAt ?? 0) };
  }

  /** export.html "Complete Status": requiresAccessToken, output, deleted and error always present. */
  private manifest(job: ExportJob): Record<string, unknown> {
    const url = (name: string) => `${this.deps.baseUrl}/${STATUS_PATH}/${job.id}/${name}`;
    const entry = (file: { type: string; name: string; count: number }) => ({ type: file.type, url: url(file.name), count: file.count });
    return {
      transactionTime: job.transactionTime,
      request: job.requestUrl,
      requiresAccessToken: true,
      output: job.output.map(entry),
      deleted: job.deletedFile ? [entry(job.deletedFile)] : [],
      error: job.errorFile ? [entry(job.errorFile)] : [],
    };
  }

  /** A finished file of a completed job, for its owner; audited once per download, naming the job and the file. */
  async file(principal: Principal, id: string, name: string): Promise<string> {
    const job = await this.ownJob(principal, id);
    const path = job.state === 'completed' ? this.folder.pathOf(job.id, name) : undefined;
    if (!path) throw notFound(`Export job ${id} has no file ${name}`);
    this.audit(this.events(principal, job, [], { file: name }, 'read', '$export-file'));
    return path;
  }

  /** Cancels a running job or deletes a finished one: its files are removed at once. */
  async cancel(principal: Principal, id: string): Promise<void> {
    const job = await this.ownJob(principal, id);
    await this.remove(job.id);
    this.audit(this.events(principal, job, [], { cancelled: job.state }, 'delete', '$export-cancel'));
  }

  private async remove(id: string): Promise<void> {
    await this.deps.jobs.remove(id);
    const run = this.running.get(id);
    if (run) run.stop = true;
    this.lastPoll.delete(id);
    this.folder.remove(id);
  }

  /** Deletes the jobs (and files) whose retention has passed. */
  async sweep(): Promise<void> {
    const now = this.now().getTime();
    for (const stored of await this.deps.jobs.list()) {
      const expiresAt = (stored.document as unknown as ExportJob).expiresAt;
      if (expiresAt !== undefined && Date.parse(expiresAt) <= now) await this.remove(stored.id);
    }
  }
}
