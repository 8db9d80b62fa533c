import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDir } from '../paths';
import type { ParamType } from './search-ir';

/**
 * The FHIR R4 definitions the server needs at run time, read lazily from the
 * compact artefacts that `npm run conformance` generates from the official
 * spec package (see scripts/build-conformance.ts).
 */

/** One official search parameter, as in conformance/search-parameters.json. */
export interface SearchParamDef {
  url: string;
  code: string;
  type: ParamType;
  /** Resource types it applies to; `Resource`/`DomainResource` mean all. */
  base: string[];
  /** FHIRPath; absent for `_text`, `_content`, `_query` and two extension parameters the server implements by code. */
  expression?: string;
  /** For reference parameters: the resource types they may point to. */
  target?: string[];
  modifier?: string[];
  comparator?: string[];
  multipleOr?: boolean;
  multipleAnd?: boolean;
  /** For composite parameters: the component parameters' canonical URL and their expression relative to the match. */
  component?: { definition: string; expression: string }[];
  /** First sentence of the spec's description. */
  description: string;
  /** For a parameter shared by several types: its description for each of them. */
  descriptions?: Record<string, string>;
}

function lazy<T>(load: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= load());
}

export function readConformanceArtefact<T>(file: string): T {
  return JSON.parse(readFileSync(join(conformanceDir, file), 'utf8')) as T;
}

const resourceTypeSet = lazy(() => new Set(readConformanceArtefact<string[]>('resource-types.json')));
const sortedResourceTypes = lazy(() => [...resourceTypeSet()].sort());
/**
 * Search parameters this server defines beside the spec's (documented in
 * docs/claims.md). `Claim.insurance.coverage` has no R4 parameter; a payer's
 * consent access reaches a Claim through the Coverage it pays, so it must be
 * indexed; `Coverage.subscriberId` neither, and `$member-match` looks members
 * up by it. Existing databases need `npm run reindex` once to index it.
 */
export const SERVER_SEARCH_PARAMETERS: readonly SearchParamDef[] = [
  {
    url: 'urn:concord:SearchParameter:Claim-coverage',
    code: 'coverage',
    type: 'reference',
    base: ['Claim'],
    expression: 'Claim.insurance.coverage',
    target: ['Coverage'],
    description: 'The Coverages the Claim names in insurance.coverage',
  },
  {
    // `Patient/$member-match` finds a member by the subscriber id the member states (HRex).
    url: 'urn:concord:SearchParameter:Coverage-subscriber-id',
    code: 'subscriber-id',
    type: 'token',
    base: ['Coverage'],
    expression: 'Coverage.subscriberId',
    description: 'The subscriber id of the Coverage',
  },
  {
    // R4 cannot search an AuditEvent by its purpose of use; R5 added `purpose`, and the access log
    // ("who read my record, and why") needs it: defined over R4's elements, the event's and each agent's purpose.
    url: 'http://concord.example.org/fhir/SearchParameter/AuditEvent-purpose',
    code: 'purpose',
    type: 'token',
    base: ['AuditEvent'],
    expression: 'AuditEvent.purposeOfEvent | AuditEvent.agent.purposeOfUse',
    description: 'The purpose of use of the event or of one of its agents (like R5 AuditEvent purpose)',
  },
  {
    // R4's Appointment `date` is the start only: the booking rule's overlap search (docs/scheduling.md)
    // bounds the other side with the end, instead of reading every earlier Appointment of a participant.
    url: 'urn:concord:SearchParameter:Appointment-end',
    code: 'end',
    type: 'date',
    base: ['Appointment'],
    expression: 'Appointment.end',
    description: 'When the Appointment ends',
  },
];

const allSearchParameters = lazy(() => [...readConformanceArtefact<SearchParamDef[]>('search-parameters.json'), ...SERVER_SEARCH_PARAMETERS]);

/** Parameters by resource type, those of Resource/DomainResource included, built on first use. */
const searchParamsByType = lazy(() => {
  const byType = new Map<string, SearchParamDef[]>();
  const common = allSearchParameters().filter((p) => p.base.includes('Resource') || p.base.includes('DomainResource'));
  for (const type of sortedResourceTypes()) {
    const own = allSearchParameters().filter((p) => p.base.includes(type));
    byType.set(type, [...common, ...own]);
  }
  return byType;
});

const compartment = lazy(() => {
  const raw = readConformanceArtefact<Record<string, string[]>>('compartment-patient.json');
  return new Map(Object.entries(raw));
});

export function isResourceType(name: string): boolean {
  return resourceTypeSet().has(name);
}

/** Every concrete R4 resource type, sorted. */
export function resourceTypes(): readonly string[] {
  return sortedResourceTypes();
}

/** The parameters searchable on `resourceType`; empty for an unknown type. */
export function searchParameters(resourceType: string): readonly SearchParamDef[] {
  return searchParamsByType().get(resourceType) ?? [];
}

export function searchParameter(resourceType: string, code: string): SearchParamDef | undefined {
  return searchParameters(resourceType).find((p) => p.code === code);
}

/** Resource type → the codes of the parameters that place it in a patient's compartment. */
export function patientCompartment(): ReadonlyMap<string, readonly string[]> {
  return compartment();
}
