import type { AnyResource } from '../../fhir/types';
import { patientCompartment } from '../../fhir/definitions';
import { patientsInCompartment } from '../../search/compartment';
import { createIndexer } from '../../search/indexer';
import type { Indexer } from '../../search/index-entry';
import type { SearchParamSource } from '../../search/param-source';
import { defaultParamSource } from '../../search/param-source';

/**
 * An AuditEvent belongs to the patients of its entities, not of its agent:
 * the same rule as the access log's visibility (scope-access.ts), so that
 * reading one's own log is never recorded in the log of the patient who
 * appears there as the agent of an attempt.
 */
const OWN_RULES: Record<string, readonly string[]> = { AuditEvent: ['entity'] };

/** The CompartmentDefinition's parameters (a Patient's `link` among them), but for the types with a rule of their own. */
const ownCompartmentParams = (type: string): readonly string[] => OWN_RULES[type] ?? patientCompartment().get(type) ?? [];

/** Only the parameters that place a resource in a patient compartment: cheap to index on every response. */
const compartmentParams: SearchParamSource = {
  ...defaultParamSource,
  searchParameters: (type) => {
    const codes = ownCompartmentParams(type);
    return defaultParamSource.searchParameters(type).filter((param) => codes.includes(param.code));
  },
};

/**
 * The patients whose compartment holds `resource` (official Patient
 * CompartmentDefinition): a Patient is in its own; others by their
 * compartment parameters (Observation.subject, Encounter.patient...).
 */
export function patientsOfFactory(baseUrl: string): (resource: AnyResource) => string[] {
  const indexer: Indexer = createIndexer({ baseUrl, params: compartmentParams });
  return (resource) => patientsInCompartment(resource.resourceType, resource.id, indexer(resource), ownCompartmentParams(resource.resourceType));
}
