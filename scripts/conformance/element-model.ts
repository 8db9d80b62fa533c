import type { ElementDefinition, ElementDefinitionType, StructureDefinition } from 'fhir/r4';
import { snapshotElements, type CoreDefinitions } from './structure-definitions';

/**
 * The shape of every complex type, resource and backbone element, flattened to
 * what a JSON instance looks like: one entry per JSON property name, choice
 * types (`value[x]`) expanded to `valueString`, `valueQuantity`... and each
 * primitive element `x` paired with its `_x` (id and extensions).
 *
 * It is the single intermediate form from which the build derives the JSON
 * Schema, and which the runtime walks to find where each constraint applies.
 */
export interface ElementModel {
  /** Primitive type name → JSON Schema of its value (type, pattern, range). */
  primitives: Record<string, PrimitiveJsonType>;
  /** Definition key (type name, or element path of a backbone element) → its properties. */
  definitions: Record<string, Record<string, PropertyDef>>;
}

export interface PrimitiveJsonType {
  json: 'string' | 'boolean' | 'integer' | 'number';
  /** The spec's regex, unanchored as published. */
  regex?: string;
  minimum?: number;
  maximum?: number;
}

export interface PropertyDef {
  /** The element path in the StructureDefinition, e.g. `Observation.value[x]`: constraints and profiles use it. */
  path: string;
  /**
   * A primitive type name, a complex type name, a backbone definition key
   * (`Patient.contact`), `Element` for a `_x` companion, or `Resource` for a
   * nested resource of any type.
   */
  type: string;
  /** A constraining profile of the type (SimpleQuantity, MoneyQuantity) whose invariants also apply. */
  profile?: string;
  array?: true;
  /** Upper bound of an array when it is neither 1 nor `*`. */
  maxItems?: number;
  /** Present for the JSON names of a choice element, e.g. `deceased[x]`. */
  choice?: string;
}

/** An element that has to be present: any of `names` (the value, its `_` companion, the choice variants). */
export interface RequiredElement {
  element: string;
  names: string[];
}

const FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const REGEX_EXT = 'http://hl7.org/fhir/StructureDefinition/regex';
const CORE_PREFIX = 'http://hl7.org/fhir/StructureDefinition/';

export function buildElementModel(defs: CoreDefinitions): ElementModel {
  const primitives: Record<string, PrimitiveJsonType> = {};
  const definitions: Record<string, Record<string, PropertyDef>> = {};
  const primitiveNames = new Set<string>();
  for (const sd of defs.dataTypes.values()) if (sd.kind === 'primitive-type') primitiveNames.add(sd.type);

  for (const sd of [...defs.dataTypes.values()].sort(byType)) {
    if (sd.kind === 'primitive-type') primitives[sd.type] = primitiveJsonType(sd);
    else if (sd.type !== 'BackboneElement') addDefinitions(sd, primitiveNames, definitions);
  }
  for (const sd of [...defs.resources.values()].sort(byType)) {
    if (!sd.abstract) addDefinitions(sd, primitiveNames, definitions);
  }
  return { primitives, definitions };
}

function byType(a: StructureDefinition, b: StructureDefinition): number {
  return a.type < b.type ? -1 : a.type > b.type ? 1 : 0;
}

function primitiveJsonType(sd: StructureDefinition): PrimitiveJsonType {
  const value = snapshotElements(sd).find((e) => e.path === `${sd.type}.value`);
  const regex = value?.type?.[0]?.extension?.find((x) => x.url === REGEX_EXT)?.valueString;
  switch (sd.type) {
    case 'boolean':
      return { json: 'boolean' };
    case 'decimal':
      return { json: 'number' };
    // FHIR integers are 32-bit signed.
    case 'integer':
      return { json: 'integer', minimum: -2147483648, maximum: 2147483647 };
    case 'positiveInt':
      return { json: 'integer', minimum: 1, maximum: 2147483647 };
    case 'unsignedInt':
      return { json: 'integer', minimum: 0, maximum: 2147483647 };
    default:
      return regex ? { json: 'string', regex } : { json: 'string' };
  }
}

