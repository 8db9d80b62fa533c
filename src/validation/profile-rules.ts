import type { ElementDefinition, StructureDefinition } from 'fhir/r4';
import type { Invariant } from './invariants';
import { SKIPPED_INVARIANTS } from './skipped-invariants';

/**
 * A profile as the validator reads it: the elements that constrain more than
 * the base resource, in the shape of ElementDefinition (R4 profiling.html).
 * conformance/core-profiles.json holds the R4 package's resource profiles in
 * this shape (scripts/conformance/profiles.ts); the StructureDefinitions of
 * profiles/ are read into it by `elementsOf`.
 */
export interface ProfileArtefact {
  url: string;
  name?: string;
  type: string;
  /** A profile this one derives from and does not repeat (differentials only). */
  baseDefinition?: string;
  elements: ProfileElement[];
}

export interface ProfileElement {
  /** ElementDefinition.id: the path with slice names (`Observation.component:SystolicBP.code`). */
  id: string;
  path: string;
  sliceName?: string;
  min?: number;
  max?: string;
  slicing?: { discriminator: { type: string; path: string }[]; rules?: string; ordered: boolean };
  /** The allowed types: of a choice element the profile narrows, or of a slice. */
  types?: string[];
  /** The resource types a Reference may name, when the profile narrows them. */
  targets?: string[];
  /** The URL of the extension a slice of `extension` holds. */
  extensionUrl?: string;
  /** The codes of a required binding the profile adds to a `code` element. */
  codes?: string[];
  constraint?: { key: string; human?: string; expression: string }[];
  // fixed[x] and pattern[x] keep their ElementDefinition names (fixedUri, patternCodeableConcept...).
}

/** One element of a profile, ready to check instances against. */
export interface ElementRule {
  /** The property the element is in JSON (`component`, `value[x]` for every variant, `valueQuantity`). */
  name: string;
  /** The element path, the base of its invariants. */
  path: string;
  min: number;
  max: number;
  types?: ReadonlySet<string>;
  targets?: ReadonlySet<string>;
  codes?: ReadonlySet<string>;
  pinned?: Pinned;
  /** A slice of `extension` names its extension by its type's profile: that is its `url`. */
  extensionUrl?: string;
  constraints: Invariant[];
  children: ElementRule[];
  slicing?: Slicing;
}

/** A fixed[x] (the value exactly) or a pattern[x] (the value contains it). */
export interface Pinned {
  mode: 'fixed' | 'pattern';
  value: unknown;
}

export interface SliceRule extends ElementRule {
  sliceName: string;
  /** One test per discriminator; an item belongs to the slice when all pass. */
  discriminators: Discriminator[];
}

export type Discriminator =
  | { kind: 'value'; path: string[]; accepted: Pinned[] }
  | { kind: 'type'; types: ReadonlySet<string> }
  | { kind: 'exists'; path: string[]; present: boolean };

export interface Slicing {
  closed: boolean;
  slices: SliceRule[];
  /**
   * Discriminators the validator cannot evaluate (`resolve()`, `profile`, a
   * value the slice does not pin) leave the slicing unchecked: guessing
   * which slice an item is in would invent errors.
   */
  unsupported?: string;
}

/** The element rules of a profile, rooted at the resource. */
export function compileProfile(profile: ProfileArtefact): ElementRule {
  const root: ElementRule = { name: profile.type, path: profile.type, min: 0, max: Infinity, constraints: [], children: [] };
  const byId = new Map<string, ElementRule>([[profile.type, root]]);
  for (const e of profile.elements) apply(ruleFor(e.id, e.path, byId), e);
  for (const rule of byId.values()) if (rule.slicing) resolveDiscriminators(rule, slicingOf(profile, rule, byId));
  return root;
}

