import type { Issue } from '../errors';
import { readConformanceArtefact } from '../fhir/definitions';
import type { FhirPathEngine } from './fhirpath-engine';
import type { VisitedNode } from './instance-walker';
import { DOM_3, TXT_2 } from './invariant-shortcuts';
import { SKIPPED_INVARIANTS } from './skipped-invariants';

/** An invariant of conformance/constraints.json or of a profile. */
export interface Invariant {
  key: string;
  expression: string;
  human: string;
}

/** Invariants keyed by type name or element path (see scripts/conformance/constraints.ts). */
export type InvariantIndex = ReadonlyMap<string, readonly Invariant[]>;

export function loadCoreInvariants(): InvariantIndex {
  const raw = readConformanceArtefact<Record<string, Invariant[]>>('constraints.json');
  const index = new Map(Object.entries(raw).map(([k, list]) => [k, list.filter((c) => !SKIPPED_INVARIANTS.has(c.key)).map(evaluableDom3)]));
  moveNarrativeContentCheck(index);
  return index;
}

/** dom-3 in a form fhirpath.js evaluates (DOM_3 says why); its meaning is unchanged. */
function evaluableDom3(invariant: Invariant): Invariant {
  return invariant.key === 'dom-3' && invariant.expression.includes('.as(canonical)') ? { ...invariant, expression: DOM_3 } : invariant;
}

/**
 * R4 publishes txt-1 and txt-2 as `htmlChecks()`, a function of the Java
 * validator that is not FHIRPath. txt-2 ("some non-whitespace content") is
 * evaluated with this equivalent on Narrative (the walker visits complex
 * nodes only): text left once the tags are removed, or an image. txt-1 (the allowed xhtml) stays the schema's job (the div pattern).
 */
function moveNarrativeContentCheck(index: Map<string, Invariant[]>): void {
  const onDiv = index.get('Narrative.div') ?? [];
  const published = onDiv.find((c) => c.key === 'txt-2' && c.expression === 'htmlChecks()');
  if (!published) return;
  index.set('Narrative.div', onDiv.filter((c) => c !== published));
  index.set('Narrative', [...(index.get('Narrative') ?? []), { ...published, expression: TXT_2 }]);
}

/**
 * Evaluates, on one node of a resource, the invariants of the node's type and
 * of its element. A violated invariant is an error; one that cannot be
 * evaluated is a warning: validation must not fail because of the evaluator.
 */
export function invariantIssuesAt(node: VisitedNode, index: InvariantIndex, engine: FhirPathEngine, issues: Issue[] = []): Issue[] {
  addIssuesOf(index.get(node.typeName), node.typeName, node, engine, issues);
  if (node.elementPath !== node.typeName) addIssuesOf(index.get(node.elementPath), node.elementPath, node, engine, issues);
  return issues;
}

function addIssuesOf(invariants: readonly Invariant[] | undefined, base: string, node: VisitedNode, engine: FhirPathEngine, issues: Issue[]): void {
  if (!invariants) return;
  for (const invariant of invariants) {
    const issue = evaluate(engine, invariant, node.value, base, node.expression, node);
    if (issue) issues.push(issue);
  }
}

/** The issue of one invariant on one node, if it is violated or cannot be evaluated. */
export function evaluate(
  engine: FhirPathEngine,
  invariant: Invariant,
  node: unknown,
  base: string,
  expression: string,
  context: { resource: unknown; rootResource: unknown },
): Issue | undefined {
  const result = engine.check(node, base, invariant.expression, context);
  if (result.kind === 'pass') return undefined;
  if (result.kind === 'fail') {
    return { severity: 'error', code: 'invariant', diagnostics: `${invariant.key}: ${invariant.human}`, expression: [expression] };
  }
  return {
    severity: 'warning',
    code: 'processing',
    diagnostics: `${invariant.key} could not be evaluated (${result.message})`,
    expression: [expression],
  };
}
