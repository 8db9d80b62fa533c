import type { CompartmentDefinition } from 'fhir/r4';
import { sortedByKey } from './write-json';
import type { SpecPackage } from './package-source';

/** `{ ResourceType: [param codes linking it to the patient] }`, types without params left out. */
export function buildPatientCompartment(pkg: SpecPackage): Record<string, string[]> {
  const def = pkg.read<CompartmentDefinition>('CompartmentDefinition-patient.json');
  const out: Record<string, string[]> = {};
  for (const r of def.resource ?? []) {
    if (r.param && r.param.length > 0) out[r.code] = [...r.param].sort();
  }
  return sortedByKey(out);
}
