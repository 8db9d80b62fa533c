import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { systemContext, type Principal } from '../../context';
import { FhirError, operationOutcome } from '../../errors';
import type { AnyResource } from '../../fhir/types';
import type { Storage } from '../../storage/port';
import type { ClassifiedRequest } from '../scopes/classify';
import { AuditBuffer, type Schedule } from './audit-buffer';
import { auditEvents, type AuditOutcome } from './audit-event';
import { entryAudit, type AuditedResource } from '../entry-audit';
import type { EntryAudit } from './entry-audits';
import { mayReadAuditLog } from './log-reads';
import { patientsOfFactory } from './patients-of';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once the request's audit record is written (the hook must not run twice). */
    audited?: boolean;
  }
  interface FastifyInstance {
    /** The AuditEvents on their way to storage (tests flush it before reading storage directly). */
    auditTrail: AuditBuffer;
  }
}

/**
 * A UUID in the layout of version 7: the first 48 bits are the clock in ms,
 * the remaining 74 random. Ids written in time order land at the end of the
 * (type, id) indexes instead of at random places: the audit log's inserts
 * touch fewer pages (about 10% less per event measured).
 */
export function timeOrderedId(now = Date.now()): string {
  const clock = now.toString(16).padStart(12, '0').slice(-12);
  const random = randomUUID();
  return `${clock.slice(0, 8)}-${clock.slice(8)}-7${random.slice(15)}`;
}

/** Authenticated callers are audited: a user, or the operator acting through a token. */
function isAudited(principal: Principal | undefined): principal is Principal {
  return principal !== undefined && (principal.kind === 'user' || principal.token !== undefined);
}

function outcomeOf(status: number, hidden: boolean): AuditOutcome {
  if (status < 400) return '0';
  return status === 401 || status === 403 || hidden ? '4' : '8';
}

export interface AuditOptions {
  storage: Storage;
  baseUrl: string;
  /** Replaces the flush timer (tests). */
  schedule?: Schedule;
  /**
   * Whether requests are audited (default true). False where no request can
   * be (AUTH_MODE=off: the operator without a token): the buffer stays for
   * the events others add (Bulk Data export jobs), the per-request hooks go.
   */
  requestHooks?: boolean;
}

const unavailable = (requestId: string) =>
  new FhirError(503, [
    { severity: 'error', code: 'transient', diagnostics: `The access log cannot be written at the moment, so nothing is served (request id ${requestId})` },
  ]);

/**
 * Records every FHIR interaction by an authenticated caller as AuditEvents
 * (audit-event.ts), and the entries of a batch or transaction each as their
 * own (`request.entryAudits`). Public requests and rejected tokens (401, no
 * caller known) are not audited.
 *
 * Durability: the events are buffered (audit-buffer.ts) and written at most
 * FLUSH_DELAY_MS after the first of them, in one unit of work per batch, and
 * on shutdown (onClose, before the storage closes); a request that may read
 * the log first waits for the buffer to be written (log-reads.ts). A crash
 * (kill -9) loses at most the events of that window. Fail closed: while the
 * audit store fails (a batch write failed and no retry has succeeded yet),
 * every authenticated request answers 503 before it runs, and one already
 * running when the failure arrives is answered 503 instead of its result,
 * its events kept for the retry.
 */
