import type { Document } from 'mongodb';
import type { AccessFilter } from '../../context';
import { badRequest, FhirError } from '../../errors';
import type { IndexEntryKind } from '../../search/index-entry';
import { isSelfContained, type ChainCondition, type Condition, type HasCondition, type ParamCondition, type ParamType, type SearchValue } from '../../search/query';
import { allOf, entryMatches, type ValueSite } from './entry-match';

/**
 * The search IR's conditions compiled to a MongoDB filter over `resources`
 * (see documents.ts for the shape). Pure: chains and `_has` need the ids of
 * other resources, which the adapter looks up first (subqueries.ts) and
 * hands in as `Resolutions`; the differential test evaluates exactly these
 * documents with mingo.
 *
 * Anything the compiler does not know is refused with 400 rather than
 * ignored, because dropping a condition would return too much.
 */

const notSupported = (msg: string) => FhirError.of(400, 'not-supported', msg);

/** A filter no document matches (MongoDB refuses an empty `$or`; `$in: []` is the portable "false"). */
export const matchNothing: Document = { id: { $in: [] } };

/**
 * What one find selects: current resources of `types` meeting every
 * condition of `where` and, per type, the access layer's conditions.
 * Access conditions are read from ctx.access once, here, so that the
 * resolution of a chain or `_has` inside them (keyed by the condition
 * object) is found again when compiling.
 */
export interface FilterScope {
  types: readonly string[];
  where: readonly Condition[];
  access: ReadonlyMap<string, readonly Condition[]>;
}

export function scopeOf(types: readonly string[], where: readonly Condition[], access: AccessFilter | undefined): FilterScope {
  if (types.length === 0) throw badRequest('A search needs at least one resource type');
  const perType = new Map<string, readonly Condition[]>();
  if (access) for (const type of new Set(types)) perType.set(type, access.conditionsFor(type));
  return { types, where, access: perType };
}

/** The `Type/id` of the resources a chain's targets or a `_has`'s sources resolved to (subqueries.ts). */
export type Resolutions = ReadonlyMap<ChainCondition | HasCondition, readonly string[]>;

export function compileFilter(scope: FilterScope, resolved: Resolutions): Document {
  if (scope.types.length === 0) throw badRequest('A search needs at least one resource type');
  // $and, not merged keys: two conditions on the same parameter address the same field.
  const conditions = [...scope.where.map((c) => compileCondition(c, resolved)), accessMatch(scope, resolved)].filter(
    (c) => Object.keys(c).length > 0,
  );
  return {
    type: scope.types.length === 1 ? scope.types[0] : { $in: [...scope.types] },
    deleted: false,
    ...(conditions.length > 0 ? { $and: conditions } : {}),
  };
}

/** Each type with its own access conditions; one type needs no `type` test (the filter already has it). */
function accessMatch(scope: FilterScope, resolved: Resolutions): Document {
  if (![...scope.access.values()].some((conditions) => conditions.length > 0)) return {};
  const perType = [...new Set(scope.types)].map((type) => allOf((scope.access.get(type) ?? []).map((c) => compileAccessCondition(c, resolved))));
  if (perType.length === 1) return perType[0]!;
  return { $or: [...new Set(scope.types)].map((type, i) => allOf([{ type }, perType[i]!])) };
}

/**
 * Access conditions compiled once per condition object. They are the same
 * objects from request to request while the data they were compiled from is
 * unchanged (the consent layer caches them, keyed by change stamps:
 * src/security/consent/consent-source.ts); a change gives new objects, so an
 * entry can never be stale, and it goes with its condition. Only conditions
 * without chains or `_has` are kept: their filter depends on nothing but the
 * condition (no resolution). The filters are shared: never mutated.
 */
const compiledAccess = new WeakMap<Condition, Document>();

export function compileAccessCondition(condition: Condition, resolved: Resolutions): Document {
  let compiled = compiledAccess.get(condition);
  if (compiled === undefined) {
    compiled = compileCondition(condition, resolved);
    if (isSelfContained(condition)) compiledAccess.set(condition, compiled);
  }
  return compiled;
}

export function compileCondition(condition: Condition, resolved: Resolutions): Document {
  switch (condition.kind) {
    case 'param':
      return compileParam(condition);
    case 'chain':
      return { 'idx.reference': { $elemMatch: { param: condition.code, ref: { $in: [...resolutionOf(condition, resolved)] } } } };
    case 'has':
      return resourcesNamed(resolutionOf(condition, resolved));
    case 'any':
      if (condition.of.length === 0) return matchNothing;
      return { $or: condition.of.map((group) => allOf(group.map((c) => compileCondition(c, resolved)))) };
    case 'not':
      return { $nor: [compileCondition(condition.condition, resolved)] };
    case 'constant':
      return condition.value ? {} : matchNothing;
    default:
      throw notSupported(`Search condition kind '${(condition as { kind: string }).kind}' is not supported`);
  }
}

