import type { ElementDefinition, StructureDefinition, ValueSet } from 'fhir/r4';
import type { ProfileArtefact, ProfileElement } from '../../src/validation/profile-rules';
import type { SpecPackage } from './package-source';
import { snapshotElements, type CoreDefinitions } from './structure-definitions';

const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

/**
 * The resource profiles of the R4 package (StructureDefinitions with
 * derivation = constraint and kind = resource: the vital-signs family,
 * the lipid profiles, the shareable and CDS Hooks profiles...), each
 * reduced to the elements that constrain more than the base resource does.
 *
 * The source is the snapshot, which already merges the profile with the
 * profiles it derives from (bp inherits the category slice of vitalsigns), so
 * each entry stands alone. An element is kept when it is a slice, carries a
 * slicing with slices, has a higher min or lower max than the base element,
 * narrows the types of a choice or the targets of a Reference, pins a value
 * (fixed[x], pattern[x]), binds a code to a required value set of its own, or
 * declares an error constraint the base does not have. Everything else is
 * the base specification's job (the JSON Schema, the core invariants).
 */
export function buildCoreProfiles(defs: CoreDefinitions, pkg: SpecPackage): ProfileArtefact[] {
  const all = pkg.files('StructureDefinition-').map((f) => pkg.read<StructureDefinition>(f));
  const typeOfProfile = new Map(all.map((sd) => [sd.url, sd.type]));
  const baseKeys = baseConstraintKeys(defs);
  const valueSets = new Map(pkg.files('ValueSet-').map((f) => pkg.read<ValueSet>(f)).map((vs) => [vs.url!, vs]));
  const profiles = all.filter((sd) => sd.derivation === 'constraint' && sd.kind === 'resource');
  return profiles
    .map((sd) => reduce(sd, defs, { typeOfProfile, baseKeys, valueSets }))
    .sort((a, b) => (a.url < b.url ? -1 : 1));
}

interface Context {
  typeOfProfile: ReadonlyMap<string, string>;
  baseKeys: ReadonlySet<string>;
  valueSets: ReadonlyMap<string, ValueSet>;
}

function reduce(sd: StructureDefinition, defs: CoreDefinitions, ctx: Context): ProfileArtefact {
  const elements = snapshotElements(sd);
  const base = defs.resources.get(sd.type);
  if (!base) throw new Error(`${sd.url} constrains ${sd.type}, which is not a resource`);
  const out: ProfileElement[] = [];
  for (const e of elements) {
    const b = baseElement(e.path, base, defs, elements);
    const reduced = reduceElement(e, b, elements, ctx);
    if (reduced) out.push(reduced);
  }
  return { url: sd.url, name: sd.name, type: sd.type, elements: out };
}

function reduceElement(e: ElementDefinition, b: ElementDefinition | undefined, all: ElementDefinition[], ctx: Context): ProfileElement | undefined {
  const out: ProfileElement = { id: e.id ?? e.path, path: e.path };
  let keep = false;
  if (e.sliceName) {
    out.sliceName = e.sliceName;
    out.min = e.min ?? 0;
    out.max = e.max ?? '*';
    out.types = typeCodes(e);
    keep = true;
  }
  if (e.slicing && all.some((x) => x.id?.startsWith(`${e.id}:`))) {
    out.slicing = { discriminator: e.slicing.discriminator ?? [], rules: e.slicing.rules, ordered: e.slicing.ordered ?? false };
    keep = true;
  }
  if ((e.min ?? 0) > (b?.min ?? 0)) (out.min = e.min), (keep = true);
  if (e.max !== undefined && e.max !== '*' && (b?.max === undefined || b.max === '*' || Number(e.max) < Number(b.max))) {
    if (b || e.max === '0') (out.max = e.max), (keep = true);
  }
  const types = typeCodes(e);
  if (!e.sliceName && e.path.endsWith('[x]') && b && types.length < typeCodes(b).length) (out.types = types), (keep = true);
  const targets = referenceTargets(e, ctx.typeOfProfile);
  const baseTargets = b ? referenceTargets(b, ctx.typeOfProfile) : undefined;
  if (targets && baseTargets && targets.length < baseTargets.length) (out.targets = targets), (keep = true);
  const extensionUrl = e.type?.find((t) => t.code === 'Extension')?.profile?.[0];
  if (e.sliceName && extensionUrl) out.extensionUrl = extensionUrl;
  for (const [key, value] of Object.entries(e)) {
    if (/^(fixed|pattern)[A-Z]/.test(key)) ((out as unknown as Record<string, unknown>)[key] = value), (keep = true);
  }
  const codes = requiredCodes(e, b, ctx.valueSets);
  if (codes) (out.codes = codes), (keep = true);
  const constraints = (e.constraint ?? []).filter((c) => c.severity === 'error' && c.expression && !ctx.baseKeys.has(c.key));
  if (constraints.length > 0) {
    out.constraint = constraints.map((c) => ({ key: c.key, human: c.human, expression: c.expression! }));
    keep = true;
  }
  return keep ? out : undefined;
}

