import type { AuditedResource, EntryOutcome } from '../entry-audit';
import type { ClassifiedRequest } from '../scopes/classify';

/**
 * One interaction carried inside a request, audited on its own: a batch or
 * transaction entry is an interaction of its own kind (read, create,
 * search-type...), so it gets its own AuditEvent with its own outcome. The
 * bundle route fills `request.entryAudits`; the audit hook writes one event
 * per entry (in addition to the event of the bundle request itself).
 */
export interface EntryAudit {
  classified: ClassifiedRequest;
  /** The entry's HTTP status (`response.status`), or the status of the error that failed it. */
  status: number;
  /** Resources the entry returned or touched (only their references and compartments are recorded). */
  resources: readonly AuditedResource[];
  /** A read the access filter answered 404 although the resource exists. */
  hidden?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    entryAudits?: EntryAudit[];
    /**
     * What the request's own interaction did, left by its route for the
     * audit hook: status, the resources of its result, what it wrote
     * (src/interactions/dispatch.ts `auditOutcome`).
     */
    auditOutcome?: EntryOutcome;
  }
}
