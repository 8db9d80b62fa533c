/** Matching of Coding / CodeableConcept values written in a Consent. */
import type { CodeableConcept, Coding } from 'fhir/r4';

/**
 * A coding names `code` of `system` when the codes are equal and the coding's
 * system is that system or absent (a code without a system is read in the
 * system its element is bound to).
 */
export function codingIs(coding: Coding, system: string, code: string): boolean {
  return coding.code === code && (coding.system === undefined || coding.system === system);
}

export function conceptsName(concepts: readonly CodeableConcept[] | undefined, system: string, codes: ReadonlySet<string>): boolean {
  return (concepts ?? []).some((concept) => (concept.coding ?? []).some((c) => c.code !== undefined && codes.has(c.code) && codingIs(c, system, c.code)));
}

export function codingsName(codings: readonly Coding[] | undefined, system: string, code: string): boolean {
  return (codings ?? []).some((c) => codingIs(c, system, code));
}
