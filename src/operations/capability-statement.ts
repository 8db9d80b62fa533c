import { resourceTypes } from '../fhir/definitions';
import type { CapabilityStatement } from '../fhir/types';
import { MODIFIERS } from '../search/parse';
import { includeValues, revincludeValues, supportedParameters } from '../search/supported-parameters';
import { MAX_EXPANSION_CODES } from '../terminology/value-set-expansion';
import { SERVER_VERSION } from '../version';

type RestResource = NonNullable<NonNullable<CapabilityStatement['rest']>[number]['resource']>[number];

const TYPE_INTERACTIONS: RestResource['interaction'] = [
  'read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type',
].map((code) => ({ code: code as 'read' }));

const VALIDATE_OPERATION = { name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' };

/** Operations of one type only: the spec's Patient $everything, and Concord's own consent explanation. */
const TYPE_OPERATIONS: Record<string, Array<{ name: string; definition: string; documentation?: string }>> = {
  Patient: [
    { name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' },
    { name: 'match', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-match', documentation: 'Scored candidates for a Patient: identifiers, names, birth date, gender, telecom, postal code' },
  ],
  Consent: [
    {
      name: 'evaluate',
      definition: 'urn:concord:OperationDefinition:Consent-evaluate',
      documentation:
        'POST a Parameters with actor (valueReference), purpose (valueCode, v3-ActReason) and resource (valueReference); the answer is a Parameters with decision (valueCode permit | deny), basis (valueReference to the deciding Consent, or valueString naming the base-policy rule) and path (valueString, the matched provisions). Only the operator, the patient and their treating practitioners may ask.',
    },
  ],
};

function resourceEntry(type: string): RestResource {
  return {
    type: type as RestResource['type'],
    profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
    interaction: TYPE_INTERACTIONS,
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
    operation: [VALIDATE_OPERATION, ...(TYPE_OPERATIONS[type] ?? [])],
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

let cached: { baseUrl: string; statement: CapabilityStatement } | undefined;

/**
 * What this server really does, generated from the definitions it loaded and
 * the interactions it routes. It does not change while the server runs, so it
 * is built once.
 */
export function capabilityStatement(baseUrl: string): CapabilityStatement {
  if (cached?.baseUrl === baseUrl) return cached.statement;
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
        mode: 'server',
        documentation: searchDocumentation(),
        resource: resourceTypes().map(resourceEntry),
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'history-system' }, { code: 'search-system' }],
        // Compartment search (`/Patient/123/Encounter`, `/Patient/123/*`).
        compartment: ['http://hl7.org/fhir/CompartmentDefinition/patient'],
      },
    ],
  };
  cached = { baseUrl, statement };
  return statement;
}
