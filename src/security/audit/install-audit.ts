import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { systemContext, type Principal } from '../../context';
import { operationOutcome } from '../../errors';
import type { AnyResource } from '../../fhir/types';
import type { Storage } from '../../storage/port';
import type { ClassifiedRequest } from '../scopes/classify';
import { auditEvents, type AuditOutcome } from './audit-event';
import { locationTarget, namedResource, resourcesInPayload } from './collect';
import { patientsOfFactory } from './patients-of';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once the request's audit record is written (the hook must not run twice). */
    audited?: boolean;
  }
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
}

/**
 * Writes the AuditEvents of every FHIR interaction by an authenticated
 * caller before its response leaves (onSend is awaited): durable first, then
 * sent. If the audit write fails, the response becomes a 500 instead, so no
 * access goes unrecorded. Public requests and rejected tokens (401, no
 * caller known) are not audited.
 */
export function installAudit(app: FastifyInstance, { storage, baseUrl }: AuditOptions): void {
  const patientsOf = patientsOfFactory(baseUrl);

  const record = async (request: FastifyRequest, reply: FastifyReply, payload: unknown, principal: Principal, classified: ClassifiedRequest) => {
    const status = reply.statusCode;
    const returned = status < 400 ? resourcesInPayload(payload) : [];
    const resources: AnyResource[] = [...returned];
    let hidden = false;
    const target = classified.id && classified.resourceType ? { type: classified.resourceType, id: classified.id } : locationTarget(reply.getHeader('location'));
    if (target && !returned.some((resource) => resource.resourceType === target.type && resource.id === target.id)) {
      const stored = await namedResource(storage, baseUrl, request.id, target.type, target.id);
      if (stored?.resource) {
        resources.push(stored.resource);
        // A 404 for a resource that exists: the access layer hid it.
        hidden = status === 404 && !stored.deleted;
      }
    }
    const events = auditEvents({
      principal,
      interaction: classified.interaction,
      operation: classified.operation,
      recorded: new Date(),
      outcome: outcomeOf(status, hidden),
      networkAddress: request.ip,
      baseUrl,
      resources: resources.map((resource) => ({ reference: `${resource.resourceType}/${resource.id}`, patients: patientsOf(resource) })),
    });
    const ctx = systemContext(baseUrl, request.id);
    // Plain creates, not a unit of work: the storage commits the events of
    // concurrent requests together (group commit), and each is durable before
    // its promise resolves. Should one fail, the request fails: the events are
    // independent records, so the others standing is harmless.
    await Promise.all(events.map((event) => storage.create(ctx, { ...event, id: randomUUID() } as AnyResource)));
  };

  app.addHook('onSend', async (request, reply, payload) => {
    const principal = request.principal;
    const classified = request.fhirRequest;
    if (request.audited || !isAudited(principal) || !classified) return payload;
    request.audited = true;
    try {
      await record(request, reply, payload, principal, classified);
      return payload;
    } catch (error) {
      request.log.error({ err: { type: (error as Error).name, message: (error as Error).message } }, 'audit write failed');
      for (const name of ['etag', 'last-modified', 'location']) reply.removeHeader(name);
      reply.code(500).header('content-type', 'application/fhir+json; charset=utf-8');
      return JSON.stringify(
        operationOutcome([{ severity: 'error', code: 'exception', diagnostics: `The access could not be recorded, so it was not served (request id ${request.id})` }]),
      );
    }
  });
}
