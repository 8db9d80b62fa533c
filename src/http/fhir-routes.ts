import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestContext } from '../context';
import { DEFAULT_MAX_BUNDLE_ENTRIES } from '../config';
import { processBundle } from '../interactions/bundle';
import { parseCriteria, type QueryPairs } from '../interactions/conditional';
import { history } from '../interactions/history';
import { readResource, vreadResource } from '../interactions/read';
import { search, unsupportedCompartment } from '../interactions/search';
import type { Services } from '../interactions/services';
import {
  conditionalDelete,
  conditionalUpdate,
  createResource,
  assertValidId,
  deleteResource,
  patchResource,
  updateResource,
} from '../interactions/write';
import { capabilityStatement } from '../operations/capability-statement';
import { matchPatients } from '../operations/match';
import { SUPPORTED_COMPARTMENTS } from '../search/compartment';
import { validateInstance, validateType } from '../operations/validate';
import { evaluateConsent } from '../operations/consent-evaluate';
import { patientEverything } from '../operations/everything';
import { honouredByBreakGlass } from '../security/consent/consent-source';
import type { EntryAudit } from '../security/audit/entry-audits';
import type { RequestGuard } from '../security/request-guard';
import { FHIR_JSON, FORM, JSON_PATCH, requireBodyType } from './formats';
import { clientCopyIsCurrent, sendJson, sendRecord, sendWriteResult, versionHeaders } from './reply';
import { header, preferences, queryPairs } from './request-helpers';

type Params = { type: string; id: string; vid: string; compartmentType: string };
type Req = FastifyRequest<{ Params: Params }>;

const JSON_BODIES = [FHIR_JSON, 'application/json'];

/** Criteria of a conditional update or delete: the query string minus format parameters. */
function criteriaOf(request: FastifyRequest): QueryPairs {
  return queryPairs(request).filter(([key]) => key !== '_format' && key !== '_pretty');
}

/**
 * The FHIR RESTful interactions, each a thin translation from HTTP to an
 * interaction function and back. `contextOf` builds the per-request context
 * (who, why) that every layer below receives.
 */
