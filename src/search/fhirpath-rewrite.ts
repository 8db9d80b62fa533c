/**
 * Turns the official FHIRPath expression of a SearchParameter into what
 * fhirpath.js can evaluate synchronously, for one resource type.
 *
 * - `A.x | B.y`: only the parts rooted at the resource's type (or at
 *   Resource/DomainResource, or not rooted at a type at all) apply.
 * - `x.where(resolve() is T)` at the end of a part: resolve() would need a
 *   database; the part becomes `x` with a `targetType` filter applied by the
 *   indexer to the references it finds (the target type is read from the
 *   reference itself).
 * - `(x as T)`: fhirpath.js rejects `as` on a collection of several items,
 *   which choice elements under repeating ones are (useContext.value);
 *   `x.ofType(T)` means the same for our purpose and accepts collections.
 * - `x.as(T)` (function form, in composite components): also `x.ofType(T)`,
 *   with `DateTime` read as the FHIR `dateTime` it means there.
 * - `hasExtension(url)`: not implemented by fhirpath.js; `extension(url).exists()`.
 *
 * Anything that still calls resolve() cannot be evaluated and is reported as skipped.
 */

export interface ExpressionPart {
  /** FHIRPath that fhirpath.js can evaluate on the resource. */
  expression: string;
  /** Keep only references whose target has this type (from a rewritten `where(resolve() is T)`). */
  targetType?: string;
}

export type RewriteResult = { parts: ExpressionPart[] } | { skipped: string };

const ABSTRACT_ROOTS = new Set(['Resource', 'DomainResource']);
const RESOLVE_IS_AT_END = /\.where\(resolve\(\) is ([A-Za-z]+)\)$/;
const AS_CAST = /\(([^()]*?) as ([A-Za-z]+)\)/g;
const AS_FUNCTION = /\.as\(([A-Za-z]+)\)/g;
const HAS_EXTENSION = /hasExtension\(('[^']*')\)/g;

export function rewriteForType(expression: string, resourceType: string): RewriteResult {
  const parts: ExpressionPart[] = [];
  for (const raw of splitUnion(expression)) {
    if (!appliesTo(raw, resourceType)) continue;
    let part = stripOuterParens(rewriteCalls(raw.trim()));
    let targetType: string | undefined;
    const resolveIs = RESOLVE_IS_AT_END.exec(part);
    if (resolveIs) {
      targetType = resolveIs[1];
      part = part.slice(0, resolveIs.index);
    }
    if (part.includes('resolve()')) return { skipped: `resolve() inside "${raw.trim()}" needs the referenced resource` };
    parts.push(targetType === undefined ? { expression: part } : { expression: part, targetType });
  }
  return { parts };
}

/** Top-level `|` operands; `|` inside parentheses or string literals is left alone. */
/** The rewrites that do not depend on the resource type (also used for composite components). */
export function rewriteCalls(expression: string): string {
  return expression
    .replace(AS_CAST, '$1.ofType($2)')
    .replace(AS_FUNCTION, (_, type: string) => `.ofType(${type === 'DateTime' ? 'dateTime' : type})`)
    .replace(HAS_EXTENSION, 'extension($1).exists()');
}

export function splitUnion(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === "'") quoted = false;
    } else if (c === "'") quoted = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      parts.push(expression.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(expression.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

/** A part rooted at another type (`Practitioner.name` for a Patient) does not apply. */
function appliesTo(part: string, resourceType: string): boolean {
  const root = /^\(*\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(part)?.[1];
  if (root === undefined || !/^[A-Z]/.test(root)) return true;
  return root === resourceType || ABSTRACT_ROOTS.has(root);
}

/** `(a.b)` → `a.b`, but `(a as B).c` is left alone. */
function stripOuterParens(part: string): string {
  while (part.startsWith('(') && part.endsWith(')') && closingParen(part, 0) === part.length - 1) {
    part = part.slice(1, -1).trim();
  }
  return part;
}

function closingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return i;
  }
  return -1;
}
