/**
 * The route table: every interaction and operation this server answers, one
 * entry each (method, path, what it is, what it needs, its handler). The
 * Fastify routes, the 405 answers and their Allow header, the classification
 * admission and audit use, the CapabilityStatement's interactions and the
 * matching of batch and transaction entries are all derived from it
 * (router.ts). A handler takes the request's context and its parsed request,
 * and returns what it did (InteractionResult), never an HTTP reply.
 */
import { FhirError } from '../errors';
import { runBundle } from '../interactions/bundle';
import { clientCopyIsCurrent } from '../interactions/conditional-read';
import { history } from '../interactions/history';
import { readResource, vreadResource } from '../interactions/read';
import type { InteractionResult, ParsedRequest, Route } from '../interactions/route';
import { search, unsupportedCompartment } from '../interactions/search';
import { assertValidId, conditionalDelete, conditionalUpdate, createResource, deleteResource, patchResource, updateResource } from '../interactions/write';
import { capabilityStatement } from '../operations/capability-statement';
import type { OperationDescriptor, OperationLevel } from '../operations/descriptor';
import { invocationOf } from '../operations/operation-input';
import { DEFINITION_TYPE, servedDefinitions, type ServedDefinitions } from '../operations/operation-definition';
import { operationLevels, operationMethods } from '../operations/registry';
import { searchsetBundle } from '../fhir/bundle';
import { FORMAT_PARAMS } from '../interactions/paging';
import { SUPPORTED_COMPARTMENTS } from '../search/compartment';
import { ALL_PERMISSIONS } from '../security/scopes/classify';
import { REQUIRED_PERMISSIONS } from '../security/scopes/interaction';
import type { VersionRecord } from '../fhir/version-record';

/** A read answers 304 when the client's copy is current (conditional read). */
function readResult(request: ParsedRequest, record: VersionRecord): InteractionResult {
  return { status: clientCopyIsCurrent(request, record) ? 304 : 200, record };
}

const page = (body: InteractionResult['body']): InteractionResult => ({ status: 200, body });

/** `/Patient/123/Encounter`, `/Patient/123/*`: a search inside the compartment. */
async function compartmentSearch(...[services, ctx, request]: Parameters<Route['handler']>): Promise<InteractionResult> {
  const { type = '', id = '', compartmentType = '*' } = request.params;
  if (compartmentType.startsWith('$')) throw FhirError.of(404, 'not-supported', `There is no operation ${compartmentType} on ${type}`);
  if (!SUPPORTED_COMPARTMENTS.has(type)) throw unsupportedCompartment(type);
  const compartment = { type: 'Patient' as const, id };
  return page(await search(services, ctx, compartmentType === '*' ? undefined : compartmentType, request.query, { strict: request.strict, compartment }));
}

type CoreRoute = Omit<Route, 'permissions' | 'changesState' | 'body'> & Partial<Pick<Route, 'body'>>;

/** A core interaction's route: its permissions are the interaction's (SMART), and the writes change state. */
function core(route: CoreRoute & { interaction: keyof typeof REQUIRED_PERMISSIONS }): Route {
  const writes = ['create', 'update', 'patch', 'delete'].includes(route.interaction);
  return { body: 'none', ...route, permissions: REQUIRED_PERMISSIONS[route.interaction], changesState: writes };
}

const written = (outcome: { status: number; record: VersionRecord }): InteractionResult => ({ ...outcome, wrote: true });
const deleted = (record: VersionRecord | undefined): InteractionResult => ({ status: 204, ...(record ? { record } : {}) });