export function registerFhirRoutes(
  app: FastifyInstance,
  services: Services,
  contextOf: (request: FastifyRequest) => RequestContext,
  limits: { maxBundleEntries: number; guard?: RequestGuard } = { maxBundleEntries: DEFAULT_MAX_BUNDLE_ENTRIES },
): void {
  const sendDeleted = (reply: FastifyReply, record: { versionId: number } | undefined) => {
    if (record) reply.header('etag', `W/"${record.versionId}"`);
    return reply.code(204).send();
  };

  // A response that break-the-glass opened says so (issue 4, step 2); no other response does.
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode < 400 && honouredByBreakGlass(contextOf(request).principal)) reply.header('x-break-glass', 'true');
    return payload;
  });

  app.get('/metadata', async (request, reply) => sendJson(request, reply, 200, capabilityStatement(contextOf(request).baseUrl)));

  app.get('/', async (request, reply) => {
    const bundle = await search(services, contextOf(request), undefined, queryPairs(request), { strict: preferences(request).strict });
    return sendJson(request, reply, 200, bundle);
  });

  app.post('/', async (request, reply) => {
    requireBodyType(request, JSON_BODIES);
    const entryAudits: EntryAudit[] = (request.entryAudits = []);
    const onEntry = (audit: EntryAudit) => entryAudits.push(audit);
    const options = { maxEntries: limits.maxBundleEntries, preference: preferences(request).return, guard: limits.guard, onEntry };
    return sendJson(request, reply, 200, await processBundle(services, contextOf(request), request.body, options));
  });

  app.post('/Patient/$match', async (request, reply) => {
    requireBodyType(request, JSON_BODIES);
    return sendJson(request, reply, 200, await matchPatients(services, contextOf(request), request.body));
  });

  app.get('/_history', async (request, reply) =>
    sendJson(request, reply, 200, await history(services, contextOf(request), {}, queryPairs(request))),
  );

  app.get('/:type', async (request: Req, reply) => {
    const bundle = await search(services, contextOf(request), request.params.type, queryPairs(request), { strict: preferences(request).strict });
    return sendJson(request, reply, 200, bundle);
  });

  app.post('/:type/_search', async (request: Req, reply) => {
    const bundle = await search(services, contextOf(request), request.params.type, formSearchPairs(request), { strict: preferences(request).strict });
    return sendJson(request, reply, 200, bundle);
  });

  app.post('/:type', async (request: Req, reply) => {
    requireBodyType(request, JSON_BODIES);
    const ctx = contextOf(request);
    const ifNoneExist = header(request, 'if-none-exist');
    const result = await createResource(services, ctx, request.params.type, request.body, ifNoneExist === undefined ? undefined : parseCriteria(ifNoneExist));
    return sendWriteResult(request, reply, ctx, result.status, result.record, preferences(request).return);
  });

  app.put('/:type', async (request: Req, reply) => {
    requireBodyType(request, JSON_BODIES);
    const ctx = contextOf(request);
    const result = await conditionalUpdate(services, ctx, request.params.type, criteriaOf(request), request.body);
    return sendWriteResult(request, reply, ctx, result.status, result.record, preferences(request).return);
  });

  app.delete('/:type', async (request: Req, reply) =>
    sendDeleted(reply, await conditionalDelete(services, contextOf(request), request.params.type, criteriaOf(request))),
  );

  app.get('/:type/_history', async (request: Req, reply) =>
    sendJson(request, reply, 200, await history(services, contextOf(request), { resourceType: request.params.type }, queryPairs(request))),
  );

  app.post('/:type/$evaluate', async (request: Req, reply) => {
    requireBodyType(request, JSON_BODIES);
    return sendJson(request, reply, 200, await evaluateConsent(services, contextOf(request), request.params.type, request.body));
  });

  app.get('/:type/:id/$everything', async (request: Req, reply) => {
    const { type, id } = request.params;
    return sendJson(request, reply, 200, await patientEverything(services, contextOf(request), type, id, queryPairs(request)));
  });

  app.post('/:type/$validate', async (request: Req, reply) => {
    requireBodyType(request, JSON_BODIES);
    return sendJson(request, reply, 200, validateType(services, request.params.type, request.body));
  });

  app.get('/:type/:id', async (request: Req, reply) => {
    const record = await readResource(services, contextOf(request), request.params.type, request.params.id);
    if (clientCopyIsCurrent(request, record)) {
      versionHeaders(reply, record);
      return reply.code(304).send();
    }
    return sendRecord(request, reply, record);
  });

  app.put('/:type/:id', async (request: Req, reply) => {
    requireBodyType(request, JSON_BODIES);
    const ctx = contextOf(request);
    const { type, id } = request.params;
    const result = await updateResource(services, ctx, type, id, request.body, header(request, 'if-match'));
    return sendWriteResult(request, reply, ctx, result.status, result.record, preferences(request).return);
  });

  app.patch('/:type/:id', async (request: Req, reply) => {
    requireBodyType(request, [JSON_PATCH]);
    const ctx = contextOf(request);
    const { type, id } = request.params;
    const result = await patchResource(services, ctx, type, id, request.body, header(request, 'if-match'));
    return sendWriteResult(request, reply, ctx, result.status, result.record, preferences(request).return);
  });

  app.delete('/:type/:id', async (request: Req, reply) => {
    const { type, id } = request.params;
    // A segment that is not an id (`_history`, `$match`) names no resource, whatever the method.
    assertValidId(id);
    return sendDeleted(reply, await deleteResource(services, contextOf(request), type, id, header(request, 'if-match')));
  });

  app.get('/:type/:id/_history', async (request: Req, reply) => {
    const { type, id } = request.params;
    return sendJson(request, reply, 200, await history(services, contextOf(request), { resourceType: type, id }, queryPairs(request)));
  });

  app.get('/:type/:id/_history/:vid', async (request: Req, reply) => {
    const { type, id, vid } = request.params;
    const record = await vreadResource(services, contextOf(request), type, id, vid);
    if (clientCopyIsCurrent(request, record)) {
      versionHeaders(reply, record);
      return reply.code(304).send();
    }
    return sendRecord(request, reply, record);
  });

  // Compartment search: `/Patient/123/Encounter`, `/Patient/123/*`. Static segments (`_history`, `$validate`) win over this parameter.
  const compartmentSearch = async (request: Req, reply: FastifyReply, pairs: QueryPairs) => {
    const { type, id, compartmentType } = request.params;
    if (!SUPPORTED_COMPARTMENTS.has(type)) throw unsupportedCompartment(type);
    const compartment = { type: 'Patient' as const, id };
    const resourceType = compartmentType === '*' ? undefined : compartmentType;
    const bundle = await search(services, contextOf(request), resourceType, pairs, { strict: preferences(request).strict, compartment });
    return sendJson(request, reply, 200, bundle);
  };
  app.get('/:type/:id/:compartmentType', async (request: Req, reply) => compartmentSearch(request, reply, queryPairs(request)));
  app.post('/:type/:id/:compartmentType/_search', async (request: Req, reply) => compartmentSearch(request, reply, formSearchPairs(request)));

  app.get('/:type/:id/$validate', async (request: Req, reply) => {
    const { type, id } = request.params;
    return sendJson(request, reply, 200, await validateInstance(services, contextOf(request), type, id, undefined));
  });

  app.post('/:type/:id/$validate', async (request: Req, reply) => {
    requireBodyType(request, JSON_BODIES);
    const { type, id } = request.params;
    return sendJson(request, reply, 200, await validateInstance(services, contextOf(request), type, id, request.body));
  });

  // These URLs only take POST, but their other methods would otherwise reach the read
  // and compartment routes (`GET /Patient/$match` reads a Patient whose id is `$match`,
  // which answers 404). The not-found handler answers 405 from ROUTE_SHAPES.
  for (const url of POST_ONLY_URLS) {
    app.route({ method: ['GET', 'PUT', 'PATCH', 'DELETE'], url, config: { methodNotAllowed: true }, handler: (_request, reply) => reply.callNotFound() });
  }
  // Likewise for GET-only URLs whose other methods would reach the type and instance
  // routes (`DELETE /metadata` as a conditional delete on a type "metadata",
  // `DELETE /Patient/_history` as the delete of a Patient "_history").
  for (const url of GET_ONLY_URLS) {
    app.route({ method: ['POST', 'PUT', 'PATCH', 'DELETE'], url, config: { methodNotAllowed: true }, handler: (_request, reply) => reply.callNotFound() });
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A route that exists only to answer 405: no scope can make it succeed, so the security layer does not weigh it. */
    methodNotAllowed?: boolean;
  }
}