/** The rule of an element id, creating it and its ancestors (a differential may skip them). */
function ruleFor(id: string, path: string, byId: Map<string, ElementRule>): ElementRule {
  const known = byId.get(id);
  if (known) return known;
  // Slice names could hold dots only after a colon; the R4 profiles and profiles/ have none.
  const dot = id.lastIndexOf('.');
  const segment = id.slice(dot + 1);
  const colon = segment.indexOf(':');
  const parentId = id.slice(0, dot);
  const parentPath = path.slice(0, path.lastIndexOf('.'));
  let rule: ElementRule;
  if (colon < 0) {
    rule = { name: segment, path, min: 0, max: Infinity, constraints: [], children: [] };
    ruleFor(parentId, parentPath, byId).children.push(rule);
  } else {
    const sliced = ruleFor(`${parentId}.${segment.slice(0, colon)}`, path, byId);
    const slice: SliceRule = { name: sliced.name, path, min: 0, max: Infinity, constraints: [], children: [], sliceName: segment.slice(colon + 1), discriminators: [] };
    (sliced.slicing ??= { closed: false, slices: [] }).slices.push(slice);
    rule = slice;
  }
  byId.set(id, rule);
  return rule;
}

function apply(rule: ElementRule, e: ProfileElement): void {
  if (e.min !== undefined) rule.min = e.min;
  if (e.max !== undefined) rule.max = e.max === '*' ? Infinity : Number(e.max);
  if (e.types) rule.types = new Set(e.types);
  if (e.targets) rule.targets = new Set(e.targets);
  if (e.codes) rule.codes = new Set(e.codes);
  const pinned = pinnedOf(e);
  if (pinned) rule.pinned = pinned;
  for (const c of (e.constraint ?? []).filter((x) => !SKIPPED_INVARIANTS.has(x.key))) rule.constraints.push({ key: c.key, expression: c.expression, human: c.human ?? c.key });
  if (e.slicing) (rule.slicing ??= { closed: false, slices: [] }).closed = e.slicing.rules === 'closed';
  if (e.extensionUrl) rule.extensionUrl = e.extensionUrl;
}

function pinnedOf(e: object): Pinned | undefined {
  for (const [key, value] of Object.entries(e)) {
    if (/^fixed[A-Z]/.test(key)) return { mode: 'fixed', value };
    if (/^pattern[A-Z]/.test(key)) return { mode: 'pattern', value };
  }
  return undefined;
}

function slicingOf(profile: ProfileArtefact, rule: ElementRule, byId: Map<string, ElementRule>): ProfileElement['slicing'] {
  for (const e of profile.elements) if (e.slicing && byId.get(e.id) === rule) return e.slicing;
  return undefined;
}

/** Turns each slice's discriminators into tests on an item, from what the slice pins (R4 profiling.html#discriminator). */
function resolveDiscriminators(rule: ElementRule, slicing: ProfileElement['slicing']): void {
  const target = rule.slicing!;
  const declared = slicing?.discriminator ?? [];
  if (declared.length === 0) {
    target.unsupported = 'the slicing has no discriminator';
    return;
  }
  for (const slice of target.slices) {
    // A snapshot repeats the sliced element's invariants on each slice: each item is judged once.
    slice.constraints = slice.constraints.filter((c) => !rule.constraints.some((k) => k.key === c.key));
    for (const d of declared) {
      const test = discriminatorTest(slice, d, rule);
      if (typeof test === 'string') {
        target.unsupported = `slice ${slice.sliceName}: ${test}`;
        return;
      }
      slice.discriminators.push(test);
    }
  }
}

function discriminatorTest(slice: SliceRule, d: { type: string; path: string }, sliced: ElementRule): Discriminator | string {
  if (d.path.includes('(')) return `the discriminator path ${d.path} is not supported`;
  const path = d.path === '$this' ? [] : d.path.split('.');
  switch (d.type) {
    case 'value':
    case 'pattern': {
      const accepted = pinnedAt(slice, path);
      if (accepted.length === 0) return `no value is pinned at ${d.path}`;
      return { kind: 'value', path, accepted };
    }
    case 'type': {
      const types = path.length === 0 ? slice.types ?? sliced.types : undefined;
      return types ? { kind: 'type', types } : `the type discriminator ${d.path} is not supported`;
    }
    case 'exists': {
      const at = ruleAt(slice, path);
      if (!at || (at.min === 0 && at.max !== 0)) return `the slice does not say whether ${d.path} exists`;
      return { kind: 'exists', path, present: at.min > 0 };
    }
    default:
      return `the ${d.type} discriminator is not supported`;
  }
}

