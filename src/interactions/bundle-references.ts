import type { RequestContext } from '../context';
import { FhirError } from '../errors';
import type { StorageOps } from '../storage/port';
import { findMatches, parseCriteria, type QueryPairs } from './conditional';
import { assertResourceType } from './resource-body';

/** A conditional reference: `Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|160`. */
const CONDITIONAL_REFERENCE = /^([A-Z][A-Za-z]+)\?(.+)$/;

/** What a transaction's references are replaced by: fullUrl or conditional reference → `Type/id`. */
export type ReferenceTargets = ReadonlyMap<string, string>;

/**
 * A deep copy of `value` in which every string equal to a key of `targets`
 * is replaced: the spec has the server replace the fullUrls of the entries it
 * creates wherever they appear (references, also inside contained resources
 * and extensions, and uri elements). Narrative links are left as they are.
 */
export function replaceReferences(value: unknown, targets: ReferenceTargets): unknown {
  if (typeof value === 'string') return targets.get(value) ?? value;
  if (value === null || typeof value !== 'object') return value;
  // Plain loops, no Object.entries or map callbacks: this copies every node of every entry a transaction writes.
  if (Array.isArray(value)) {
    const items = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) items[i] = replaceReferences(value[i], targets);
    return items;
  }
  const source = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  // A body parsed from JSON has only own keys: for...in visits what Object.entries would, in the same order.
  for (const key in source) copy[key] = replaceReferences(source[key], targets);
  return copy;
}

/** Every `reference` of `value` written as a search (`Type?criteria`). */
export function conditionalReferences(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (value === null || typeof value !== 'object') return found;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item !== null && typeof item === 'object') conditionalReferences(item, found);
    }
    return found;
  }
  const node = value as Record<string, unknown>;
  for (const key in node) {
    const item = node[key];
    if (key === 'reference' && typeof item === 'string') {
      // Nearly every reference is `Type/id` or a fullUrl: the pattern only runs on one holding a `?`.
      if (item.includes('?') && CONDITIONAL_REFERENCE.test(item)) found.add(item);
    } else if (item !== null && typeof item === 'object') {
      conditionalReferences(item, found);
    }
  }
  return found;
}

/**
 * `conditionalReferences` remembered per body: a transaction asks for an
 * entry's at admission, when it orders the writes and when it writes the
 * entry, and each answer is a walk of the whole resource. Bodies are never
 * changed in place (a replacement is a copy), so a body's answer stays true.
 */
export function conditionalReferencesMemo(): (value: unknown) => ReadonlySet<string> {
  const known = new WeakMap<object, Set<string>>();
  return (value) => {
    if (value === null || typeof value !== 'object') return new Set();
    let found = known.get(value);
    if (!found) known.set(value, (found = conditionalReferences(value)));
    return found;
  };
}

/** The type a conditional reference searches: `Practitioner` of `Practitioner?identifier=...`. */
export function conditionalReferenceType(reference: string): string {
  return conditionalParts(reference)[0];
}

/** The type and the query of a conditional reference; the pattern requires both. */
function conditionalParts(reference: string): [type: string, query: string] {
  const match = CONDITIONAL_REFERENCE.exec(reference) as RegExpExecArray;
  return [match[1]!, match[2]!];
}

/**
 * Search criteria with the bundle's fullUrls replaced by `Type/id`
 * (`subject=urn:uuid:...` in an ifNoneExist or a conditional URL), value by
 * value: a comma separates the alternatives of one parameter.
 */
export function replaceInCriteria(criteria: QueryPairs, targets: ReferenceTargets): QueryPairs {
  return criteria.map(([key, value]): [string, string] => [key, value.split(',').map((part) => targets.get(part) ?? part).join(',')]);
}

/**
 * The one resource a conditional reference matches inside the transaction,
 * as `Type/id`; undefined when it matches none (yet: an entry written later
 * may create it). More than one fails the transaction (412), an unknown
 * search parameter is 400 (as for any conditional interaction).
 */
export async function conditionalTarget(ops: StorageOps, ctx: RequestContext, reference: string): Promise<string | undefined> {
  const [type, query] = conditionalParts(reference);
  assertResourceType(type);
  const matches = await findMatches(ops, ctx, type, parseCriteria(query));
  if (matches.length > 1) throw FhirError.of(412, 'multiple-matches', `The conditional reference ${reference} matches more than one resource`);
  return matches.length === 1 ? `${type}/${matches[0]!.id}` : undefined;
}

/** `conditionalTarget`, where no match fails the transaction too (412). */
export async function resolveConditionalReference(ops: StorageOps, ctx: RequestContext, reference: string): Promise<string> {
  const target = await conditionalTarget(ops, ctx, reference);
  if (target === undefined) throw FhirError.of(412, 'not-found', `The conditional reference ${reference} matches no resource`);
  return target;
}
