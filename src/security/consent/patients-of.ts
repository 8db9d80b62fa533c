/**
 * Which patients a resource belongs to: the Patients its compartment
 * parameters (CompartmentDefinition-patient) reference, and a Patient itself.
 * A Patient's `link` does not make it another patient's data: a Patient
 * resource is governed by its own patient's rules only.
 */
import { patientCompartment } from '../../fhir/definitions';
import { patientsInCompartment } from '../../search/compartment';
import type { Condition } from '../../search/query';
import { FALSE, idIn, or, referenceParam } from './conditions';
import type { ResourceFacts } from './resource-atoms';

/** The reference parameters that place a resource of this type in a patient's compartment (none for Patient: itself). */
export function compartmentParams(resourceType: string): readonly string[] {
  return resourceType === 'Patient' ? [] : (patientCompartment().get(resourceType) ?? []);
}

/** Whether consent governs the type at all: types in no patient compartment are left to the scopes. */
export function isPatientDataType(resourceType: string): boolean {
  return resourceType === 'Patient' || patientCompartment().has(resourceType);
}

export function patientsOf(facts: ResourceFacts): string[] {
  return patientsInCompartment(facts.resourceType, facts.id, facts.entries, compartmentParams(facts.resourceType));
}

/** On resources of `resourceType`: belongs to one of these patients. */
export function aboutPatients(resourceType: string, patientIds: Iterable<string>): Condition {
  const ids = [...patientIds];
  if (ids.length === 0) return FALSE;
  if (resourceType === 'Patient') return idIn(ids);
  const refs = ids.map((id) => `Patient/${id}`);
  return or(...compartmentParams(resourceType).map((param) => referenceParam(param, refs)));
}
