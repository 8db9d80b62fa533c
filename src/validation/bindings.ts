import currencyCodes from 'currency-codes';
import type { Issue } from '../errors';
import { readConformanceArtefact } from '../fhir/definitions';
import { childExpression } from './element-path';
import type { ElementModel } from './element-model';
import type { VisitedNode } from './instance-walker';

/**
 * Required terminology bindings, checked against the value sets expanded at
 * build time (conformance/bindings.json, see scripts/conformance/bindings.ts).
 *
 * - A `code` element must hold a code of the value set (in any of its code
 *   systems: a bare code carries no system).
 * - A Coding, or a CodeableConcept, must have at least one coding whose
 *   system and code are in the value set: that is what "required" means for
 *   them in R4 (terminologies.html#required); translations into other systems
 *   may sit beside it, but text alone is not enough.
 *
 * Value sets that could not be expanded are absent from the artefact, so their
 * elements are not checked. Diagnostics name the element and the value set,
 * never the submitted code: it may be patient data.
 */

/** The artefact, as far as the runtime reads it. */
export interface BindingsArtefact {
  elements: Record<string, string>;
  valueSets: Record<string, Record<string, string[]>>;
}

type CodedType = 'code' | 'Coding' | 'CodeableConcept';

export class EnumeratedValueSet {
  private readonly allCodes: ReadonlySet<string>;

  constructor(
    readonly url: string,
    private readonly codesBySystem: ReadonlyMap<string, ReadonlySet<string>>,
  ) {
    this.allCodes = new Set([...codesBySystem.values()].flatMap((codes) => [...codes]));
  }

  hasCode(code: string): boolean {
    return this.allCodes.has(code);
  }

  hasCoding(system: string, code: string): boolean {
    return this.codesBySystem.get(system)?.has(code) ?? false;
  }
}

/** A property of some element-model definition whose value a required binding constrains. */
interface BoundProperty {
  /** The JSON name (`gender`, `valueCode`). */
  name: string;
  type: CodedType;
  valueSet: EnumeratedValueSet;
}

/** Element-model definition key → its bound properties, so that a node costs one map lookup. */
export type BindingIndex = ReadonlyMap<string, readonly BoundProperty[]>;

const CODED_TYPES: ReadonlySet<string> = new Set<CodedType>(['code', 'Coding', 'CodeableConcept']);

export function loadCoreBindings(model: ElementModel): BindingIndex {
  return buildBindingIndex(model, withCurrencies(readConformanceArtefact<BindingsArtefact>('bindings.json')));
}

const CURRENCIES = 'http://hl7.org/fhir/ValueSet/currencies';
const ISO_4217 = 'urn:iso:std:iso:4217';

/**
 * Money.currency is bound (required) to the currencies of ISO 4217, a code
 * system the R4 package does not define, so the build cannot expand it. The
 * codes come from the currency-codes package, generated from ISO's own
 * published list (list one), historic codes excluded as ISO lists them.
 */
function withCurrencies(artefact: BindingsArtefact): BindingsArtefact {
  return {
    elements: { ...artefact.elements, 'Money.currency': CURRENCIES },
    valueSets: { ...artefact.valueSets, [CURRENCIES]: { [ISO_4217]: currencyCodes.codes() } },
  };
}

export function buildBindingIndex(model: ElementModel, artefact: BindingsArtefact): BindingIndex {
  const valueSets = new Map<string, EnumeratedValueSet>();
  for (const [url, bySystem] of Object.entries(artefact.valueSets)) {
    valueSets.set(url, new EnumeratedValueSet(url, new Map(Object.entries(bySystem).map(([system, codes]) => [system, new Set(codes)]))));
  }
  const index = new Map<string, BoundProperty[]>();
  for (const [key, props] of Object.entries(model.definitions)) {
    for (const [name, prop] of Object.entries(props)) {
      const url = artefact.elements[prop.path];
      // A choice element's binding constrains only its coded variants (and never the `_x` companion).
      if (url === undefined || !CODED_TYPES.has(prop.type)) continue;
      const valueSet = valueSets.get(url);
      if (!valueSet) throw new Error(`bindings.json: ${prop.path} is bound to ${url}, which it does not expand`);
      const list = index.get(key) ?? [];
      list.push({ name, type: prop.type as CodedType, valueSet });
      index.set(key, list);
    }
  }
  return index;
}

/** The binding issues of the properties of one complex node (see instance-walker.ts). */
export function bindingIssuesAt(node: VisitedNode, index: BindingIndex, issues: Issue[] = []): Issue[] {
  const bound = index.get(node.definitionKey);
  if (!bound) return issues;
  const value = node.value as Record<string, unknown>;
  for (const property of bound) {
    const raw = value[property.name];
    if (raw === undefined) continue;
    if (!Array.isArray(raw)) {
      checkMember(node, property, raw, undefined, issues);
      continue;
    }
    for (let i = 0; i < raw.length; i++) checkMember(node, property, raw[i], i, issues);
  }
  return issues;
}

function checkMember(node: VisitedNode, property: BoundProperty, item: unknown, index: number | undefined, issues: Issue[]): void {
  // null stands for a value present only by its extensions (`_x`): nothing to check.
  if (item === null || isMember(property, item)) return;
  const at = childExpression(node.expression, property.name, index);
  const what = property.type === 'code' ? 'the code is not in' : 'no coding is from';
  issues.push({ severity: 'error', code: 'code-invalid', diagnostics: `${at}: ${what} the required value set ${property.valueSet.url}`, expression: [at] });
}

function isMember(property: BoundProperty, value: unknown): boolean {
  switch (property.type) {
    case 'code':
      return typeof value === 'string' && property.valueSet.hasCode(value);
    case 'Coding':
      return isMemberCoding(property.valueSet, value);
    case 'CodeableConcept': {
      const codings = (value as { coding?: unknown }).coding;
      return Array.isArray(codings) && codings.some((c) => isMemberCoding(property.valueSet, c));
    }
  }
}

function isMemberCoding(valueSet: EnumeratedValueSet, coding: unknown): boolean {
  const { system, code } = (coding ?? {}) as { system?: unknown; code?: unknown };
  return typeof system === 'string' && typeof code === 'string' && valueSet.hasCoding(system, code);
}
