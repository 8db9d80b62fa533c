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
  if (Array.isArray(value)) return value.map((item) => replaceReferences(item, targets));
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = replaceReferences(item, targets);
  return copy;
}

/** Every `reference` of `value` written as a search (`Type?criteria`). */
export function conditionalReferences(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) conditionalReferences(item, found);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'reference' && typeof item === 'string' && CONDITIONAL_REFERENCE.test(item)) found.add(item);
      else if (typeof item === 'object') conditionalReferences(item, found);
    }
  }
  return found;
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
