import { snapshotElements, type CoreDefinitions } from './structure-definitions';

const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

/**
 * Element path → the resource types a Reference at that element may point
 * to (the targetProfiles of its Reference type, R4 ElementDefinition.type).
 * Elements whose targets include Resource (any type) are left out: there is
 * nothing to check. A targetProfile that is not a core resource (none in R4
 * base definitions) would also make the element unchecked.
 */
export function buildReferenceTargets(defs: CoreDefinitions): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const sd of [...defs.resources.values(), ...defs.dataTypes.values()]) {
    for (const element of snapshotElements(sd)) {
      const reference = element.type?.find((t) => t.code === 'Reference');
      const profiles = reference?.targetProfile;
      if (!profiles || profiles.length === 0) continue;
      const types = profiles.map((p) => (p.startsWith(CORE_PREFIX) ? p.slice(CORE_PREFIX.length) : undefined));
      if (types.some((t) => t === undefined || t === 'Resource' || !defs.resources.has(t))) continue;
      // Inherited elements (Resource.id...) are listed under the type that defines them only.
      if (!element.path.startsWith(`${sd.type}.`)) continue;
      out[element.path] = [...new Set(types as string[])].sort();
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}