/**
 * The base definition of a profile element: the resource's element at the
 * same path, or, below a data type (`Observation.component.value[x].system`),
 * the data type's element (`Quantity.system`), the type being the one the
 * profile narrowed its ancestor to.
 */
function baseElement(path: string, base: StructureDefinition, defs: CoreDefinitions, profile: ElementDefinition[]): ElementDefinition | undefined {
  const own = snapshotElements(base).find((x) => x.path === path);
  if (own) return own;
  const segments = path.split('.');
  for (let i = segments.length - 1; i > 0; i--) {
    const prefix = segments.slice(0, i).join('.');
    const ancestor = profile.find((x) => x.path === prefix);
    const codes = ancestor ? typeCodes(ancestor) : [];
    const type = codes.length === 1 ? defs.dataTypes.get(codes[0]!) : undefined;
    if (!type) continue;
    const rest = [type.type, ...segments.slice(i)].join('.');
    return snapshotElements(type).find((x) => x.path === rest);
  }
  return undefined;
}

function typeCodes(e: ElementDefinition): string[] {
  return [...new Set((e.type ?? []).map((t) => t.code))].sort();
}

/** The resource types a Reference element may name, or undefined if it is not a Reference or allows any resource. */
function referenceTargets(e: ElementDefinition, typeOfProfile: ReadonlyMap<string, string>): string[] | undefined {
  const profiles = e.type?.find((t) => t.code === 'Reference')?.targetProfile;
  if (!profiles || profiles.length === 0) return undefined;
  const types = profiles.map((p) => typeOfProfile.get(p) ?? (p.startsWith(CORE_PREFIX) ? p.slice(CORE_PREFIX.length) : undefined));
  if (types.some((t) => t === undefined || t === 'Resource')) return undefined;
  return [...new Set(types as string[])].sort();
}

/**
 * The codes of a required binding the profile adds to a `code` element
 * (bodytemp: `valueQuantity.code` is `Cel` or `[degF]`), when its value set
 * lists its concepts. Bindings of Coding and CodeableConcept elements in
 * profiles are not checked (docs/validation.md).
 */
function requiredCodes(e: ElementDefinition, b: ElementDefinition | undefined, valueSets: ReadonlyMap<string, ValueSet>): string[] | undefined {
  if (e.binding?.strength !== 'required' || !e.binding.valueSet) return undefined;
  if (typeCodes(e).join() !== 'code') return undefined;
  const url = e.binding.valueSet.split('|')[0]!;
  if (b?.binding?.strength === 'required' && b.binding.valueSet?.split('|')[0] === url) return undefined;
  const include = valueSets.get(url)?.compose?.include ?? [];
  if (include.length === 0 || include.some((i) => !i.concept || i.valueSet || i.filter)) return undefined;
  return [...new Set(include.flatMap((i) => i.concept!.map((c) => c.code)))].sort();
}

/** Constraint keys the base resources and data types declare: the core check evaluates those already. */
function baseConstraintKeys(defs: CoreDefinitions): Set<string> {
  const keys = new Set<string>();
  for (const sd of [...defs.resources.values(), ...defs.dataTypes.values()]) {
    for (const e of snapshotElements(sd)) for (const c of e.constraint ?? []) keys.add(c.key);
  }
  return keys;
}
