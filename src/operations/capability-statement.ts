import { resourceTypes } from '../fhir/definitions';
import type { CapabilityStatement } from '../fhir/types';
import { AUDIT_LOG_TYPE, auditLogSupported } from '../search/audit-log-search';
import { MODIFIERS } from '../search/parse';
import { includeValues, revincludeValues, supportedParameters } from '../search/supported-parameters';
import { MAX_EXPANSION_CODES } from '../terminology/value-set-expansion';
import { topics } from '../subscriptions/topics';
import { websocketUrl } from '../subscriptions/ws-binding';
import { SERVER_VERSION } from '../version';
import type { OperationDescriptor } from './descriptor';
import { definitionCanonical } from './operation-definition';
import { operationLevels, operationsOn } from './registry';

type RestResource = NonNullable<NonNullable<CapabilityStatement['rest']>[number]['resource']>[number];

/** What the CapabilityStatement is built from: the route table and the operations (src/rest/routes.ts). */
export interface ServedInteractions {
  routes: ReadonlyArray<{ path: string; interaction: string }>;
  operations: readonly OperationDescriptor[];
}

/** The type-level interactions the table routes (`/:type...`), each once, in table order. */
function typeInteractions(served: ServedInteractions): RestResource['interaction'] {
  const codes = served.routes.filter((route) => route.path.startsWith('/:type') && route.interaction !== 'operation').map((route) => route.interaction);
  return [...new Set(codes)].map((code) => ({ code: code as 'read' }));
}

/** A batch or transaction (`POST /`) and the system-level search and history, when the table routes them. */
function systemInteractions(served: ServedInteractions): NonNullable<CapabilityStatement['rest']>[number]['interaction'] {
  const codes = served.routes.filter((route) => !route.path.startsWith('/:type')).map((route) => route.interaction);
  const bundles = served.routes.some((route) => route.path === '/' && route.interaction === 'operation') ? ['transaction', 'batch'] : [];
  return [...bundles, ...new Set(codes.filter((code) => code === 'history-system' || code === 'search-system'))].map((code) => ({ code: code as 'batch' }));
}

/** A descriptor's entry: its name, the canonical URL of its OperationDefinition, and its documentation. */
function operationEntry(operation: OperationDescriptor, baseUrl: string): { name: string; definition: string; documentation?: string } {
  const definition = definitionCanonical(operation, baseUrl);
  return { name: operation.code, definition, ...(operation.documentation ? { documentation: operation.documentation } : {}) };
}

/** The Backport IG's list of the SubscriptionTopics this server supports, on the Subscription entry. */
const TOPIC_CANONICAL = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/capabilitystatement-subscriptiontopic-canonical';

const WEBSOCKET_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/capabilitystatement-websocket';

function resourceEntry(type: string, served: ServedInteractions, interactions: RestResource['interaction'], baseUrl: string): RestResource {
  return {
    ...(type === 'Subscription' ? { extension: topics().map((topic) => ({ url: TOPIC_CANONICAL, valueCanonical: topic.url })) } : {}),
    type: type as RestResource['type'],
    profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
    interaction: interactions,
    versioning: 'versioned-update',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: true,
    conditionalRead: 'full-support',
    conditionalUpdate: true,
    conditionalDelete: 'single',
    searchInclude: includeValues(type),
    searchRevInclude: revincludeValues(type),
    // Only what the parser and the indexer really answer: a listed parameter is a promise.
    searchParam: supportedParameters(type).map((param) => ({
      name: param.code,
      definition: param.url,
      type: param.type as 'token',
      documentation: param.descriptions?.[type] ?? param.description,
    })),
    operation: operationsOn(served.operations, type).map((operation) => operationEntry(operation, baseUrl)),
    ...(type === AUDIT_LOG_TYPE ? auditLogEntry() : {}),
  };
}

/** The access log: immutable, one version per event, searched by its own parameters only (audit-log-search.ts). */
function auditLogEntry(): Partial<RestResource> {
  return {
    interaction: [{ code: 'read' }, { code: 'vread' }, { code: 'search-type' }, { code: 'create' }, { code: 'history-instance' }],
    versioning: 'versioned',
    updateCreate: false,
    conditionalUpdate: false,
    conditionalDelete: 'not-supported',
    // Neither is answered on the log (an empty list is not valid FHIR).
    searchInclude: undefined,
    searchRevInclude: undefined,
    documentation: `The access log, kept apart from the other resources: AuditEvents are never updated or deleted (405). Search supports only ${auditLogSupported()}, and paging; any other parameter, _include, _revinclude and _has on it answer 400. It is not part of system-wide or compartment-wide (*) searches.`,
  };
}

/**
 * R4 has no element for search modifiers, so they are said in words, from
 * the parser's own table: what is written here is what the parser accepts.
 */
function searchDocumentation(): string {
  const modifiers = Object.entries(MODIFIERS)
    .filter(([, names]) => names.length > 0)
    .map(([type, names]) => `${type} ${names.map((name) => `:${name}`).join(' ')}`);
  return [
    'Search: GET [type]?params or POST [type]/_search (form body); compartment search GET or POST Patient/[id]/[type or *](/_search).',
    `Modifiers: ${modifiers.join('; ')}; reference :[type]; :missing on every type.`,
    `Token :in and :not-in expand the value sets of the R4 specification and those stored on this server (explicit concepts, complete code systems, is-a filters, complete expansions; at most ${MAX_EXPANSION_CODES} codes);`,
    'token :above and :below follow the hierarchy of a complete R4 or stored code system. A value set or hierarchy that cannot be used is a 400 naming the parameter.',
  ].join(' ');
}

let cached: { baseUrl: string; served: ServedInteractions; statement: CapabilityStatement } | undefined;

/**
 * What this server really does, generated from the definitions it loaded and
 * the interactions and operations it routes. It does not change while the server runs, so it
 * is built once.
 */
export function capabilityStatement(baseUrl: string, served: ServedInteractions): CapabilityStatement {
  if (cached?.baseUrl === baseUrl && cached.served === served) return cached.statement;
  const interactions = typeInteractions(served);
  const statement: CapabilityStatement = {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-11-26',
    kind: 'instance',
    software: { name: 'Concord', version: SERVER_VERSION },
    implementation: { description: 'Concord FHIR R4 server', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'application/json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        // Where websocket Subscriptions are bound (R4 capabilitystatement-websocket; docs/subscriptions.md).
        extension: [{ url: WEBSOCKET_EXTENSION, valueUri: websocketUrl(baseUrl) }],
        mode: 'server',
        documentation: searchDocumentation(),
        resource: resourceTypes().map((type) => resourceEntry(type, served, interactions, baseUrl)),
        interaction: systemInteractions(served),
        // Operations invoked on the base (`[base]/$export`, `[base]/$bulk-publish`).
        operation: served.operations.filter((operation) => operationLevels(operation).includes('system')).map((operation) => operationEntry(operation, baseUrl)),
        // Compartment search (`/Patient/123/Encounter`, `/Patient/123/*`).
        compartment: ['http://hl7.org/fhir/CompartmentDefinition/patient'],
      },
    ],
  };
  cached = { baseUrl, served, statement };
  return statement;
}
