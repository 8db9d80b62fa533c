/**
 * The kick-off request's parameters (Bulk Data Access IG 2.0.0, export.html
 * "Query Parameters"), read from the query string (GET) or a Parameters body
 * (POST) and checked before any job exists. What a lenient caller
 * (`Prefer: handling=lenient`) may have ignored is kept as a problem for the
 * manifest's `error` file; what would widen the export is always a 400.
 */
import { badRequest } from '../errors';
import { isResourceType } from '../fhir/definitions';
import type { Parameters } from '../fhir/types';
import type { QueryPairs } from '../interactions/conditional';
import { FORMAT_PARAMS } from '../interactions/paging';
import { compartmentTypes } from '../search/compartment';
import { parseSearch } from '../search/parse';
import type { ExportLevel, ExportRequest } from './job';

/** export.html#query-parameters: the three names of NDJSON. */
export const OUTPUT_FORMATS = ['application/fhir+ndjson', 'application/ndjson', 'ndjson'];
export const LATEST_PROVENANCE = 'LatestProvenanceResources';
const KNOWN = new Set(['_outputFormat', '_since', '_type', '_typeFilter', '_elements', 'patient', 'includeAssociatedData']);
/** A FHIR instant: date, time and zone. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
/** Search parameters that shape a page, not a selection: meaningless (or widening) in a `_typeFilter`. */
const NOT_FILTERS = new Set(['_count', '_sort', '_include', '_revinclude', '_summary', '_elements', '_total', '_contained', '_containedType', '_format', '_pretty']);

export interface KickoffInput {
  level: ExportLevel;
  groupId?: string;
  /** POST with a Parameters body, or GET with a query string. */
  parameters: Parameters;
  query: QueryPairs;
  isPost: boolean;
  lenient: boolean;
  baseUrl: string;
  requestUrl: string;
}

type Named = Array<[string, string]>;

/** The parameters as name/value text pairs, whichever way they came. */
function namedValues(input: KickoffInput): Named {
  if (!input.isPost) return input.query.filter(([key]) => !FORMAT_PARAMS.has(key)).map(([key, value]) => [key, value]);
  return (input.parameters.parameter ?? []).map((part): [string, string] => {
    if (part.name === 'patient') return [part.name, part.valueReference?.reference ?? ''];
    const record = part as unknown as Record<string, unknown>;
    const valueKey = Object.keys(record).find((key) => key.startsWith('value') && typeof record[key] === 'string');
    if (valueKey === undefined) throw badRequest(`$export: parameter "${part.name}" needs a primitive value`, [`Parameters.parameter.where(name = '${part.name}')`]);
    return [part.name, record[valueKey] as string];
  });
}

const listOf = (named: Named, name: string) =>
  named
    .filter(([key]) => key === name)
    .flatMap(([, value]) => value.split(','))
    .map((value) => value.trim())
    .filter((value) => value !== '');

/** A problem is a 400, or with `Prefer: handling=lenient` a line of the manifest's error file. */
function problemHandler(lenient: boolean, problems: string[]) {
  return (message: string, expression: string) => {
    if (!lenient) throw badRequest(`$export: ${message}`, [expression]);
    problems.push(`Ignored: ${message}`);
  };
}

function typeFilters(named: Named, types: string[], explicitTypes: boolean, input: KickoffInput, problem: (m: string, e: string) => void): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (const raw of named.filter(([key]) => key === '_typeFilter').map(([, value]) => value)) {
    const at = raw.indexOf('?');
    const type = at < 0 ? raw : raw.slice(0, at);
    if (!isResourceType(type) || at < 0) {
      problem(`_typeFilter "${raw}" is not Type?query with a known type`, '_typeFilter');
      continue;
    }
    if (explicitTypes && !types.includes(type)) {
      problem(`_typeFilter "${raw}" names a type that _type does not include`, '_typeFilter');
      continue;
    }
    const pairs = [...new URLSearchParams(raw.slice(at + 1)).entries()];
    const shaping = pairs.find(([key]) => NOT_FILTERS.has(key.split(':')[0] ?? key));
    if (shaping) throw badRequest(`$export: _typeFilter "${raw}" uses ${shaping[0]}, which selects nothing`, ['_typeFilter']);
    // An unknown search parameter would widen the export if ignored: always a 400 (strict parsing).
    parseSearch([type], pairs, { strict: true, baseUrl: input.baseUrl });
    (filters[type] ??= []).push(raw.slice(at + 1));
  }
  return filters;
}