function resolutionOf(condition: ChainCondition | HasCondition, resolved: Resolutions): readonly string[] {
  const refs = resolved.get(condition);
  // A bug, not the client's doing: the adapter resolves every chain and _has before compiling.
  if (refs === undefined) throw new Error(`compileFilter: the ${condition.kind} condition was not resolved`);
  return refs;
}

/** The resources named by `Type/id` refs: by type, so that the unique {type, id} index serves each part. */
export function resourcesNamed(refs: readonly string[]): Document {
  const idsByType = new Map<string, string[]>();
  for (const ref of refs) {
    const slash = ref.indexOf('/');
    if (slash <= 0) continue;
    const type = ref.slice(0, slash);
    (idsByType.get(type) ?? idsByType.set(type, []).get(type)!).push(ref.slice(slash + 1));
  }
  if (idsByType.size === 0) return matchNothing;
  const parts = [...idsByType].map(([type, ids]) => ({ type, id: ids.length === 1 ? ids[0] : { $in: ids } }));
  return parts.length === 1 ? parts[0]! : { $or: parts };
}

/** Which modifiers, and which value kinds, each parameter type takes (query.ts); `missing` goes with every type. */
const paramRules: { [T in ParamType]?: { modifiers: readonly string[]; values: ReadonlyArray<SearchValue['kind']> } } = {
  token: { modifiers: ['text', 'not', 'of-type'], values: ['token', 'string', 'of-type'] },
  string: { modifiers: ['exact', 'contains'], values: ['string'] },
  uri: { modifiers: ['above', 'below'], values: ['uri'] },
  reference: { modifiers: ['identifier'], values: ['reference', 'token'] },
  date: { modifiers: [], values: ['date'] },
  number: { modifiers: [], values: ['number'] },
  quantity: { modifiers: [], values: ['quantity'] },
  composite: { modifiers: [], values: ['composite'] },
};

function compileParam(condition: ParamCondition): Document {
  const { code, type, modifier, values } = condition;
  // hasOwn, not a lookup: a type such as 'constructor' must not find a prototype member.
  const rules = Object.hasOwn(paramRules, type) ? paramRules[type] : undefined;
  if (rules === undefined) throw notSupported(`Search parameter type '${type}' ('${code}') is not supported`);
  if (values.length === 0) throw badRequest(`Search parameter '${code}' has no value`);
  if (modifier !== undefined && modifier !== 'missing' && !rules.modifiers.includes(modifier)) {
    throw notSupported(`Modifier ':${modifier}' on '${code}' is not supported`);
  }
  if (modifier === 'missing') return compileMissing(condition);
  for (const value of values) {
    if (!rules.values.includes(value.kind)) throw notSupported(`Value kind '${value.kind}' for '${code}' is not supported`);
  }
  if (code === '_id') return compileId(condition);
  const site: ValueSite = { code, type, ...(modifier !== undefined ? { modifier } : {}) };
  const alternatives = entryMatches(values, site);
  // The values are ORed, and each alternative must hold within ONE entry: one $elemMatch with the alternatives inside.
  const withinEntry = alternatives.length === 1 ? alternatives[0]! : { $or: alternatives };
  const someEntry = { [`idx.${type as IndexEntryKind}`]: { $elemMatch: { param: code, ...withinEntry } } };
  // `:not`: no entry matches any of the values, which resources without the element satisfy too.
  return modifier === 'not' ? { $nor: [someEntry] } : someEntry;
}

/**
 * `:missing=true`: no entry for the parameter (`$ne` on an array field holds
 * when no element is equal, and when the field is absent); `false`: one at least.
 */
function compileMissing({ code, type, values }: ParamCondition): Document {
  const value = values[0];
  if (values.length !== 1 || value?.kind !== 'missing') throw badRequest(`'${code}:missing' takes true or false`);
  // Every resource has an id.
  if (code === '_id') return value.missing ? matchNothing : {};
  const field = `idx.${type as IndexEntryKind}.param`;
  return value.missing ? { [field]: { $ne: code } } : { [field]: code };
}

/** `_id` is the document's own `id` field, not an index entry. */
function compileId({ code, modifier, values }: ParamCondition): Document {
  if (modifier !== undefined && modifier !== 'not') throw notSupported(`Modifier ':${modifier}' on '${code}' is not supported`);
  const ids = values.map((value) => {
    const id = value.kind === 'token' ? value.code : undefined;
    if (id === undefined) throw badRequest('_id needs an id');
    return id;
  });
  if (modifier === 'not') return { id: { $nin: ids } };
  return { id: ids.length === 1 ? ids[0] : { $in: ids } };
}
