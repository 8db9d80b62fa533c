import type { StructureDefinition } from 'fhir/r4';
import { snapshotElements, type CoreDefinitions } from './structure-definitions';
import { sortedByKey } from './write-json';
import type { SpecPackage } from './package-source';

/** An invariant as the validator evaluates it. */
export interface ConstraintArtefact {
  key: string;
  expression: string;
  human: string;
}

/**
 * Error-severity constraints keyed by where they apply:
 * - a type name (`Patient`, `Period`, `SimpleQuantity`): evaluated on every
 *   instance of that type, wherever it occurs;
 * - an element path (`Patient.contact`, `Timing.repeat`): evaluated on every
 *   node at that element.
 *
 * A snapshot repeats inherited constraints on each element (ele-1 everywhere,
 * ext-1 on each `extension`); only those declared by the definition itself are
 * kept at element paths, so that each invariant is evaluated once per node.
 * ele-1 is left out entirely: the JSON Schema enforces it (no empty objects,
 * no empty strings, no empty arrays) at a fraction of the cost.
 */
export function buildConstraints(defs: CoreDefinitions, pkg: SpecPackage): Record<string, ConstraintArtefact[]> {
  const out: Record<string, ConstraintArtefact[]> = {};
  const sds = [...defs.dataTypes.values(), ...defs.resources.values(), ...quantityProfiles(pkg)];
  for (const sd of sds) {
    if (sd.kind === 'primitive-type' || (sd.abstract && sd.type !== 'Element')) continue;
    const typeKey = sd.derivation === 'constraint' ? sd.id! : sd.type;
    for (const e of snapshotElements(sd)) {
      const isRoot = !e.path.includes('.');
      const key = isRoot ? typeKey : e.path;
      for (const c of e.constraint ?? []) {
        if (c.severity !== 'error' || !c.expression || c.key === 'ele-1') continue;
        if (!isRoot && c.source && c.source !== sd.url) continue;
        const list = (out[key] ??= []);
        if (!list.some((x) => x.key === c.key)) list.push({ key: c.key, expression: c.expression, human: c.human });
      }
    }
  }
  for (const list of Object.values(out)) list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return sortedByKey(out);
}

/** Profiles of Quantity that element types reference (`Quantity` with profile SimpleQuantity). */
function quantityProfiles(pkg: SpecPackage): StructureDefinition[] {
  return ['SimpleQuantity', 'MoneyQuantity'].map((n) => pkg.read<StructureDefinition>(`StructureDefinition-${n}.json`));
}
