/**
 * The OperationDefinition of each operation, generated from its descriptor
 * (operationdefinition.html): code, resource types, levels, affectsState and
 * the declared input parameters. Nothing is written by hand, so what the
 * definition says is what the route table routes and checkParameters checks.
 *
 * Every definition is served at `[base]/OperationDefinition/[id]`, and that
 * address is its `url` (the way HAPI publishes the definitions it
 * generates: a literal address where it can be read). An operation of the
 * specification keeps the spec's canonical in the CapabilityStatement and
 * names it as the served definition's `base`: what this server implements of
 * it, described by the definition it derives from (capabilitystatement-
 * definitions.html#CapabilityStatement.rest.resource.operation.definition).
 */
import type { OperationDefinition, OperationDefinitionParameter } from 'fhir/r4';
import type { RequestContext } from '../context';
import type { AnyResource } from '../fhir/types';
import type { VersionRecord } from '../fhir/version-record';
import type { IndexEntry } from '../search/index-entry';
import { createIndexer } from '../search/indexer';
import { matchesConditions } from '../security/scopes/match-conditions';
import type { OperationDescriptor, OperationParameter } from './descriptor';
import { operationLevels } from './registry';

export const DEFINITION_TYPE = 'OperationDefinition';

/** A descriptor's `definition` in the specification's (or an IG's) namespace: an absolute http(s) URL. */
const isPublished = (definition: string) => /^https?:\/\//.test(definition);

/**
 * The id a definition is served under: the last segment of its canonical
 * (`Patient-everything`), without a `|version`; for a Concord operation,
 * written `OperationDefinition/Consent-evaluate` (or as a URN), the same segment.
 */
export function definitionId(operation: OperationDescriptor): string {
  return operation.definition.replace(/\|.*$/, '').split(/[/:]/).pop() ?? operation.code;
}

/** Where this server serves the operation's definition: its `url`. */
export function servedUrl(operation: OperationDescriptor, baseUrl: string): string {
  return `${baseUrl}/${DEFINITION_TYPE}/${definitionId(operation)}`;
}

/** What the CapabilityStatement names as the operation's definition: the spec's canonical, else the served one. */
export function definitionCanonical(operation: OperationDescriptor, baseUrl: string): string {
  return isPublished(operation.definition) ? operation.definition : servedUrl(operation, baseUrl);
}

/** A descriptor's parameter type as an OperationDefinition names it (a FHIR type code). */
function fhirType(parameter: OperationParameter): string {
  if (parameter.type === 'Resource') return parameter.resourceType ?? 'Resource';
  return parameter.type === 'reference' ? 'Reference' : parameter.type;
}

function inputParameter(parameter: OperationParameter): OperationDefinitionParameter {
  return {
    name: parameter.name,
    use: 'in',
    min: parameter.min,
    max: String(parameter.max),
    // A parameter of parts has its parts instead of a type (opd-1).
    ...(parameter.type === 'part'
      ? { part: (parameter.parts ?? []).map(inputParameter) }
      : { type: fhirType(parameter) as OperationDefinitionParameter['type'] }),
    ...(parameter.documentation ? { documentation: parameter.documentation } : {}),
  };
}

/** `Patient-everything` → `PatientEverything`: a name usable as an identifier (opd-0). */
const computerName = (id: string) =>
  id
    .split(/[^A-Za-z0-9]+/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');

/** The operation's OperationDefinition, as this server serves it. */
export function operationDefinition(operation: OperationDescriptor, baseUrl: string): OperationDefinition {
  const levels = operationLevels(operation);
  const id = definitionId(operation);
  const returns = operation.returns;
  return {
    resourceType: DEFINITION_TYPE,
    id,
    url: servedUrl(operation, baseUrl),
    name: computerName(id),
    status: 'active',
    kind: 'operation',
    affectsState: operation.affectsState,
    code: operation.code,
    ...(operation.documentation ? { description: operation.documentation } : {}),
    ...(isPublished(operation.definition) ? { base: operation.definition } : {}),
    resource: (operation.resourceTypes === '*' ? ['Resource'] : [...operation.resourceTypes]) as OperationDefinition['resource'],
    system: levels.includes('system'),
    type: levels.includes('type'),
    instance: levels.includes('instance'),
    parameter: [
      ...operation.parameters.map(inputParameter),
      ...(returns
        ? [
            {
              name: 'return',
              use: 'out' as const,
              min: 1,
              max: '1',
              type: returns.type as OperationDefinitionParameter['type'],
              ...(returns.documentation ? { documentation: returns.documentation } : {}),
            },
          ]
        : []),
    ],
  };
}

/** The served definitions of one list of operations, read and found the way stored resources are. */
export interface ServedDefinitions {
  /** The definition of this id, when it is one and the request may see it. */
  read(ctx: RequestContext, id: string): VersionRecord | undefined;
  /** The definitions whose `url` (or `base`) is this canonical and that the request may see. */
  byCanonical(ctx: RequestContext, param: 'url' | 'base', canonical: string): VersionRecord[];
}

/** When the definitions were generated (this process's start): their Last-Modified. */
const GENERATED_AT = new Date().toISOString();

/** One served definition: the version record the routes answer, and its index entries for the access filter. */
interface ServedDefinition {
  record: VersionRecord & { resource: OperationDefinition & AnyResource };
  entries: IndexEntry[];
}

function served(operations: readonly OperationDescriptor[], baseUrl: string): ServedDefinition[] {
  const indexer = createIndexer({ baseUrl });
  return operations.map((operation) => {
    const resource = { ...operationDefinition(operation, baseUrl), meta: { versionId: '1', lastUpdated: GENERATED_AT } } as OperationDefinition & AnyResource;
    const record = { resourceType: DEFINITION_TYPE, id: definitionId(operation), versionId: 1, lastUpdated: GENERATED_AT, deleted: false, resource };
    return { record, entries: indexer(resource) };
  });
}

/**
 * The definitions of `operations`, each one version of a resource that is
 * never stored, built once per base URL. The request's access filter
 * applies as it would in the storage: conditions that cannot be decided
 * here hide the definition (match-conditions.ts), so a granular scope never
 * widens what a caller sees.
 */
export function servedDefinitions(operations: readonly OperationDescriptor[]): ServedDefinitions {
  const byBase = new Map<string, ServedDefinition[]>();
  const visibleTo = (ctx: RequestContext): ServedDefinition[] => {
    let all = byBase.get(ctx.baseUrl);
    if (!all) byBase.set(ctx.baseUrl, (all = served(operations, ctx.baseUrl)));
    const conditions = ctx.access?.conditionsFor(DEFINITION_TYPE) ?? [];
    return conditions.length === 0 ? all : all.filter(({ record, entries }) => matchesConditions(conditions, record.resource, entries));
  };
  return {
    read: (ctx, id) => visibleTo(ctx).find(({ record }) => record.id === id)?.record,
    byCanonical: (ctx, param, canonical) =>
      visibleTo(ctx)
        .filter(({ record }) => record.resource[param] === canonical)
        .map(({ record }) => record),
  };
}
