import { elementModel, type PropertyDef } from './element-model';
import { compilePresenceCheck, type Verdict } from './presence-logic';

/**
 * Plain-JS verdicts for the invariants that cost the most under fhirpath.js,
 * because they are evaluated on nearly every node: ref-1 on every Reference,
 * per-1 on every Period, obs-7 on every Observation, and all the invariants
 * that only test presence (presence-logic.ts). Each returns undefined
 * whenever it is not certain to agree with fhirpath.js, which then decides:
 * test/validation/invariant-shortcuts.test.ts checks the agreement on every
 * node of the fixtures and on hand-made violations.
 *
 * They are keyed by the exact expression text, so that a profile's
 * invariant of the same key but another expression is left to fhirpath.js.
 */

export interface ShortcutContext {
  rootResource: unknown;
  /** The properties of the node's type (to recognise choice elements), when the base is a type. */
  properties: Readonly<Record<string, PropertyDef>> | undefined;
}

export type Shortcut = (node: Record<string, unknown>, context: ShortcutContext) => Verdict;

/**
 * dom-3 as evaluated (see invariants.ts): the R4 text applies `as(canonical)`
 * to collections, which fhirpath.js rejects on every resource that has
 * contained resources; `ofType` is the same test on each item (R5 wording).
 */
export const DOM_3 =
  "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().ofType(canonical) | %resource.descendants().ofType(uri) | %resource.descendants().ofType(url))) or descendants().where(reference = '#').exists() or descendants().where(ofType(canonical) = '#').exists() or descendants().where(ofType(uri) = '#').exists()).not()).empty()";

/** txt-2 as evaluated (see NARRATIVE_CONTENT in invariants.ts): the published `htmlChecks()` is not FHIRPath that fhirpath.js knows. */
export const TXT_2 = "`div`.replaceMatches('<[^>]*>', '').matches('[^ \\t\\r\\n]') or `div`.contains('<img')";

const HAND_WRITTEN: ReadonlyMap<string, Shortcut> = new Map<string, Shortcut>([
  ["reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))", localReferenceResolves],
  ['start.hasValue().not() or end.hasValue().not() or (start <= end)', startNotAfterEnd],
  [DOM_3, containedAreReferenced],
  [TXT_2, narrativeHasContent],
  // obs-7: without a value, or without components, the `where` has nothing to find.
  ['value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()', (node) => (hasElement(node, 'value') && hasElement(node, 'component') ? undefined : true)],
]);

/** The shortcut for an invariant expression, if it has one. */
export function shortcutFor(expression: string): Shortcut | undefined {
  const handWritten = HAND_WRITTEN.get(expression);
  if (handWritten) return handWritten;
  const presence = compilePresenceCheck(expression);
  return presence && ((node, context) => presence(node, context.properties));
}

/** The properties of the type at an invariant's base: a type or backbone element, or an element path whose type is known (`Extension.extension`). */
export function propertiesOf(base: string): Readonly<Record<string, PropertyDef>> | undefined {
  const { definitions } = elementModel();
  const own = definitions[base];
  if (own) return own;
  const dot = base.lastIndexOf('.');
  const element = dot < 0 ? undefined : definitions[base.slice(0, dot)]?.[base.slice(dot + 1)];
  return element && definitions[element.type];
}

/** ref-1: a `#id` reference names a resource contained in the outermost resource. */
function localReferenceResolves(node: Record<string, unknown>, context: ShortcutContext): Verdict {
  const reference = node.reference;
  if (node._reference !== undefined) return undefined;
  if (reference === undefined) return true;
  if (typeof reference !== 'string') return undefined;
  if (!reference.startsWith('#')) return true;
  // fhirpath.js makes the empty id of a bare '#' an empty collection, and `{} in ...` empty: a pass there.
  if (reference === '#') return undefined;
  const contained = (context.rootResource as { contained?: unknown } | null)?.contained;
  if (contained === undefined) return false;
  if (!Array.isArray(contained)) return undefined;
  const id = reference.slice(1);
  return contained.some((c) => (c as { id?: unknown } | null)?.id === id);
}

/**
 * dom-3: every contained resource is named by a `reference` somewhere in the
 * resource (fhirpath's `%resource.descendants().reference`), or itself holds a
 * reference to '#' (its container). A canonical, uri or url '#id' also counts
 * in the published expression: the JS cannot tell those types from strings,
 * so an id found only in some other string is left to fhirpath.js.
 */
function containedAreReferenced(node: Record<string, unknown>): Verdict {
  const contained = node.contained;
  if (contained === undefined) return true;
  if (!Array.isArray(contained)) return undefined;
  const references = new Set<string>();
  const strings = new Set<string>();
  collectStrings(node, references, strings);
  let certain = true;
  for (const item of contained) {
    const id = (item as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return undefined;
    if (references.has(`#${id}`)) continue;
    const inner = new Set<string>();
    collectStrings(item, inner, new Set());
    if (inner.has('#')) continue;
    if (strings.has(`#${id}`) || strings.has('#')) certain = false;
    else return false;
  }
  return certain ? true : undefined;
}

/** Every string under a `reference` key into `references`, every other string into `strings`. */
function collectStrings(value: unknown, references: Set<string>, strings: Set<string>, key = ''): void {
  if (typeof value === 'string') (key === 'reference' ? references : strings).add(value);
  else if (Array.isArray(value)) for (const item of value) collectStrings(item, references, strings, key);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) collectStrings(v, references, strings, k);
  }
}

/** txt-2: the xhtml has some text that is not whitespace once the tags are removed, or an image. */
function narrativeHasContent(node: Record<string, unknown>): Verdict {
  const div = node.div;
  if (div === undefined) return true;
  if (typeof div !== 'string' || node._div !== undefined) return undefined;
  return /[^ \t\r\n]/.test(div.replace(/<[^>]*>/g, '')) || div.includes('<img');
}

/** Values of one shape compare like their instants (or, for dates, like their text); other pairs are left to fhirpath.js. */
const SECONDS_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})$/;
const FULL_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** per-1: when both start and end have a value, start <= end. */
function startNotAfterEnd(node: Record<string, unknown>): Verdict {
  if (node._start !== undefined || node._end !== undefined) return undefined;
  const { start, end } = node;
  if (start === undefined || end === undefined) return true;
  if (typeof start !== 'string' || typeof end !== 'string') return undefined;
  if (FULL_DATE.test(start) && FULL_DATE.test(end)) return start <= end;
  if (SECONDS_WITH_ZONE.test(start) && SECONDS_WITH_ZONE.test(end)) return Date.parse(start) <= Date.parse(end);
  return undefined;
}

/** Whether element `name`, or any variant of it if it is a choice element (valueQuantity, _valueString...), may be present. */
function hasElement(node: Record<string, unknown>, name: string): boolean {
  return Object.keys(node).some((k) => {
    const bare = k.startsWith('_') ? k.slice(1) : k;
    return bare === name || (bare.startsWith(name) && /^[A-Z]/.test(bare.slice(name.length)));
  });
}
