import { compile } from 'fhirpath';
// eslint-disable-next-line @typescript-eslint/no-require-imports
import r4Model = require('fhirpath/fhir-context/r4');

type Compiled = (data: unknown, env?: Record<string, unknown>) => unknown[];

/** Outcome of one invariant on one node. */
export type InvariantResult = { kind: 'pass' } | { kind: 'fail' } | { kind: 'error'; message: string };

/**
 * FHIRPath evaluation with the R4 model, so that choice types and primitive
 * types (dates compared as dates) behave as the spec intends. Each distinct
 * (base, expression) pair is compiled once and kept: the set is bounded by the
 * constraints of the conformance artefacts and of the loaded profiles.
 */
export class FhirPathEngine {
  private readonly cache = new Map<string, Compiled>();

  /**
   * Evaluates `expression` on `node`, `base` being the node's element path or
   * type name (it gives fhirpath.js the types of the node's children).
   * An empty result counts as a pass: the spec's invariants are written as
   * boolean tests of present elements, and an empty collection is "unknown".
   */
  check(node: unknown, base: string, expression: string, context: { resource: unknown; rootResource: unknown }): InvariantResult {
    try {
      const result = this.compiled(base, expression)(node, { resource: context.resource, rootResource: context.rootResource });
      if (result.length === 0) return { kind: 'pass' };
      if (result.length === 1 && typeof result[0] === 'boolean') return result[0] ? { kind: 'pass' } : { kind: 'fail' };
      return { kind: 'error', message: 'did not evaluate to a single boolean' };
    } catch (e) {
      return { kind: 'error', message: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
    }
  }

  private compiled(base: string, expression: string): Compiled {
    const key = `${base}\u0000${expression}`;
    let fn = this.cache.get(key);
    if (!fn) {
      fn = compile({ base, expression }, r4Model, {
        resolveInternalTypes: true,
        // Some official invariants call trace(); its output must not reach the logs (it may be patient data).
        traceFn: () => undefined,
      }) as unknown as Compiled;
      this.cache.set(key, fn);
    }
    return fn;
  }
}
