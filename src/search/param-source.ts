/**
 * Where the indexer and the parser read SearchParameter definitions. Injected
 * so that tests can supply made-up parameters; the default is the server's
 * conformance set (src/fhir/definitions.ts).
 */
import * as definitions from '../fhir/definitions';
import type { SearchParamDef } from '../fhir/definitions';

export type { SearchParamDef };

export interface SearchParamSource {
  /** Parameters applicable to the type, those based on Resource/DomainResource included; empty for an unknown type. */
  searchParameters(resourceType: string): readonly SearchParamDef[];
  searchParameter(resourceType: string, code: string): SearchParamDef | undefined;
  /** Every resource type the server knows. */
  resourceTypes(): readonly string[];
}

export const defaultParamSource: SearchParamSource = {
  searchParameters: definitions.searchParameters,
  searchParameter: definitions.searchParameter,
  resourceTypes: definitions.resourceTypes,
};
