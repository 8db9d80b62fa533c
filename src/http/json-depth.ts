import { FhirError } from '../errors';

/**
 * How deeply a request body's JSON may nest (objects and arrays). Real FHIR
 * resources stay far below it (a Questionnaire's nested items, a contained
 * resource's extensions); everything that walks a resource recursively
 * (validation, the indexer, FHIRPath) would otherwise overflow its stack on
 * a hostile body. Documented in the README.
 */
export const MAX_JSON_DEPTH = 64;

export const tooDeep = () =>
  FhirError.of(400, 'too-costly', `The request body nests deeper than ${MAX_JSON_DEPTH} levels of objects and arrays`);

/** The nesting depth of `value`, counted without recursion and given up as soon as it passes `limit`. */
export function exceedsDepth(value: unknown, limit: number = MAX_JSON_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(node)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}