/** The values a slice pins at `path`: on the element there, or inside a value pinned on one of its ancestors. */
function pinnedAt(rule: ElementRule, path: string[]): Pinned[] {
  if (path.length === 0) return rule.pinned ? [rule.pinned] : extensionPin(rule);
  if (rule.pinned) return valuesAt(rule.pinned.value, path).map((value) => ({ mode: rule.pinned!.mode, value }));
  const [head, ...rest] = path;
  const out: Pinned[] = [];
  for (const child of rule.children.filter((c) => c.name === head)) {
    out.push(...pinnedAt(child, rest));
    for (const slice of child.slicing?.slices ?? []) out.push(...pinnedAt(slice, rest));
  }
  if (out.length === 0 && head === 'url' && rest.length === 0) out.push(...extensionPin(rule));
  return out;
}

function extensionPin(rule: ElementRule): Pinned[] {
  return rule.extensionUrl ? [{ mode: 'fixed', value: rule.extensionUrl }] : [];
}

function ruleAt(rule: ElementRule, path: string[]): ElementRule | undefined {
  let at: ElementRule | undefined = rule;
  for (const segment of path) at = at?.children.find((c) => c.name === segment);
  return at;
}

/** The JSON values at a simple path (arrays flattened). */
export function valuesAt(value: unknown, path: readonly string[]): unknown[] {
  let values = [value];
  for (const segment of path) {
    values = values.flatMap((v) => {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return [];
      const child = (v as Record<string, unknown>)[segment];
      return child === undefined ? [] : Array.isArray(child) ? child : [child];
    });
  }
  return values;
}

/**
 * The ProfileArtefact of a StructureDefinition of profiles/: its differential
 * (or snapshot), with the constraints the profile declares itself.
 */
export function artefactOf(sd: StructureDefinition): ProfileArtefact {
  const elements = sd.differential?.element ?? sd.snapshot?.element ?? [];
  const out: ProfileArtefact = { url: sd.url, type: sd.type, elements: elements.map((e) => elementOf(e, sd.url)) };
  if (sd.name) out.name = sd.name;
  if (sd.differential && sd.baseDefinition && sd.baseDefinition !== `http://hl7.org/fhir/StructureDefinition/${sd.type}`) out.baseDefinition = sd.baseDefinition;
  return out;
}

function elementOf(e: ElementDefinition, url: string): ProfileElement {
  const out: ProfileElement = { id: e.id ?? e.path, path: e.path };
  if (e.sliceName) out.sliceName = e.sliceName;
  if (e.min !== undefined) out.min = e.min;
  if (e.max !== undefined) out.max = e.max;
  if (e.slicing) out.slicing = { discriminator: e.slicing.discriminator ?? [], rules: e.slicing.rules, ordered: e.slicing.ordered ?? false };
  const types = [...new Set((e.type ?? []).map((t) => t.code))];
  if (types.length > 0 && (e.sliceName || e.path.endsWith('[x]'))) out.types = types;
  const extensionUrl = e.type?.find((t) => t.code === 'Extension')?.profile?.[0];
  if (e.sliceName && extensionUrl) out.extensionUrl = extensionUrl;
  const pinned = Object.entries(e).filter(([k]) => /^(fixed|pattern)[A-Z]/.test(k));
  Object.assign(out, Object.fromEntries(pinned));
  // A snapshot repeats the base invariants, which the core check already evaluates: keep the profile's own.
  const own = (e.constraint ?? []).filter((c) => c.severity === 'error' && c.expression && (!c.source || c.source === url));
  if (own.length > 0) out.constraint = own.map((c) => ({ key: c.key, human: c.human, expression: c.expression! }));
  return out;
}
