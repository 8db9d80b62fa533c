import type { AnyResource } from '../../fhir/types';
import { compartmentParamsOf, compartmentPatients } from '../../search/compartment-patients';
import { createIndexer } from '../../search/indexer';
import type { Indexer } from '../../search/index-entry';
import type { SearchParamSource } from '../../search/param-source';
import { defaultParamSource } from '../../search/param-source';

/** Only the parameters that place a resource in a patient compartment: cheap to index on every response. */
const compartmentParams: SearchParamSource = {
  ...defaultParamSource,
  searchParameters: (type) => {
    const codes = compartmentParamsOf(type);
    return defaultParamSource.searchParameters(type).filter((param) => codes.includes(param.code));
  },
};

/**
 * The patients whose compartment holds `resource` (search/compartment-patients.ts),
 * for a body the storage kept no patients with (an operation's answer, a
 * row written before the storage kept them).
 */
export function patientsOfFactory(baseUrl: string): (resource: AnyResource) => string[] {
  const indexer: Indexer = createIndexer({ baseUrl, params: compartmentParams });
  return (resource) => compartmentPatients(resource.resourceType, resource.id, indexer(resource));
}
