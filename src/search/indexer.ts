/**
 * Computes the search index entries of a resource at write time by evaluating
 * each applicable SearchParameter's FHIRPath expression (compiled once per
 * resource type and parameter) and normalizing what it finds.
 *
 * The common expression shapes are compiled to plain navigation
 * (compiled-path.ts); the rest is evaluated with fhirpath.js. The `engine:
 * 'fhirpath'` option evaluates everything with fhirpath.js, the reference the
 * compiled navigation is tested against.
 *
 * A write never fails because of indexing: an expression that cannot be
 * rewritten for fhirpath.js is skipped (see `skippedExpressions`), and one that
 * throws on a particular resource yields no entries for that parameter and is
 * reported to `onError`.
 */
import fhirpath from 'fhirpath';
import r4Model from 'fhirpath/fhir-context/r4';
import type { AnyResource } from '../fhir/types';
import {
  dateEntries,
  type FoundValue,
  numberEntries,
  quantityEntries,
  referenceEntries,
  type ReferenceContext,
  stringEntries,
  tokenEntries,
  uriEntries,
} from './extract';
import { compilePath, type Navigator } from './compiled-path';
import { rewriteCalls, rewriteForType, splitUnion } from './fhirpath-rewrite';
import type { CompositeEntry, IndexEntry, Indexer } from './index-entry';
import { type ElementNode, resourceNode } from './navigate';
import { defaultParamSource, type SearchParamDef, type SearchParamSource } from './param-source';

export interface IndexerOptions {
  /** This server's base URL: absolute references under it are indexed as relative. */
  baseUrl: string;
  params?: SearchParamSource;
  /** Called when an expression throws on a resource; the parameter is then left unindexed. */
  onError?: (error: unknown, resourceType: string, param: string) => void;
  /** `fhirpath`: evaluate every expression with fhirpath.js (the reference for the compiled navigation). */
  engine?: IndexerEngine;
}

export type IndexerEngine = 'compiled' | 'fhirpath';

/**
 * Parameters not indexed on purpose: `_id` is a column of every store; the
 * others have no expression (`_text`, `_content`, `_query`, `_filter`) or
 * need geometry (`near`, type special).
 */
const NOT_INDEXED = new Set(['_id']);

type Evaluate = (data: unknown, env?: Record<string, unknown>) => unknown[];

/** The elements one expression part selects in a resource. */
type EvaluatePart = (resource: AnyResource) => ElementNode[];

interface CompiledPart {
  expression: string;
  evaluate: EvaluatePart;
  /** Whether it runs as plain navigation rather than with fhirpath.js. */
  navigated: boolean;
  targetType?: string;
}

interface CompiledParam {
  def: SearchParamDef;
  parts: CompiledPart[];
  /** For composites: the component parameters and their expressions. */
  components?: CompiledComponent[];
}

interface CompiledComponent {
  def: SearchParamDef;
  expression: string;
  /** One navigator per `|` operand, when every operand compiles (engine `compiled`). */
  navigators?: Navigator[];
  /** fhirpath.js, compiled per base path on first use. */
  byBasePath: Map<string, Evaluate>;
}

export interface SkippedExpression {
  resourceType: string;
  code: string;
  reason: string;
}

const EVAL_OPTIONS = { resolveInternalTypes: false } as const;

function compile(expression: string | { base: string; expression: string }): Evaluate {
  const fn = fhirpath.compile(expression, r4Model, EVAL_OPTIONS);
  return (data, env) => fn(data, env) as unknown[];
}

/** A part as plain navigation when its shape compiles (and the engine allows), else with fhirpath.js. */
function compilePart(expression: string, engine: IndexerEngine, targetType: string | undefined): CompiledPart {
  const part = (evaluate: EvaluatePart, navigated: boolean): CompiledPart =>
    targetType === undefined ? { expression, evaluate, navigated } : { expression, evaluate, navigated, targetType };
  const navigate = engine === 'compiled' ? compilePath(expression) : undefined;
  if (navigate) return part((resource) => navigate(resourceNode(resource)), true);
  const evaluate = compile(expression);
  return part((resource) => evaluate(resource).map(elementNode), false);
}

type CompiledType = { params: CompiledParam[]; skipped: SkippedExpression[] };

/** Compiled expressions per parameter source, engine and resource type; they do not depend on the base URL. */
const cache = new WeakMap<SearchParamSource, Map<string, CompiledType>>();

