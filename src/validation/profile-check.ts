import type { Issue } from '../errors';
import { childExpression, elementName } from './element-path';
import type { FhirPathEngine } from './fhirpath-engine';
import { evaluate } from './invariants';
import { typeOfLiteral } from './reference-targets';
import type { Discriminator, ElementRule, Pinned, SliceRule } from './profile-rules';
import { valuesAt } from './profile-rules';
import { equalsFixed, matchesPattern } from './value-matching';

/** One value in the instance: a property's value, or one item of its array. */
interface Item {
  value: unknown;
  /** The JSON property (`valueQuantity` for `value[x]`). */
  property: string;
  expression: string;
}

interface Run {
  resource: Record<string, unknown>;
  engine: FhirPathEngine;
  /** `(profile bp)`, appended to each diagnostic. */
  by: string;
  issues: Issue[];
}

/**
 * Checks a resource against the element rules of one profile
 * (profile-rules.ts): from the resource down, each element's cardinality in
 * each of its parents, then each of its values (types, Reference targets,
 * codes, fixed/pattern value, invariants, child elements), then its slices:
 * every item goes to the first slice whose discriminators it meets, each
 * slice's cardinality is counted among the items, and the slice's own rules
 * apply to its items. A closed slicing refuses items of no slice.
 */
export function checkAgainstRules(root: ElementRule, resource: Record<string, unknown>, engine: FhirPathEngine, by: string): Issue[] {
  const run: Run = { resource, engine, by, issues: [] };
  checkItem(root, { value: resource, property: root.name, expression: root.name }, run);
  return run.issues;
}

function checkElement(rule: ElementRule, parent: Item, run: Run): void {
  const items = itemsOf(parent, rule.name);
  const at = childExpression(parent.expression, elementName(rule.name));
  countIssue(items.length, rule, at, '', run);
  // An item of a type the element does not allow is reported once, not again as fitting no slice.
  const accepted = items.filter((item) => checkItem(rule, item, run));
  if (rule.slicing && !rule.slicing.unsupported) checkSlices(rule, accepted, at, run);
}

function countIssue(count: number, rule: ElementRule, at: string, what: string, run: Run): void {
  if (count < rule.min) {
    push(run, 'required', `${at}: ${what}minimum required = ${rule.min}, but only found ${count}`, at);
  } else if (count > rule.max) {
    push(run, 'structure', `${at}: ${what}maximum allowed = ${rule.max}, but found ${count}`, at);
  }
}

/** Checks one value; false when its type is not allowed (nothing else is judged then). */
function checkItem(rule: ElementRule, item: Item, run: Run): boolean {
  const at = item.expression;
  // A slice of `contained` typed Resource admits any resource.
  const type = rule.types && !rule.types.has('Resource') ? typeOfItem(rule, item) : undefined;
  if (rule.types && type !== undefined && !rule.types.has(type)) {
    push(run, 'structure', `${at}: the type ${type} is not allowed here (${[...rule.types].join(', ')})`, at);
    return false;
  }
  if (rule.pinned && !pinnedMatches(rule.pinned, item.value)) {
    push(run, 'value', `${at}: value does not ${rule.pinned.mode === 'fixed' ? 'equal the fixed value' : 'match the required pattern'} ${JSON.stringify(rule.pinned.value)}`, at);
  }
  if (rule.codes && typeof item.value === 'string' && !rule.codes.has(item.value)) {
    push(run, 'code-invalid', `${at}: '${item.value}' is not one of ${[...rule.codes].join(', ')}`, at);
  }
  if (rule.targets) targetIssues(rule.targets, item, run);
  // fhirpath.js types a primitive by its element path: a choice variant is named with its type (Observation.effectiveDateTime).
  const base = rule.name.endsWith('[x]') ? `${rule.path.slice(0, rule.path.lastIndexOf('.'))}.${item.property}` : rule.path;
  for (const c of rule.constraints) {
    const issue = evaluate(run.engine, c, item.value, base, at, { resource: run.resource, rootResource: run.resource });
    if (issue) run.issues.push({ ...issue, diagnostics: `${issue.diagnostics} ${run.by}` });
  }
  for (const child of rule.children) checkElement(child, item, run);
  return true;
}

