import type { Expression, Extension } from 'fhir/r4';

/**
 * The Structured Data Capture extensions Concord reads (SDC 3.0.0,
 * http://hl7.org/fhir/uv/sdc/STU3/): one name per URL, so that population
 * and extraction spell them once.
 */
const SDC = 'http://hl7.org/fhir/uv/sdc/StructureDefinition/';

export const EXT = {
  launchContext: `${SDC}sdc-questionnaire-launchContext`,
  variable: 'http://hl7.org/fhir/StructureDefinition/variable',
  itemPopulationContext: `${SDC}sdc-questionnaire-itemPopulationContext`,
  initialExpression: `${SDC}sdc-questionnaire-initialExpression`,
  observationLinkPeriod: `${SDC}sdc-questionnaire-observationLinkPeriod`,
  observationExtract: `${SDC}sdc-questionnaire-observationExtract`,
  itemExtractionContext: `${SDC}sdc-questionnaire-itemExtractionContext`,
} as const;

/** FHIR Expression.language values (SDC "Using Expressions"). */
export const LANGUAGE = {
  fhirpath: 'text/fhirpath',
  fhirQuery: 'application/x-fhir-query',
} as const;

export type { Expression, Extension };

/** Extensions of `element` with `url`. */
export function extensionsOf(element: { extension?: Extension[] } | undefined, url: string): Extension[] {
  return (element?.extension ?? []).filter((extension) => extension.url === url);
}

/** The `valueExpression` of each extension of `element` with `url`. */
export function expressionsOf(element: { extension?: Extension[] } | undefined, url: string): Expression[] {
  return extensionsOf(element, url)
    .map((extension) => extension.valueExpression)
    .filter((expression): expression is Expression => expression !== undefined);
}
