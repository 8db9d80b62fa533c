import type { Document } from 'mongodb';
import { badRequest, FhirError } from '../../errors';
import { tokensBySystem, type CompositeValue, type ParamType, type QuantityValue, type RangeValue, type ReferenceValue, type SearchValue, type StringValue, type TokenValue } from '../../search/query';

/**
 * One search value as a condition on ONE index entry (the fields of an
 * element of `idx.<kind>`, see documents.ts), following the semantics in
 * src/search/query.ts. The caller puts the result inside an `$elemMatch`,
 * which is what keeps, say, a token's system and code on the same coding.
 * Pure, so that the differential test evaluates exactly these documents.
 */

const notSupported = (msg: string) => FhirError.of(400, 'not-supported', msg);

/** Where the value came from: the parameter (its type picks the fields) and the modifier. */
export interface ValueSite {
  code: string;
  type: ParamType;
  modifier?: string;
}

export function entryMatch(value: SearchValue, site: ValueSite): Document {
  switch (value.kind) {
    case 'token':
      // `:identifier` on a reference compares the Reference.identifier fields.
      return site.type === 'reference' ? tokenMatch(value, 'identifierSystem', 'identifierValue') : tokenMatch(value, 'system', 'code');
    case 'of-type':
      return { typeSystem: value.typeSystem, typeCode: value.typeCode, code: value.value };
    case 'string':
      return stringMatch(value, site);
    case 'uri':
      if (site.modifier === 'below') return { value: { $regex: `^${escapeRegex(value.value)}` } };
      if (site.modifier === 'above') return { value: { $in: prefixesOf(value.value) } };
      return { value: value.value };
    case 'date':
    case 'number':
      return rangeMatch(value);
    case 'quantity':
      return allOf([rangeMatch(value), unitMatch(value)]);
    case 'reference':
      return referenceMatch(value);
    case 'composite':
      return compositeMatch(value, site);
    case 'missing':
      // `:missing` is a condition on the resource, not on one entry (search-filter.ts).
      throw badRequest(`'${site.code}': :missing cannot be combined with other values`);
  }
}

/**
 * The alternatives (ORed) for several values of one parameter. Tokens with a
 * system and a code are grouped by system into one `$in` on the code, so a
 * value set expansion (`:in`, thousands of codes) is a handful of
 * alternatives instead of one per code.
 */
export function entryMatches(values: readonly SearchValue[], site: ValueSite): Document[] {
  const [systemField, codeField] = site.type === 'reference' ? ['identifierSystem', 'identifierValue'] : ['system', 'code'];
  const { codesBySystem, others } = tokensBySystem(values);
  const grouped = [...codesBySystem].map(([system, codes]) => ({ [systemField]: system, [codeField]: codes.length === 1 ? codes[0] : { $in: codes } }));
  return [...grouped, ...others.map((value) => entryMatch(value, site))];
}

/** A token value; `system: null` is "no system", which the adapter stores as an explicit null. */
function tokenMatch(value: TokenValue, systemField: string, codeField: string): Document {
  if (value.code === undefined && (value.system === undefined || value.system === null)) {
    throw badRequest('A token search value needs a system or a code');
  }
  return {
    ...(value.system !== undefined ? { [systemField]: value.system } : {}),
    ...(value.code !== undefined ? { [codeField]: value.code } : {}),
  };
}

/** Default: starts with (anchored, so an index on the field serves it); `:exact`; `:contains`; token `:text` on `text`. */
function stringMatch(value: StringValue, site: ValueSite): Document {
  if (site.modifier === 'exact') return { exact: value.value };
  const field = site.modifier === 'text' ? 'text' : 'norm';
  const pattern = escapeRegex(value.norm);
  return { [field]: { $regex: site.modifier === 'contains' ? pattern : `^${pattern}` } };
}

/** Every prefix of `text`: `:above` matches the entries that `text` starts with. */
function prefixesOf(text: string): string[] {
  return Array.from({ length: text.length }, (_, i) => text.slice(0, i + 1));
}

/** The prefix table of query.ts over the entry's closed range [low, high] and the search's [sl, sh]. */
export function rangeMatch({ prefix, low: sl, high: sh }: RangeValue): Document {
  const contained = { low: { $gte: sl }, high: { $lte: sh } };
  switch (prefix) {
    case 'eq':
      return contained;
    case 'ne':
      return { $or: [{ low: { $lt: sl } }, { high: { $gt: sh } }] };
    case 'gt':
      return { high: { $gt: sh } };
    case 'lt':
      return { low: { $lt: sl } };
    case 'ge':
      return { $or: [{ high: { $gt: sh } }, contained] };
    case 'le':
      return { $or: [{ low: { $lt: sl } }, contained] };
    case 'sa':
      return { low: { $gt: sh } };
    case 'eb':
      return { high: { $lt: sl } };
    case 'ap':
      return { low: { $lte: sh }, high: { $gte: sl } };
  }
}

/** With a system: system and code; a code alone: the code or the unit text; no unit: any. No conversion. */
function unitMatch(value: QuantityValue): Document {
  if (value.system !== undefined) return { system: value.system, ...(value.code !== undefined ? { code: value.code } : {}) };
  if (value.code !== undefined) return { $or: [{ code: value.code }, { unit: value.code }] };
  return {};
}

function referenceMatch(value: ReferenceValue): Document {
  if (value.ref !== undefined) return { ref: value.ref, ...(value.version !== undefined ? { version: value.version } : {}) };
  // Any local target of these types (query.ts): the access layer's "names no Patient".
  if (value.id === undefined && value.targetTypes !== undefined) return { targetType: { $in: value.targetTypes }, targetId: { $ne: null } };
  if (value.id === undefined) throw badRequest('A reference search value needs a reference or an id');
  // No target types known (a parameter that may point anywhere): the id alone decides.
  return { targetId: value.id, ...(value.targetTypes !== undefined ? { targetType: { $in: value.targetTypes } } : {}) };
}

/**
 * Every component on the same composite entry, each at its own position
 * (`components.<i>`), by the rules of its own kind.
 */
function compositeMatch(value: CompositeValue, site: ValueSite): Document {
  return allOf(
    value.components.map((component, i) => {
      if (component.kind === 'composite' || component.kind === 'missing') {
        throw notSupported(`'${site.code}': a composite component cannot be ${component.kind}`);
      }
      // The component's own parameter type is not in the IR; only a reference's `:identifier` depends on it, which components never use.
      return prefixFields(entryMatch(component, { code: site.code, type: 'composite' }), `components.${i}.`);
    }),
  );
}

/** Rewrites the field names of a match document to live under `prefix`, through `$and`/`$or`/`$nor`. */
function prefixFields(match: Document, prefix: string): Document {
  const out: Document = {};
  for (const [key, condition] of Object.entries(match)) {
    if (key === '$and' || key === '$or' || key === '$nor') out[key] = (condition as Document[]).map((d) => prefixFields(d, prefix));
    else if (key.startsWith('$')) throw new Error(`prefixFields: unexpected top-level operator ${key}`);
    else out[prefix + key] = condition;
  }
  return out;
}

/** AND of match documents; `{}` (any) parts drop out. */
export function allOf(matches: Document[]): Document {
  const parts = matches.filter((m) => Object.keys(m).length > 0);
  if (parts.length === 0) return {};
  return parts.length === 1 ? parts[0]! : { $and: parts };
}

/** MongoDB (PCRE) and mingo (JS) read these escapes the same way. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