/** The interactions of http.html, in the order their methods are listed in an Allow header. */
const CORE_ROUTES: Route[] = [
  core({
    method: 'GET',
    path: '/',
    interaction: 'search-system',
    handler: async (s, ctx, r) => page(await search(s, ctx, undefined, r.query, { strict: r.strict })),
  }),
  {
    // The envelope needs only an authenticated caller: each entry is admitted as its own request.
    method: 'POST',
    path: '/',
    interaction: 'operation',
    operation: 'POST /',
    permissions: [],
    body: 'resource',
    changesState: true,
    handler: async (services, ctx, request, entries) =>
      page(await runBundle(services, ctx, request.body, { maxEntries: services.maxBundleEntries, preference: request.preference, ...entries })),
  },
  core({ method: 'GET', path: '/_history', interaction: 'history-system', handler: async (s, ctx, r) => page(await history(s, ctx, {}, r.query)) }),
  core({
    method: 'GET',
    path: '/:type',
    interaction: 'search-type',
    handler: async (s, ctx, r) => page(await search(s, ctx, r.params.type, r.query, { strict: r.strict })),
  }),
  core({
    method: 'POST',
    path: '/:type',
    interaction: 'create',
    body: 'resource',
    handler: async (s, ctx, r) => written(await createResource(s, ctx, r.params.type ?? '', r.body, r.ifNoneExist, r.assignedId)),
  }),
  core({
    method: 'PUT',
    path: '/:type',
    interaction: 'update',
    body: 'resource',
    handler: async (s, ctx, r) => written(await conditionalUpdate(s, ctx, r.params.type ?? '', r.query, r.body)),
  }),
  core({
    method: 'DELETE',
    path: '/:type',
    interaction: 'delete',
    handler: async (s, ctx, r) => deleted(await conditionalDelete(s, ctx, r.params.type ?? '', r.query)),
  }),
  core({
    method: 'POST',
    path: '/:type/_search',
    interaction: 'search-type',
    body: 'form',
    handler: async (s, ctx, r) => page(await search(s, ctx, r.params.type, r.query, { strict: r.strict })),
  }),
  core({
    method: 'GET',
    path: '/:type/_history',
    interaction: 'history-type',
    handler: async (s, ctx, r) => page(await history(s, ctx, { resourceType: r.params.type }, r.query)),
  }),
  core({
    method: 'GET',
    path: '/:type/:id',
    interaction: 'read',
    handler: async (s, ctx, r) => readResult(r, await readResource(s, ctx, r.params.type ?? '', r.params.id ?? '')),
  }),
  core({
    method: 'PUT',
    path: '/:type/:id',
    interaction: 'update',
    body: 'resource',
    handler: async (s, ctx, r) => written(await updateResource(s, ctx, r.params.type ?? '', r.params.id ?? '', r.body, r.ifMatch)),
  }),
  core({
    method: 'PATCH',
    path: '/:type/:id',
    interaction: 'patch',
    body: 'patch',
    handler: async (s, ctx, r) => written(await patchResource(s, ctx, r.params.type ?? '', r.params.id ?? '', r.body, r.ifMatch)),
  }),
  core({
    method: 'DELETE',
    path: '/:type/:id',
    interaction: 'delete',
    handler: async (s, ctx, r) => {
      // A segment that is not an id (`_history`, `$match`) names no resource, whatever the method.
      assertValidId(r.params.id ?? '');
      return deleted(await deleteResource(s, ctx, r.params.type ?? '', r.params.id ?? '', r.ifMatch));
    },
  }),
  core({
    method: 'GET',
    path: '/:type/:id/_history',
    interaction: 'history-instance',
    handler: async (s, ctx, r) => page(await history(s, ctx, { resourceType: r.params.type, id: r.params.id }, r.query)),
  }),
  core({
    method: 'GET',
    path: '/:type/:id/_history/:vid',
    interaction: 'vread',
    handler: async (s, ctx, r) => readResult(r, await vreadResource(s, ctx, r.params.type ?? '', r.params.id ?? '', r.params.vid ?? '')),
  }),
  // Static segments (`_history`, `$validate`) win over the compartment's parameter.
  core({ method: 'GET', path: '/:type/:id/:compartmentType', interaction: 'search-type', typeParam: 'compartmentType', handler: compartmentSearch }),
  core({
    method: 'POST',
    path: '/:type/:id/:compartmentType/_search',
    interaction: 'search-type',
    typeParam: 'compartmentType',
    body: 'form',
    handler: compartmentSearch,
  }),
];

const LEVEL_PATHS: Record<OperationLevel, (code: string) => string> = {
  system: (code) => `/$${code}`,
  type: (code) => `/:type/$${code}`,
  instance: (code) => `/:type/:id/$${code}`,
};

/** The type an operation is invoked on must be one it is defined on: 404, as for an unknown path. */
function assertDefinedOn(operation: OperationDescriptor, type: string | undefined): void {
  if (type === undefined || operation.resourceTypes === '*' || operation.resourceTypes.includes(type)) return;
  throw FhirError.of(404, 'not-supported', `$${operation.code} is defined on ${operation.resourceTypes.join(', ')}, not ${type}`);
}