/** Adds the definition of `sd` itself and of each of its backbone elements. */
function addDefinitions(sd: StructureDefinition, primitives: Set<string>, out: Record<string, Record<string, PropertyDef>>): void {
  const elements = snapshotElements(sd);
  const isResource = sd.kind === 'resource';
  // A definition for the root and for every element that has children.
  const parents = new Set<string>([sd.type]);
  for (const e of elements) if (e.path.includes('.')) parents.add(parentPath(e.path));
  for (const parent of parents) out[parent] ??= {};

  for (const e of elements) {
    if (!e.path.includes('.')) continue;
    const parent = parentPath(e.path);
    const name = e.path.slice(parent.length + 1);
    const props = out[parent]!;
    const hasChildren = parents.has(e.path);
    const array = e.max !== '1' && e.max !== '0';
    const maxItems = array && e.max !== '*' ? Number(e.max) : undefined;
    const base = { path: e.path, ...(array ? { array: true as const } : {}), ...(maxItems ? { maxItems } : {}) };
    const types = elementTypes(e, sd, isResource, hasChildren);
    const choice = name.endsWith('[x]') ? name.slice(0, -3) : undefined;
    for (const t of types) {
      const jsonName = choice !== undefined ? choice + t.type[0]!.toUpperCase() + t.type.slice(1) : name;
      props[jsonName] = { ...base, type: t.type, ...(t.profile ? { profile: t.profile } : {}), ...(choice ? { choice: name } : {}) };
      // Primitive values carry their id and extensions in a `_name` sibling; attributes (id, url) don't.
      if (primitives.has(t.type) && !t.systemType) {
        props['_' + jsonName] = { ...base, type: 'Element', ...(choice ? { choice: name } : {}) };
      }
    }
  }
}

interface ResolvedType {
  type: string;
  profile?: string;
  /** Declared with a FHIRPath System type: an XML attribute in the spec, with no `_` companion in JSON. */
  systemType?: boolean;
}

function elementTypes(e: ElementDefinition, sd: StructureDefinition, isResource: boolean, hasChildren: boolean): ResolvedType[] {
  if (e.contentReference) return [{ type: e.contentReference.replace(/^.*#/, '') }];
  if (hasChildren) return [{ type: e.path }];
  const types = e.type ?? [];
  if (types.length === 0) throw new Error(`${e.path} has no type`);
  return types.map((t) => resolveType(t, e, sd, isResource));
}

function resolveType(t: ElementDefinitionType, e: ElementDefinition, sd: StructureDefinition, isResource: boolean): ResolvedType {
  if (t.code.startsWith('http://hl7.org/fhirpath/System.')) {
    // R4 snapshots declare Resource.id as System.String; the spec's type for it is `id`.
    if (isResource && e.path === `${sd.type}.id`) return { type: 'id', systemType: true };
    const fhirType = t.extension?.find((x) => x.url === FHIR_TYPE_EXT)?.valueUrl;
    if (!fhirType) throw new Error(`${e.path}: ${t.code} without a FHIR type`);
    return { type: fhirType, systemType: true };
  }
  const profile = t.profile?.find((p) => p.startsWith(CORE_PREFIX));
  const profileName = profile?.slice(CORE_PREFIX.length);
  return profileName && profileName !== t.code ? { type: t.code, profile: profileName } : { type: t.code };
}

function parentPath(path: string): string {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? '' : path.slice(0, dot);
}

/** Elements with min >= 1, per definition key, for the `fhirRequired` schema keyword. */
export function requiredElements(defs: CoreDefinitions, model: ElementModel): Record<string, RequiredElement[]> {
  const out: Record<string, RequiredElement[]> = {};
  for (const sd of [...defs.dataTypes.values(), ...defs.resources.values()]) {
    if (sd.abstract && sd.type !== 'Element') continue;
    for (const e of snapshotElements(sd)) {
      if (!e.path.includes('.') || (e.min ?? 0) < 1) continue;
      const parent = parentPath(e.path);
      const props = model.definitions[parent];
      if (!props) continue;
      const names = Object.entries(props)
        .filter(([, p]) => p.path === e.path)
        .map(([n]) => n)
        .sort();
      (out[parent] ??= []).push({ element: e.path.slice(parent.length + 1), names });
    }
  }
  return out;
}
