import type { ElementDefinition, StructureDefinition } from 'fhir/r4';
import type { SpecPackage } from './package-source';

/** The base (non-profile) StructureDefinitions of the spec, by type name. */
export interface CoreDefinitions {
  resources: Map<string, StructureDefinition>;
  /** Primitive and complex data types, including Element, BackboneElement and Extension. */
  dataTypes: Map<string, StructureDefinition>;
}

export function loadCoreDefinitions(pkg: SpecPackage): CoreDefinitions {
  const resources = new Map<string, StructureDefinition>();
  const dataTypes = new Map<string, StructureDefinition>();
  for (const file of pkg.files('StructureDefinition-')) {
    const sd = pkg.read<StructureDefinition>(file);
    // Profiles (derivation=constraint) and logical models are not base types.
    if (sd.derivation !== 'specialization' && sd.type !== 'Element') continue;
    if (sd.url !== `http://hl7.org/fhir/StructureDefinition/${sd.type}`) continue;
    if (sd.kind === 'resource') resources.set(sd.type, sd);
    else if (sd.kind === 'primitive-type' || sd.kind === 'complex-type') dataTypes.set(sd.type, sd);
  }
  return { resources, dataTypes };
}

/** Concrete resource types: Resource and DomainResource are abstract. */
export function concreteResourceTypes(defs: CoreDefinitions): string[] {
  return [...defs.resources.values()].filter((sd) => !sd.abstract).map((sd) => sd.type).sort();
}

export function snapshotElements(sd: StructureDefinition): ElementDefinition[] {
  if (!sd.snapshot) throw new Error(`${sd.url} has no snapshot`);
  return sd.snapshot.element;
}