/**
 * The routes of one operation: one per level and allowed method. An
 * operation that does not say what a level needs requires every permission
 * there, so that it is never reachable with less by accident.
 */
export function operationRoutes(operation: OperationDescriptor): Route[] {
  return operationLevels(operation).flatMap((level) =>
    operationMethods(operation, level).map((method): Route => ({
      method,
      path: LEVEL_PATHS[level](operation.code),
      interaction: 'operation',
      operation: `$${operation.code}`,
      permissions: operation.permissions[level] ?? ALL_PERMISSIONS,
      body: method === 'POST' ? 'operation' : 'none',
      changesState: operation.affectsState,
      handler: async (services, ctx, request) => {
        assertDefinedOn(operation, request.params.type);
        const invocation = {
          ...invocationOf(operation, request.params, request.query, request.body, request.idempotencyKey),
          prefer: { respondAsync: request.respondAsync === true, lenient: request.lenient === true },
          ...(request.networkAddress !== undefined ? { networkAddress: request.networkAddress } : {}),
        };
        const answer = await operation.handler(services, ctx, invocation);
        return {
          status: answer.status ?? 200,
          body: answer.body,
          ...(answer.disclosed ? { disclosed: answer.disclosed } : {}),
          ...(answer.ndjson && { ndjson: answer.ndjson }),
          ...(answer.headers ? { headers: answer.headers } : {}),
        };
      },
    })),
  );
}

/**
 * A search of OperationDefinition by its canonical alone (`?url=` or
 * `?base=`, besides _format): the served definitions it names, when there
 * are; undefined lets the stored resources answer.
 */
function definitionSearch(definitions: ServedDefinitions, ctx: Parameters<Route['handler']>[1], request: ParsedRequest): InteractionResult | undefined {
  const criteria = request.query.filter(([key]) => !FORMAT_PARAMS.has(key));
  const [only] = criteria;
  if (criteria.length !== 1 || !only || (only[0] !== 'url' && only[0] !== 'base')) return undefined;
  const [param, canonical] = only;
  const found = definitions.byCanonical(ctx, param, canonical);
  if (found.length === 0) return undefined;
  const self = `${ctx.baseUrl}/${DEFINITION_TYPE}?${param}=${encodeURIComponent(canonical)}`;
  return page(searchsetBundle(ctx.baseUrl, found, { self, first: self }, found.length));
}

/**
 * The read and the type-level searches of OperationDefinition answer the
 * definitions generated from the operations first (operation-definition.ts);
 * any other id or search reaches the stored resources as for every type.
 */
function servingDefinitions(route: Route, definitions: ServedDefinitions): Route {
  const isRead = route.interaction === 'read';
  const isTypeSearch = route.interaction === 'search-type' && route.typeParam === undefined && (route.path === '/:type' || route.path === '/:type/_search');
  if (!isRead && !isTypeSearch) return route;
  return {
    ...route,
    handler: async (services, ctx, request, entries) => {
      if (request.params.type === DEFINITION_TYPE) {
        const record = isRead ? definitions.read(ctx, request.params.id ?? '') : undefined;
        const answer = record ? readResult(request, record) : isTypeSearch ? definitionSearch(definitions, ctx, request) : undefined;
        if (answer) return answer;
      }
      return route.handler(services, ctx, request, entries);
    },
  };
}

/**
 * The whole table: the CapabilityStatement (which describes the rest of
 * it), the core interactions, then every operation's routes.
 */
export function routeTable(operations: readonly OperationDescriptor[]): Route[] {
  const definitions = servedDefinitions(operations);
  const core = CORE_ROUTES.map((route) => servingDefinitions(route, definitions));
  const served = { routes: [...core, ...operations.flatMap(operationRoutes)], operations };
  const metadata: Route = {
    method: 'GET',
    path: '/metadata',
    interaction: 'operation',
    operation: 'GET /metadata',
    permissions: ALL_PERMISSIONS,
    body: 'none',
    changesState: false,
    public: true,
    handler: async (_services, ctx) => page(capabilityStatement(ctx.baseUrl, served)),
  };
  return [metadata, ...served.routes];
}