export function installAudit(app: FastifyInstance, { storage, baseUrl, schedule, requestHooks = true }: AuditOptions): void {
  const patientsOf = patientsOfFactory(baseUrl);
  // The storage's own (kept with the version when it was written); the body only where it kept none.
  const patientsOfAudited = (resource: AuditedResource): readonly string[] => {
    if ('patients' in resource) return resource.patients;
    const body = resource.body();
    return body ? patientsOf(body) : [];
  };
  const basePath = new URL(baseUrl).pathname.replace(/\/$/, '');
  const trail = new AuditBuffer({
    write: (events) =>
      storage.appendRecords
        ? storage.appendRecords(events)
        : storage.unitOfWork(async (tx) => {
            const ctx = systemContext(baseUrl, 'audit');
            for (const event of events) await tx.create(ctx, event);
          }),
    onWriteError: (error, pending) => app.log.error({ err: { type: (error as Error).name, message: (error as Error).message }, pending }, 'audit write failed; retrying'),
    ...(schedule ? { schedule } : {}),
  });
  app.decorate('auditTrail', trail);

  const eventsOf = (
    request: FastifyRequest,
    principal: Principal,
    classified: ClassifiedRequest,
    status: number,
    resources: readonly AuditedResource[],
    hidden: boolean,
  ): AnyResource[] =>
    auditEvents({
      principal,
      interaction: classified.interaction,
      operation: classified.operation,
      recorded: new Date(),
      outcome: outcomeOf(status, hidden),
      networkAddress: request.ip,
      baseUrl,
      resources: resources.map((resource) => ({ reference: `${resource.resourceType}/${resource.id}`, patients: patientsOfAudited(resource) })),
    }).map((event) => ({ ...event, id: timeOrderedId() }) as AnyResource);

  /**
   * The request's own events, from the outcome its route left on the
   * request (what the interaction returned or wrote, src/interactions/dispatch.ts),
   * or, when it failed before it had one, from its classification alone;
   * then one set per bundle entry it carried.
   */
  const collect = async (request: FastifyRequest, reply: FastifyReply, principal: Principal, classified: ClassifiedRequest) => {
    const status = reply.statusCode;
    const outcome = request.auditOutcome;
    const own = await entryAudit(storage, baseUrl, request.id, {
      classified,
      status,
      returned: outcome && status < 400 ? outcome.returned : [],
      ...(outcome?.target ? { target: outcome.target } : {}),
    });
    const entries = [own, ...(request.entryAudits ?? [])];
    return entries.flatMap((entry: EntryAudit) => eventsOf(request, principal, entry.classified, entry.status, entry.resources, entry.hidden === true));
  };

  // On graceful shutdown (app.close(), after in-flight requests, before main.ts closes the storage).
  app.addHook('onClose', async () => {
    for (let attempt = 0; attempt < 5 && trail.size > 0; attempt++) await trail.flush().catch(() => new Promise((resolve) => setTimeout(resolve, 200)));
    if (trail.size > 0) app.log.error({ lost: trail.size }, 'audit events could not be written before shutdown');
  });
  if (!requestHooks) return;

  app.addHook('preHandler', async (request) => {
    if (!isAudited(request.principal)) return;
    if (trail.failing) throw unavailable(request.id);
    if (mayReadAuditLog(request.url, basePath)) await trail.flush().catch(() => Promise.reject(unavailable(request.id)));
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const principal = request.principal;
    const classified = request.fhirRequest;
    if (request.audited || !isAudited(principal) || !classified) return payload;
    request.audited = true;
    let refusal: { status: number; outcome: ReturnType<typeof operationOutcome> };
    try {
      trail.add(await collect(request, reply, principal, classified));
      // Backpressure: the answer waits until its events are written (a failure shows in `failing` below).
      if (trail.behind) await trail.flush().catch(() => undefined);
      if (!trail.failing) return payload;
      refusal = { status: 503, outcome: operationOutcome(unavailable(request.id).issues) };
    } catch (error) {
      request.log.error({ err: { type: (error as Error).name, message: (error as Error).message } }, 'audit record failed');
      const diagnostics = `The access could not be recorded, so it was not served (request id ${request.id})`;
      refusal = { status: 500, outcome: operationOutcome([{ severity: 'error', code: 'exception', diagnostics }]) };
    }
    // Not recorded, or the log is failing: the response is not sent.
    for (const name of ['etag', 'last-modified', 'location']) reply.removeHeader(name);
    reply.code(refusal.status).header('content-type', 'application/fhir+json; charset=utf-8');
    return JSON.stringify(refusal.outcome);
  });
}
