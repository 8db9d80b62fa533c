import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal, RequestContext } from '../context';
import { parseCriteria, type QueryPairs } from '../interactions/conditional';
import { admit, auditOutcome, checkWrite, classify, run } from '../interactions/dispatch';
import type { InteractionResult, ParsedRequest, Route, RouteServices } from '../interactions/route';
import type { RestRouter } from '../rest/router';
import type { EntryAudit } from '../security/audit/entry-audits';
import type { RequestGuard } from '../security/request-guard';
import { FHIR_JSON, FORM, JSON_PATCH, requestMediaType, requireBodyType } from './formats';
import { sendJson, sendNdjson, sendRecord, sendWriteResult, versionHeaders } from './reply';
import { header, preferences, queryPairs, type ReturnPreference } from './request-helpers';

const JSON_BODIES = [FHIR_JSON, 'application/json'];
const FORMAT_PARAMS = new Set(['_format', '_pretty']);
const OPERATOR: Principal = { kind: 'operator' };

/**
 * The body, as the route takes it, after its Content-Type is checked (415
 * otherwise). Checked after admission: a caller who may not do this is
 * told 403, whatever they sent.
 */
function bodyOf(request: FastifyRequest, route: Route): { body?: unknown; pairs: QueryPairs } {
  switch (route.body) {
    case 'resource':
      requireBodyType(request, JSON_BODIES);
      return { body: request.body, pairs: [] };
    case 'operation':
      // A form carries primitive parameters (operations.html#request): its fields join the query, as a GET's would.
      requireBodyType(request, [...JSON_BODIES, FORM]);
      if (requestMediaType(request) === FORM) return { pairs: (request.body as QueryPairs | undefined) ?? [] };
      return { body: request.body, pairs: [] };
    case 'patch':
      requireBodyType(request, [JSON_PATCH]);
      return { body: request.body, pairs: [] };
    case 'form':
      // A search sent as a form (`POST .../_search`): the URL's parameters and the body's, which combine (AND).
      requireBodyType(request, [FORM]);
      return { pairs: (request.body as QueryPairs | undefined) ?? [] };
    default:
      return { pairs: [] };
  }
}

/** An HTTP request as the route's handler takes it (the same shape a bundle entry is given). */
function parsedRequest(request: FastifyRequest, route: Route): ParsedRequest {
  const { body, pairs } = bodyOf(request, route);
  // The criteria of a conditional write are the query string minus its format parameters.
  const url = route.changesState ? queryPairs(request).filter(([key]) => !FORMAT_PARAMS.has(key)) : queryPairs(request);
  const ifNoneExist = header(request, 'if-none-exist');
  const ifMatch = header(request, 'if-match');
  const ifNoneMatch = header(request, 'if-none-match');
  const ifModifiedSince = header(request, 'if-modified-since');
  const idempotencyKey = header(request, 'idempotency-key');
  const prefer = preferences(request);
  return {
    method: request.method,
    params: request.params as Record<string, string | undefined>,
    query: [...url, ...pairs],
    ...(body !== undefined ? { body } : {}),
    ...(ifNoneExist !== undefined ? { ifNoneExist: parseCriteria(ifNoneExist) } : {}),
    ...(ifMatch !== undefined ? { ifMatch } : {}),
    ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}),
    ...(ifModifiedSince !== undefined ? { ifModifiedSince } : {}),
    ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    preference: prefer.return,
    strict: prefer.strict,
    lenient: prefer.lenient,
    respondAsync: prefer.respondAsync,
    networkAddress: request.ip,
  };
}

/** The HTTP answer to what the interaction did. */
function reply(request: FastifyRequest, fastifyReply: FastifyReply, ctx: RequestContext, result: InteractionResult, preference: ReturnPreference): FastifyReply {
  // A response that break-the-glass opened says so; no other response does.
  if (ctx.breakGlass && result.status < 400) fastifyReply.header('x-break-glass', 'true');
  for (const [name, value] of Object.entries(result.headers ?? {})) fastifyReply.header(name, value);
  const { record, status } = result;
  if (status === 304 && record) {
    versionHeaders(fastifyReply, record);
    return fastifyReply.code(304).send();
  }
  if (status === 204) {
    if (record) fastifyReply.header('etag', `W/"${record.versionId}"`);
    return fastifyReply.code(204).send();
  }
  if (record && result.wrote) return sendWriteResult(request, fastifyReply, ctx, status, record, preference);
  if (record && result.body === undefined) return sendRecord(request, fastifyReply, record);
  if (result.ndjson) return sendNdjson(fastifyReply, status, result.ndjson);
  return sendJson(request, fastifyReply, status, result.body);
}

export interface FhirRouteOptions {
  services: RouteServices;
  router: RestRouter;
  guard: RequestGuard;
  baseUrl: string;
}

/**
 * Registers every route of the route table (src/rest/routes.ts) and its 405
 * routes. Each handler is the HTTP edge of the admission path: it reads
 * the HTTP request, hands it to dispatch (classify, admit, check the write,
 * run) and turns the result into the reply; the audit hook records the
 * outcome it leaves on the request.
 */
export function registerFhirRoutes(app: FastifyInstance, { services, router, guard, baseUrl }: FhirRouteOptions): void {
  for (const route of router.routes) {
    app.route({
      method: route.method,
      url: route.path,
      handler: async (request, fastifyReply) => {
        const match = { route, params: request.params as Record<string, string | undefined> };
        const classified = classify(match);
        request.fhirRequest = classified;
        const caller = { principal: request.principal ?? OPERATOR, requestId: request.id, now: new Date() };
        const admitted = await admit(guard, baseUrl, match, classified, caller);
        await checkWrite(guard, admitted, request.body);
        const parsed = parsedRequest(request, route);
        const entryAudits: EntryAudit[] = [];
        const entries = { router, guard, onEntry: (audit: EntryAudit) => entryAudits.push(audit) };
        request.entryAudits = entryAudits;
        const result = await run(services, admitted, parsed, entries);
        request.auditOutcome = auditOutcome(classified, result.status, result);
        return reply(request, fastifyReply, admitted.ctx, result, parsed.preference);
      },
    });
  }
}