function checkSlices(rule: ElementRule, items: Item[], at: string, run: Run): void {
  const slicing = rule.slicing!;
  const counts = new Map<SliceRule, number>(slicing.slices.map((s) => [s, 0]));
  for (const item of items) {
    const slice = slicing.slices.find((s) => s.discriminators.every((d) => meets(d, rule, item)));
    if (slice) {
      counts.set(slice, counts.get(slice)! + 1);
      checkItem(slice, item, run);
    } else if (slicing.closed) {
      push(run, 'structure', `${item.expression}: matches none of the slices (${slicing.slices.map((s) => s.sliceName).join(', ')}) of a closed slicing`, item.expression);
    }
  }
  for (const [slice, count] of counts) countIssue(count, slice, at, `slice ${slice.sliceName}: `, run);
}

function meets(d: Discriminator, sliced: ElementRule, item: Item): boolean {
  switch (d.kind) {
    case 'value': {
      const values = valuesAt(item.value, d.path);
      return d.accepted.every((p) => values.some((v) => pinnedMatches(p, v)));
    }
    case 'type': {
      const type = typeOfItem(sliced, item);
      return type !== undefined && d.types.has(type);
    }
    case 'exists':
      return valuesAt(item.value, d.path).length > 0 === d.present;
  }
}

function pinnedMatches(pinned: Pinned, value: unknown): boolean {
  return pinned.mode === 'fixed' ? equalsFixed(value, pinned.value) : matchesPattern(value, pinned.value);
}

/** The values of an element in a parent: every variant of a choice (`value[x]`), array items one by one. */
function itemsOf(parent: Item, name: string): Item[] {
  const value = parent.value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const node = value as Record<string, unknown>;
  const properties = name.endsWith('[x]') ? Object.keys(node).filter((k) => isVariantOf(k, name.slice(0, -3))) : [name];
  // A property set to undefined is absent, as JSON.stringify would send it.
  return properties.flatMap((property) => {
    const child = node[property];
    if (child === undefined) return [];
    return Array.isArray(child)
      ? child.map((v, i) => ({ value: v, property, expression: childExpression(parent.expression, property, i) }))
      : [{ value: child, property, expression: childExpression(parent.expression, property) }];
  });
}

function isVariantOf(property: string, prefix: string): boolean {
  return property.length > prefix.length && property.startsWith(prefix) && /^[A-Z]/.test(property.slice(prefix.length));
}

/** R4 primitive types, named in lower camel case in a choice suffix's type code (`valueDateTime` is a dateTime). */
const PRIMITIVES = new Set([
  'base64Binary', 'boolean', 'canonical', 'code', 'date', 'dateTime', 'decimal', 'id', 'instant', 'integer', 'markdown', 'oid',
  'positiveInt', 'string', 'time', 'unsignedInt', 'uri', 'url', 'uuid',
]);

/** The type of an item: from the choice suffix, or the resourceType of a resource; undefined when the element has one type. */
function typeOfItem(rule: ElementRule, item: Item): string | undefined {
  if (rule.name.endsWith('[x]') || item.property !== rule.name) {
    const suffix = item.property.slice(elementName(rule.name).length);
    const lower = suffix.charAt(0).toLowerCase() + suffix.slice(1);
    return PRIMITIVES.has(lower) ? lower : suffix;
  }
  const resourceType = (item.value as { resourceType?: unknown } | null)?.resourceType;
  return typeof resourceType === 'string' ? resourceType : undefined;
}

function targetIssues(targets: ReadonlySet<string>, item: Item, run: Run): void {
  const type = typeOfLiteral((item.value as { reference?: unknown } | null)?.reference, run.resource);
  if (type === undefined || targets.has(type)) return;
  const at = `${item.expression}.reference`;
  push(run, 'invalid', `${at}: a reference to ${type} is not allowed here (${[...targets].join(', ')})`, at);
}

function push(run: Run, code: Issue['code'], diagnostics: string, at: string): void {
  run.issues.push({ severity: 'error', code, diagnostics: `${diagnostics} ${run.by}`, expression: [at] });
}