/** The patients asked for (`patient`, POST at Patient or Group level only), as ids. */
function patientsOf(named: Named, input: KickoffInput): string[] | undefined {
  const references = named.filter(([key]) => key === 'patient').map(([, value]) => value);
  if (references.length === 0) return undefined;
  if (!input.isPost) throw badRequest('$export: patient is only accepted in a POST Parameters body', ['patient']);
  if (input.level === 'system') throw badRequest('$export: patient is only accepted at the Patient and Group levels', ['patient']);
  return references.map((reference) => {
    const match = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
    if (!match?.[1]) throw badRequest(`$export: patient "${reference}" is not a reference to a Patient`, ['patient']);
    return match[1];
  });
}

/** Checks the kick-off's parameters; `defaultTypes` are the types exported when `_type` is absent. */
export function parseKickoff(input: KickoffInput, defaultTypes: readonly string[]): ExportRequest {
  const named = namedValues(input);
  const problems: string[] = [];
  const problem = problemHandler(input.lenient, problems);
  for (const [key] of named) if (!KNOWN.has(key)) problem(`"${key}" is not a parameter of $export`, key);

  for (const format of listOf(named, '_outputFormat')) {
    if (!OUTPUT_FORMATS.includes(format)) throw badRequest(`$export: _outputFormat ${format} is not supported; use ${OUTPUT_FORMATS.join(', ')}`, ['_outputFormat']);
  }
  const sinceValues = named.filter(([key]) => key === '_since').map(([, value]) => value);
  if (sinceValues.length > 1) throw badRequest('$export: _since may be given once', ['_since']);
  const since = sinceValues[0];
  if (since !== undefined && !INSTANT.test(since)) throw badRequest(`$export: _since "${since}" is not an instant (e.g. 2024-01-01T00:00:00Z)`, ['_since']);

  for (const value of listOf(named, 'includeAssociatedData')) {
    if (value !== LATEST_PROVENANCE) throw badRequest(`$export: includeAssociatedData ${value} is not supported; supported: ${LATEST_PROVENANCE}`, ['includeAssociatedData']);
  }

  const inCompartment = new Set(compartmentTypes());
  const asked = listOf(named, '_type');
  const types: string[] = [];
  for (const type of asked) {
    if (!isResourceType(type)) problem(`_type ${type} is not a resource type`, '_type');
    else if (type === 'AuditEvent') problem('_type AuditEvent: the access log is not exported; read it at /AuditEvent', '_type');
    else if (input.level !== 'system' && !inCompartment.has(type)) problem(`_type ${type} is not part of the Patient compartment`, '_type');
    else if (!types.includes(type)) types.push(type);
  }
  const explicitTypes = asked.length > 0;
  const elements = listOf(named, '_elements');
  const patients = patientsOf(named, input);
  const filters = typeFilters(named, explicitTypes ? types : [...defaultTypes], explicitTypes, input, problem);
  return {
    level: input.level,
    ...(input.groupId !== undefined ? { groupId: input.groupId } : {}),
    requestUrl: input.requestUrl,
    types: explicitTypes ? types : [...defaultTypes],
    typeFilters: filters,
    ...(since !== undefined ? { since: new Date(Date.parse(since)).toISOString() } : {}),
    ...(elements.length > 0 ? { elements } : {}),
    ...(patients ? { patients } : {}),
    latestProvenance: listOf(named, 'includeAssociatedData').length > 0,
    problems,
  };
}
