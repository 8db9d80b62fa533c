/**
 * Element locations in the FHIRPath-ish form of OperationOutcome.issue.expression:
 * `Patient.name[0].given[1]`, `Bundle.entry[2].resource.status`.
 */

/** `Patient` + ajv's JSON pointer `/name/0/given` → `Patient.name[0].given`. */
export function pointerToExpression(root: string, pointer: string): string {
  let out = root;
  if (pointer === '') return out;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`;
  }
  return out;
}

/** The child location of `parent` for `name` (and its index in an array). */
export function childExpression(parent: string, name: string, index?: number): string {
  return index === undefined ? `${parent}.${name}` : `${parent}.${name}[${index}]`;
}

/** `value[x]` → `value`: a choice element is named without its suffix in FHIRPath. */
export function elementName(element: string): string {
  return element.endsWith('[x]') ? element.slice(0, -3) : element;
}
