/**
 * The provision conditions that depend on the resource's content, each in two
 * forms kept side by side so they cannot drift apart: a test on one
 * resource's search index entries (decision.ts) and the equivalent search IR
 * condition for a resource type (compile.ts). Both read the same index entries
 * (src/search/indexer.ts), which is what makes the in-query filter agree with
 * the decision function.
 */
import type { CodeableConcept, Coding, ConsentProvisionData, Period } from 'fhir/r4';
import { searchParameter, searchParameters } from '../../fhir/definitions';
import type { IndexEntry } from '../../search/index-entry';
import type { Condition, TokenValue } from '../../search/query';
import { FALSE, idIn, or, referenceParam, tokenParam } from './conditions';
import { localReference, periodRange } from './provision-static';
import { SENSITIVE_LABELS, sameLabel, type Label } from './vocabulary';

/** A resource as the consent layer sees it: its identity and its search index entries. */
export interface ResourceFacts {
  resourceType: string;
  id: string;
  entries: readonly IndexEntry[];
}

const SECURITY = '_security';
const CODE_PARAMS = ['code', 'type'];
const CLINICAL_DATE_PARAMS = ['date', 'authored', 'created'];

/** Coding → token value; a coding without a system matches the code in any system. */
function tokenOf(coding: Coding): TokenValue | undefined {
  if (coding.code === undefined) return undefined;
  return coding.system === undefined ? { kind: 'token', code: coding.code } : { kind: 'token', system: coding.system, code: coding.code };
}

function tokenMatches(entry: IndexEntry, value: TokenValue): boolean {
  return entry.kind === 'token' && entry.code === value.code && (value.system === undefined || entry.system === value.system);
}

const defined = <T>(v: T | undefined): v is T => v !== undefined;

function hasToken(facts: ResourceFacts, params: readonly string[], values: readonly TokenValue[]): boolean {
  return facts.entries.some((e) => params.includes(e.param) && values.some((v) => tokenMatches(e, v)));
}

function tokenCondition(resourceType: string, params: readonly string[], values: TokenValue[]): Condition {
  const existing = params.filter((p) => searchParameter(resourceType, p)?.type === 'token');
  return or(...existing.map((p) => tokenParam(p, values)));
}

// --- securityLabel: any of R's meta.security equals one of the provision's labels

export function labelsMatch(facts: ResourceFacts, labels: readonly Coding[]): boolean {
  return hasToken(facts, [SECURITY], labels.map(tokenOf).filter(defined));
}

export function labelsCondition(resourceType: string, labels: readonly Coding[]): Condition {
  return tokenCondition(resourceType, [SECURITY], labels.map(tokenOf).filter(defined));
}

// --- code: any of R's `code` / `type` tokens equals one of the provision's codings

const codingsOf = (concepts: readonly CodeableConcept[]) => concepts.flatMap((c) => c.coding ?? []).map(tokenOf).filter(defined);

export function codesMatch(facts: ResourceFacts, concepts: readonly CodeableConcept[]): boolean {
  return hasToken(facts, CODE_PARAMS, codingsOf(concepts));
}

export function codesCondition(resourceType: string, concepts: readonly CodeableConcept[]): Condition {
  return tokenCondition(resourceType, CODE_PARAMS, codingsOf(concepts));
}

// --- dataPeriod: R's clinical date (the first of `date`, `authored`, `created` the type has) lies within

/** The parameter that carries a type's clinical date, if it has one. */
export function clinicalDateParam(resourceType: string): string | undefined {
  return CLINICAL_DATE_PARAMS.find((p) => searchParameter(resourceType, p)?.type === 'date');
}

export function dataPeriodMatches(facts: ResourceFacts, period: Period): boolean {
  const param = clinicalDateParam(facts.resourceType);
  const { low, high } = periodRange(period);
  return facts.entries.some((e) => e.param === param && e.kind === 'date' && low <= e.low && e.high <= high);
}

export function dataPeriodCondition(resourceType: string, period: Period): Condition {
  const param = clinicalDateParam(resourceType);
  if (param === undefined) return FALSE;
  const { low, high } = periodRange(period);
  // `eq` is "the search range contains the resource range" (query.ts).
  return { kind: 'param', code: param, type: 'date', values: [{ kind: 'date', prefix: 'eq', low, high }] };
}

// --- data: `instance` R is the reference; `related`/`dependents` R is it or references it

/** Meanings that also cover the resources referring to the named one. */
const REFERRING_MEANINGS = new Set(['related', 'dependents']);

function dataTarget(data: ConsentProvisionData, baseUrl: string): { ref: string; referring: boolean } | undefined {
  const ref = localReference(data.reference?.reference, baseUrl);
  if (ref === undefined || (data.meaning !== 'instance' && !REFERRING_MEANINGS.has(data.meaning))) return undefined;
  return { ref, referring: REFERRING_MEANINGS.has(data.meaning) };
}

const isResource = (facts: ResourceFacts, ref: string) => ref === `${facts.resourceType}/${facts.id}`;

export function dataMatches(facts: ResourceFacts, data: readonly ConsentProvisionData[], baseUrl: string): boolean {
  return data.some((d) => {
    const target = dataTarget(d, baseUrl);
    if (!target) return false;
    return isResource(facts, target.ref) || (target.referring && facts.entries.some((e) => e.kind === 'reference' && e.ref === target.ref));
  });
}

/** `Type/id` as a condition on resources of `resourceType`: the resource itself. */
export function isResourceCondition(resourceType: string, ref: string): Condition {
  const [type, id] = ref.split('/');
  return type === resourceType && id !== undefined ? idIn([id]) : FALSE;
}

function referencesCondition(resourceType: string, ref: string): Condition {
  const params = searchParameters(resourceType).filter((p) => p.type === 'reference');
  return or(...params.map((p) => referenceParam(p.code, [ref])));
}

export function dataCondition(resourceType: string, data: readonly ConsentProvisionData[], baseUrl: string): Condition {
  return or(
    ...data.map((d) => {
      const target = dataTarget(d, baseUrl);
      if (!target) return FALSE;
      return or(isResourceCondition(resourceType, target.ref), target.referring ? referencesCondition(resourceType, target.ref) : FALSE);
    }),
  );
}

/** The references a provision's `data` names (any meaning): naming R there discloses it even when sensitive. */
export function namedReferences(data: readonly ConsentProvisionData[] | undefined, baseUrl: string): string[] {
  return (data ?? []).map((d) => localReference(d.reference?.reference, baseUrl)).filter(defined);
}

// --- sensitivity (step 5)

export function sensitiveLabelsOf(facts: ResourceFacts): Label[] {
  return SENSITIVE_LABELS.filter((label) => hasToken(facts, [SECURITY], [{ kind: 'token', system: label.system, code: label.code }]));
}

/** R carries a sensitive label other than those in `named`. */
export function unnamedSensitiveCondition(resourceType: string, named: readonly Label[]): Condition {
  const others = SENSITIVE_LABELS.filter((l) => !named.some((n) => sameLabel(n, l)));
  return tokenCondition(resourceType, [SECURITY], others.map((l) => ({ kind: 'token', system: l.system, code: l.code })));
}

/** The provision's labels that are sensitive labels, as named in the provision (system required). */
export function sensitiveLabelsNamed(labels: readonly Coding[] | undefined): Label[] {
  return SENSITIVE_LABELS.filter((l) => (labels ?? []).some((c) => c.code === l.code && (c.system === undefined || c.system === l.system)));
}