/** Routes above that answer GET only (POST /_history is not a route: the batch is POST /). */
const GET_ONLY_URLS = ['/metadata', '/_history', '/:type/_history'];

/** Routes above that answer POST only; listed with their methods in ROUTE_SHAPES. */
const POST_ONLY_URLS = ['/Patient/$match', '/:type/_search', '/:type/$validate', '/:type/$evaluate', '/:type/:id/:compartmentType/_search'];

/** A search sent as a form (`POST .../_search`): the URL's parameters and the body's, which combine (AND). */
function formSearchPairs(request: FastifyRequest): QueryPairs {
  requireBodyType(request, [FORM]);
  return [...queryPairs(request), ...((request.body as QueryPairs | undefined) ?? [])];
}

/**
 * The URL shapes above with the methods each takes, so that a known shape
 * with another method answers 405 (with Allow) instead of 404.
 */
export const ROUTE_SHAPES: Array<{ pattern: RegExp; methods: string[] }> = [
  { pattern: /^\/?$/, methods: ['GET', 'POST'] },
  { pattern: /^\/Patient\/\$match$/, methods: ['POST'] },
  { pattern: /^\/metadata$/, methods: ['GET'] },
  { pattern: /^\/_history$/, methods: ['GET'] },
  { pattern: /^\/[A-Za-z]+$/, methods: ['GET', 'POST', 'PUT', 'DELETE'] },
  { pattern: /^\/[A-Za-z]+\/_search$/, methods: ['POST'] },
  { pattern: /^\/[A-Za-z]+\/_history$/, methods: ['GET'] },
  { pattern: /^\/[A-Za-z]+\/\$validate$/, methods: ['POST'] },
  { pattern: /^\/[A-Za-z]+\/\$evaluate$/, methods: ['POST'] },
  { pattern: /^\/[A-Za-z]+\/[^/]+\/\$everything$/, methods: ['GET'] },
  { pattern: /^\/[A-Za-z]+\/[^/]+$/, methods: ['GET', 'PUT', 'PATCH', 'DELETE'] },
  { pattern: /^\/[A-Za-z]+\/[^/]+\/_history$/, methods: ['GET'] },
  { pattern: /^\/[A-Za-z]+\/[^/]+\/_history\/[^/]+$/, methods: ['GET'] },
  { pattern: /^\/[A-Za-z]+\/[^/]+\/\$validate$/, methods: ['GET', 'POST'] },
  { pattern: /^\/[A-Za-z]+\/[^/]+\/(?:[A-Za-z]+|\*)$/, methods: ['GET'] },
  { pattern: /^\/[A-Za-z]+\/[^/]+\/(?:[A-Za-z]+|\*)\/_search$/, methods: ['POST'] },
];