function compiledFor(source: SearchParamSource, resourceType: string, engine: IndexerEngine = 'compiled'): CompiledType {
  let byType = cache.get(source);
  if (!byType) cache.set(source, (byType = new Map()));
  const key = `${engine} ${resourceType}`;
  let compiled = byType.get(key);
  if (!compiled) byType.set(key, (compiled = compileType(source, resourceType, engine)));
  return compiled;
}

function compileType(source: SearchParamSource, resourceType: string, engine: IndexerEngine): CompiledType {
  const params: CompiledParam[] = [];
  const skipped: SkippedExpression[] = [];
  const all = source.searchParameters(resourceType);
  for (const def of all) {
    if (NOT_INDEXED.has(def.code) || !def.expression) continue;
    const skip = (reason: string) => skipped.push({ resourceType, code: def.code, reason });
    if (def.type === 'special') {
      skip('special parameters (e.g. near) need dedicated support');
      continue;
    }
    const rewritten = rewriteForType(def.expression, resourceType);
    if ('skipped' in rewritten) {
      skip(rewritten.skipped);
      continue;
    }
    if (rewritten.parts.length === 0) continue;
    try {
      // Parts are evaluated one by one rather than joined with `|`: fhirpath.js's union
      // deduplicates by comparing values, which throws on a Quantity with a comparator.
      const parts = rewritten.parts.map(({ expression, targetType }) => compilePart(expression, engine, targetType));
      const compiled: CompiledParam = { def, parts };
      if (def.type === 'composite') {
        const components = compositeComponents(def, all, engine);
        if (typeof components === 'string') {
          skip(components);
          continue;
        }
        compiled.components = components;
      }
      params.push(compiled);
    } catch (e) {
      skip(`fhirpath.js cannot compile it: ${(e as Error).message}`);
    }
  }
  return { params, skipped };
}

function compositeComponents(def: SearchParamDef, all: readonly SearchParamDef[], engine: IndexerEngine): CompiledComponent[] | string {
  const components: CompiledComponent[] = [];
  for (const c of def.component ?? []) {
    const componentDef = all.find((p) => p.url === c.definition);
    if (!componentDef) return `component ${c.definition} is not a parameter of this type`;
    const expression = rewriteCalls(c.expression);
    const component: CompiledComponent = { def: componentDef, expression, byBasePath: new Map() };
    const navigators = engine === 'compiled' ? splitUnion(expression).map(compilePath) : [];
    if (navigators.length > 0 && navigators.every((n) => n !== undefined)) component.navigators = navigators as Navigator[];
    components.push(component);
  }
  return components.length > 0 ? components : 'composite without components';
}

/** Expressions that the indexer does not evaluate for this type, and why. */
export function skippedExpressions(resourceType: string, params: SearchParamSource = defaultParamSource): SkippedExpression[] {
  return compiledFor(params, resourceType).skipped;
}

/**
 * The expressions (parts, and composite components) of this type's parameters
 * that the default engine still evaluates with fhirpath.js: the shapes
 * compiled-path.ts does not compile.
 */
export function interpretedExpressions(resourceType: string, params: SearchParamSource = defaultParamSource): { code: string; expression: string }[] {
  return compiledFor(params, resourceType).params.flatMap(({ def, parts, components }) => [
    ...parts.filter((p) => !p.navigated).map((p) => ({ code: def.code, expression: p.expression })),
    ...(components ?? []).filter((c) => !c.navigators).map((c) => ({ code: def.code, expression: c.expression })),
  ]);
}

export function createIndexer(options: IndexerOptions): Indexer {
  const source = options.params ?? defaultParamSource;
  const engine = options.engine ?? 'compiled';
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  return (resource: AnyResource) => {
    const refCtx: ReferenceContext = { baseUrl, containedTypes: containedTypes(resource) };
    const entries: IndexEntry[] = [];
    for (const param of compiledFor(source, resource.resourceType, engine).params) {
      try {
        entries.push(...indexParam(param, resource, refCtx));
      } catch (e) {
        options.onError?.(e, resource.resourceType, param.def.code);
      }
    }
    return entries;
  };
}

function indexParam(param: CompiledParam, resource: AnyResource, refCtx: ReferenceContext): IndexEntry[] {
  const entries: IndexEntry[] = [];
  for (const part of param.parts) {
    for (const node of part.evaluate(resource)) {
      if (param.components) {
        entries.push(...compositeEntries(param, node, resource, refCtx));
        continue;
      }
      const found = entriesOf(param.def, node, refCtx);
      entries.push(...(part.targetType === undefined ? found : found.filter((e) => e.kind === 'reference' && e.targetType === part.targetType)));
    }
  }
  return entries;
}

