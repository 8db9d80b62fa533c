/**
 * One check of a Parameters body against an operation's declared parameters
 * (its descriptor's, OperationDefinition.parameter: name, type, min, max),
 * run before the operation reads a single value. A parameter of the wrong
 * type, a missing one or one too many is a 400 that names the parameter,
 * never a TypeError deeper down (operations.html#parameters: a `resource`
 * part holds a resource, every other part a `value[x]` of the declared type).
 */
import { badRequest } from '../errors';
import type { OperationParameter } from './descriptor';

type Check = (value: unknown) => boolean;

const isString = (value: unknown): value is string => typeof value === 'string';
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Each primitive by its JSON representation (datatypes.html#primitive): codes have no leading or trailing space. */
const VALUE_CHECKS: Record<Exclude<OperationParameter['type'], 'Resource' | 'part'>, { key: string; check: Check }> = {
  boolean: { key: 'valueBoolean', check: (v) => typeof v === 'boolean' },
  integer: { key: 'valueInteger', check: (v) => Number.isInteger(v) },
  positiveInt: { key: 'valuePositiveInt', check: (v) => Number.isInteger(v) && (v as number) >= 1 },
  code: { key: 'valueCode', check: (v) => isString(v) && /^[^\s]+( [^\s]+)*$/.test(v) },
  string: { key: 'valueString', check: (v) => isString(v) && v.length > 0 },
  dateTime: { key: 'valueDateTime', check: (v) => isString(v) && v.length > 0 },
  instant: { key: 'valueInstant', check: (v) => isString(v) && v.length > 0 },
  uri: { key: 'valueUri', check: (v) => isString(v) && v.length > 0 },
  Coding: { key: 'valueCoding', check: (v) => isObject(v) && (v.code === undefined || isString(v.code)) && (v.system === undefined || isString(v.system)) },
  reference: {
    key: 'valueReference',
    check: (v) => isObject(v) && (v.reference === undefined || isString(v.reference)) && (v.display === undefined || isString(v.display)),
  },
};

/** What a positiveInt parameter may also be sent as: clients often send `valueInteger` for `count`. */
const ALSO_ACCEPTED: Record<string, string[]> = { positiveInt: ['valueInteger'] };

export type ParameterParts = ReadonlyMap<string, ReadonlyArray<Record<string, unknown>>>;

/**
 * Where the parameters were sent: a Parameters body, or the query string
 * (or a form) they were read from (operation-input.ts). The error names
 * the parameter where the client wrote it.
 */
export type ParameterSource = 'body' | 'url';

type Invalid = (name: string, why: string) => Error;

function invalidIn(operation: string, source: ParameterSource): Invalid {
  return (name, why) => badRequest(`${operation}: parameter "${name}" ${why}`, [source === 'url' ? name : `Parameters.parameter.where(name = '${name}')`]);
}

function checkPart(invalid: Invalid, source: ParameterSource, declaration: OperationParameter, part: Record<string, unknown>): void {
  const { name, type, resourceType } = declaration;
  if (type === 'Resource') {
    if (!isObject(part.resource) || (resourceType !== undefined && part.resource.resourceType !== resourceType)) {
      throw invalid(name, `must be a resource holding a ${resourceType ?? 'resource'}`);
    }
    return;
  }
  if (type === 'part') {
    // A parameter made of named parts (OperationDefinition.parameter.part): the operation reads them.
    if (!Array.isArray(part.part) || !part.part.every((p) => isObject(p) && isString(p.name))) throw invalid(name, 'must be made of named parts');
    return;
  }
  const { key, check } = VALUE_CHECKS[type];
  const keys = [key, ...(ALSO_ACCEPTED[type] ?? [])];
  const present = keys.filter((k) => part[k] !== undefined);
  if (present.length !== 1 || !check(part[present[0]!])) throw invalid(name, source === 'url' ? `must be of type ${type}` : `must be a ${key} of type ${type}`);
}

/**
 * Checks `body` against the declarations and answers the parts by name.
 * Parts of names not declared are refused too: a misspelt parameter would
 * otherwise be silently ignored.
 */
export function checkParameters(operation: string, declarations: readonly OperationParameter[], body: unknown, source: ParameterSource = 'body'): ParameterParts {
  const invalid = invalidIn(operation, source);
  if (!isObject(body) || body.resourceType !== 'Parameters') throw badRequest(`${operation} takes a Parameters resource`, ['Parameters']);
  const parts = body.parameter ?? [];
  if (!Array.isArray(parts)) throw badRequest(`${operation}: Parameters.parameter must be an array`, ['Parameters.parameter']);
  const byName = new Map<string, Array<Record<string, unknown>>>();
  for (const part of parts) {
    if (!isObject(part) || !isString(part.name)) throw badRequest(`${operation}: every parameter needs a name`, ['Parameters.parameter']);
    const declaration = declarations.find((d) => d.name === part.name);
    if (!declaration) throw invalid(part.name, 'is not a parameter of this operation');
    checkPart(invalid, source, declaration, part);
    byName.set(part.name, [...(byName.get(part.name) ?? []), part]);
  }
  for (const { name, min, max } of declarations) {
    const count = byName.get(name)?.length ?? 0;
    if (count < min) throw invalid(name, 'is required');
    if (max !== '*' && count > max) throw invalid(name, `may occur at most ${max} time${max === 1 ? '' : 's'}`);
  }
  return byName;
}

/** The first part of this name's value under `key`, for a parameter of cardinality 0..1 or 1..1. */
export function valueOf<T>(parts: ParameterParts, name: string, ...keys: string[]): T | undefined {
  const part = parts.get(name)?.[0];
  if (!part) return undefined;
  for (const key of keys) if (part[key] !== undefined) return part[key] as T;
  return undefined;
}
