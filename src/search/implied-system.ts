import { readConformanceArtefact } from '../fhir/definitions';

interface BindingsArtefact {
  /** Element path (`Patient.gender`) → the value set its required binding names. */
  elements: Record<string, string>;
  /** Value set → its codes grouped by code system. */
  valueSets: Record<string, Record<string, string[]>>;
}

let systemsByElement: Map<string, Map<string, string>> | undefined;

/** Element path → code → the one system that defines it in the bound value set. */
function load(): Map<string, Map<string, string>> {
  const artefact = readConformanceArtefact<BindingsArtefact>('bindings.json');
  const byValueSet = new Map<string, Map<string, string>>();
  const result = new Map<string, Map<string, string>>();
  for (const [path, valueSet] of Object.entries(artefact.elements)) {
    let codes = byValueSet.get(valueSet);
    if (!codes) {
      codes = new Map();
      for (const [system, systemCodes] of Object.entries(artefact.valueSets[valueSet] ?? {})) {
        // A code two systems define is ambiguous: leave it without a system.
        for (const code of systemCodes) codes.set(code, codes.has(code) ? '' : system);
      }
      byValueSet.set(valueSet, codes);
    }
    result.set(path, codes);
  }
  return result;
}

/**
 * A `code` element has no system of its own, but its required binding
 * implies one (Patient.gender → http://hl7.org/fhir/administrative-gender),
 * so that `gender=http://hl7.org/fhir/administrative-gender|male` matches
 * as the spec expects. Null when the element has no such binding.
 */
export function impliedSystem(elementPath: string, code: string): string | null {
  systemsByElement ??= load();
  return systemsByElement.get(elementPath)?.get(code) || null;
}
