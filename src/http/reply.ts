import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RequestContext } from '../context';
import { operationOutcome, type Issue } from '../errors';
import { etag, versionUrl } from '../fhir/bundle';
import { clientCopyIsCurrent as copyIsCurrent } from '../interactions/conditional-read';
import { storedBody, stringifyBody } from '../fhir/stored-body';
import type { VersionRecord } from '../fhir/version-record';
import { FHIR_JSON } from './formats';
import type { ReturnPreference } from './request-helpers';

/** How this request wants its answer, settled before the handler runs. */
export interface ResponseFormat {
  mediaType: string;
  pretty: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    responseFormat?: ResponseFormat;
  }
}

const DEFAULT_FORMAT: ResponseFormat = { mediaType: FHIR_JSON, pretty: false };

/** Compact JSON writes stored bodies nobody parsed as their bytes (fhir/stored-body.ts); `_pretty` re-serialises. */
export function sendJson(request: FastifyRequest, reply: FastifyReply, status: number, body: unknown): FastifyReply {
  const format = request.responseFormat ?? DEFAULT_FORMAT;
  return sendText(reply, status, format, format.pretty ? JSON.stringify(body, null, 2) : stringifyBody(body));
}

function sendText(reply: FastifyReply, status: number, format: ResponseFormat, text: string): FastifyReply {
  return reply.code(status).header('content-type', `${format.mediaType}; charset=utf-8`).send(text);
}

/** NDJSON (bulk data's application/fhir+ndjson): one resource a line, each line ended. */
export function sendNdjson(reply: FastifyReply, status: number, resources: readonly unknown[]): FastifyReply {
  const text = resources.map((resource) => `${JSON.stringify(resource)}\n`).join('');
  return reply.code(status).header('content-type', 'application/fhir+ndjson; charset=utf-8').send(text);
}

export function sendOutcome(request: FastifyRequest, reply: FastifyReply, status: number, issues: Issue[]): FastifyReply {
  return sendJson(request, reply, status, operationOutcome(issues));
}

/** ETag and Last-Modified describe the version a response is about. */
export function versionHeaders(reply: FastifyReply, record: VersionRecord): void {
  reply.header('etag', etag(record)).header('last-modified', new Date(record.lastUpdated).toUTCString());
}

/** A read or vread: the stored bytes as they are, unless `_pretty` asks for another layout. */
export function sendRecord(request: FastifyRequest, reply: FastifyReply, record: VersionRecord): FastifyReply {
  versionHeaders(reply, record);
  const format = request.responseFormat ?? DEFAULT_FORMAT;
  const stored = format.pretty ? undefined : storedBody(record);
  return stored === undefined ? sendJson(request, reply, 200, record.resource) : sendText(reply, 200, format, stored);
}

/**
 * The answer to a create or update: Location names the new version; the body
 * follows `Prefer: return=` (representation by default).
 */
export function sendWriteResult(
  request: FastifyRequest,
  reply: FastifyReply,
  ctx: RequestContext,
  status: number,
  record: VersionRecord,
  preference: ReturnPreference,
): FastifyReply {
  versionHeaders(reply, record);
  reply.header('location', versionUrl(ctx.baseUrl, record));
  if (preference === 'minimal') return reply.code(status).send();
  if (preference === 'OperationOutcome') {
    const verb = status === 201 ? 'Created' : 'Updated';
    return sendOutcome(request, reply, status, [
      { severity: 'information', code: 'informational', diagnostics: `${verb} ${record.resourceType}/${record.id} version ${record.versionId}` },
    ]);
  }
  return sendJson(request, reply, status, record.resource);
}

/** Conditional read headers: true when the client's copy is current (304). */
export function clientCopyIsCurrent(request: FastifyRequest, record: VersionRecord): boolean {
  return copyIsCurrent({ ifNoneMatch: request.headers['if-none-match'], ifModifiedSince: request.headers['if-modified-since'] }, record);
}
