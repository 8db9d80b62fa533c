/**
 * Compiles the common shapes of SearchParameter expressions (after
 * fhirpath-rewrite.ts) into plain navigation over the JSON, because
 * interpreting them with fhirpath.js dominated the cost of indexing a write.
 *
 * Supported: a dotted path (`Patient.name.family`, or relative to a base for
 * composite components: `value`), `ofType(T)` (choice elements, casts),
 * `where(name = 'literal')` (`telecom.where(system='phone')`) and
 * `extension('url')`. Anything else is not compiled and stays with
 * fhirpath.js; the differential test (test/search/indexer-equivalence.test.ts)
 * holds both to the same index entries.
 */
import { type ElementNode, isOfType, memberOf, pushExtensions } from './navigate';

/** The elements an expression selects, starting from the resource (or the composite's base) node. */
export type Navigator = (start: ElementNode) => ElementNode[];

type Step = (node: ElementNode, out: ElementNode[]) => void;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const OF_TYPE = /^ofType\(\s*([A-Za-z]+)\s*\)$/;
const WHERE_EQUALS = /^where\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*'([^'\\]*)'\s*\)$/;
const EXTENSION = /^extension\(\s*'([^'\\]*)'\s*\)$/;
/**
 * Type names that fhirpath.js also matches by automatic conversion to a System
 * type (`ofType(String)` accepts a FHIR `code`); left to fhirpath.js.
 */
const SYSTEM_TYPE_NAMES = new Set(['Boolean', 'String', 'Integer', 'Long', 'Decimal', 'Date', 'DateTime', 'Time', 'Object']);

/** The navigator of `expression`, or undefined when its shape is not one this module compiles. */
export function compilePath(expression: string): Navigator | undefined {
  const segments = splitSegments(expression);
  if (!segments) return undefined;
  const steps: Step[] = [];
  for (const [i, segment] of segments.entries()) {
    const step = i === 0 && IDENTIFIER.test(segment) ? rootStep(segment) : compileStep(segment);
    if (!step) return undefined;
    steps.push(step);
  }
  return (start) => {
    let current = [start];
    for (const step of steps) {
      const next: ElementNode[] = [];
      for (const node of current) step(node, next);
      if (next.length === 0) return next;
      current = next;
    }
    return current;
  };
}

/**
 * The first identifier of an expression names the focus when it is its type
 * (`Observation.code`, `Resource.meta`) and a member otherwise (`code`), as in fhirpath.js.
 */
function rootStep(name: string): Step {
  const member = memberOf(name);
  return (node, out) => {
    const data = node.data as { resourceType?: unknown } | null | undefined;
    if (data?.resourceType === name || isOfType(node.type, name)) out.push(node);
    else member(node, out);
  };
}

function compileStep(segment: string): Step | undefined {
  if (IDENTIFIER.test(segment)) {
    // fhirpath.js answers `x.Name` with x itself when x is a resource of type Name; no R4 element is capitalized.
    return /^[A-Z]/.test(segment) ? undefined : memberOf(segment);
  }
  const ofType = OF_TYPE.exec(segment);
  if (ofType) {
    const type = ofType[1]!;
    if (SYSTEM_TYPE_NAMES.has(type)) return undefined;
    return (node, out) => {
      if (isOfType(node.type, type)) out.push(node);
    };
  }
  const where = WHERE_EQUALS.exec(segment);
  if (where) {
    const [, name, literal] = where as unknown as [string, string, string];
    const member = memberOf(name);
    return (node, out) => {
      const values: ElementNode[] = [];
      member(node, values);
      // FHIRPath `=`: a single value equal to the literal; none or several is not a match.
      if (values.length === 1 && values[0]!.data === literal) out.push(node);
    };
  }
  const extension = EXTENSION.exec(segment);
  if (extension) {
    const url = extension[1]!;
    // fhirpath.js's extension('') finds nothing.
    return (node, out) => {
      if (url !== '') pushExtensions(node, url, out);
    };
  }
  return undefined;
}

/** One step and the dot after it: a name, or a call whose arguments hold no parentheses (string literals may hold dots). */
const SEGMENT = /\s*([A-Za-z_][A-Za-z0-9_]*(?:\((?:[^()']|'[^'\\]*')*\))?)\s*(\.|$)/y;

/** `a.b.where(x='y.z')` → `a`, `b`, `where(x='y.z')`; undefined when the expression is not such a chain. */
function splitSegments(expression: string): string[] | undefined {
  const segments: string[] = [];
  SEGMENT.lastIndex = 0;
  for (;;) {
    const m = SEGMENT.exec(expression);
    if (!m) return undefined;
    segments.push(m[1]!);
    // The last segment is the one not followed by a dot.
    if (m[2] === '') return SEGMENT.lastIndex === expression.length ? segments : undefined;
  }
}