function entriesOf(def: SearchParamDef, value: FoundValue, refCtx: ReferenceContext): IndexEntry[] {
  switch (def.type) {
    case 'token':
      return tokenEntries(def.code, value);
    case 'string':
      return stringEntries(def.code, value);
    case 'reference':
      return referenceEntries(def.code, value, refCtx);
    case 'date':
      return dateEntries(def.code, value);
    case 'number':
      return numberEntries(def.code, value);
    case 'quantity':
      return quantityEntries(def.code, value);
    case 'uri':
      return uriEntries(def.code, value);
    default:
      return [];
  }
}

/** One entry per combination of the components' values found under the same focus node. */
function compositeEntries(param: CompiledParam, node: ElementNode, resource: AnyResource, refCtx: ReferenceContext): CompositeEntry[] {
  let combinations: IndexEntry[][] = [[]];
  for (const component of param.components!) {
    const values = componentNodes(component, node, resource).flatMap((n) => entriesOf(component.def, n, refCtx));
    combinations = combinations.flatMap((prefix) => values.map((v) => [...prefix, v]));
    if (combinations.length === 0) return [];
  }
  return combinations.map((components) => ({ param: param.def.code, kind: 'composite', components }));
}

/**
 * A component's elements under the composite's focus node. The operands of a
 * `|` are navigated one by one; a union is also distinct, so when they find
 * more than one element fhirpath.js decides (it never happens with the R4
 * components, whose operands are the types of one choice element).
 */
function componentNodes(component: CompiledComponent, node: ElementNode, resource: AnyResource): ElementNode[] {
  if (component.navigators) {
    const found = component.navigators.length === 1 ? component.navigators[0]!(node) : component.navigators.flatMap((n) => n(node));
    if (component.navigators.length === 1 || found.length <= 1) return found;
  }
  const basePath = node.modelPath ?? resource.resourceType;
  let evaluate = component.byBasePath.get(basePath);
  if (!evaluate) component.byBasePath.set(basePath, (evaluate = compile({ base: basePath, expression: component.expression })));
  return evaluate(node.data, { resource }).map(elementNode);
}

interface ResourceNodeLike {
  data: unknown;
  _data: unknown;
  fhirNodeDataType: string | null;
  /** The model path of elements (`Encounter.participant`), but the type name of primitives (`code`). */
  path: string | null;
  propName?: string;
  parentResNode?: ResourceNodeLike | null;
}

/** `Patient.gender` for the gender element: its parent's model path and its own name. */
function elementPath(node: ResourceNodeLike): string | undefined {
  const parent = node.parentResNode?.path;
  return parent && node.propName ? `${parent}.${node.propName}` : undefined;
}

function isResourceNode(node: unknown): node is ResourceNodeLike {
  return typeof node === 'object' && node !== null && 'fhirNodeDataType' in node && 'data' in node;
}

/**
 * fhirpath.js returns ResourceNodes for elements and boxed primitives for
 * computed values (`exists()`); numbers come wrapped in its decimal type,
 * which keeps their text (String(number) for a number read from JSON).
 */
function elementNode(node: unknown): ElementNode {
  if (isResourceNode(node)) {
    return { type: node.fhirNodeDataType ?? undefined, data: unwrapDecimal(node.data), path: elementPath(node), modelPath: node.path, extra: node._data };
  }
  const data = node instanceof Boolean || node instanceof Number || node instanceof String ? node.valueOf() : node;
  return { type: typeof data === 'boolean' ? 'boolean' : undefined, data, path: undefined, modelPath: null, extra: null };
}

function unwrapDecimal(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || Object.getPrototypeOf(data) === Object.prototype) return data;
  const text = (data as { asStr?: unknown }).asStr;
  return typeof text === 'string' ? Number(text) : data;
}

function containedTypes(resource: AnyResource): Map<string, string> {
  const types = new Map<string, string>();
  const contained = resource.contained;
  if (Array.isArray(contained)) {
    for (const c of contained as unknown[]) {
      if (typeof c === 'object' && c !== null && 'id' in c && 'resourceType' in c) {
        types.set(String(c.id), String(c.resourceType));
      }
    }
  }
  return types;
}
