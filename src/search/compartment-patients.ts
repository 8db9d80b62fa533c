import { patientCompartment } from '../fhir/definitions';
import { patientsInCompartment } from './compartment';
import type { IndexEntry } from './index-entry';

/**
 * An AuditEvent belongs to the patients of its entities, not of its agent:
 * the same rule as the access log's visibility (scope-access.ts), so that
 * reading one's own log is never recorded in the log of the patient who
 * appears there as the agent of an attempt.
 */
const OWN_RULES: Record<string, readonly string[]> = { AuditEvent: ['entity'] };

/** The CompartmentDefinition's parameters (a Patient's `link` among them), but for the types with a rule of their own. */
export const compartmentParamsOf = (type: string): readonly string[] => OWN_RULES[type] ?? patientCompartment().get(type) ?? [];

/**
 * The patients whose compartment holds a resource, from its index entries
 * (official Patient CompartmentDefinition): a Patient is in its own; others
 * by their compartment parameters (Observation.subject, Encounter.patient...).
 * The storage keeps them with each version it writes, from the entries it
 * indexes anyway, so the audit of a read needs no parse of the body.
 */
export function compartmentPatients(resourceType: string, id: string | undefined, entries: readonly IndexEntry[]): string[] {
  return patientsInCompartment(resourceType, id, entries, compartmentParamsOf(resourceType));
}
