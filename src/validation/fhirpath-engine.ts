import { compile } from 'fhirpath';
// eslint-disable-next-line @typescript-eslint/no-require-imports
import r4Model = require('fhirpath/fhir-context/r4');
import type { PropertyDef } from './element-model';
import { propertiesOf, shortcutFor, type Shortcut } from './invariant-shortcuts';

type Compiled = (data: unknown, env?: Record<string, unknown>) => unknown[];

/** Outcome of one invariant on one node. */
export type InvariantResult = { kind: 'pass' } | { kind: 'fail' } | { kind: 'error'; message: string };

export interface FhirPathEngineOptions {
  /**
   * Decide the invariants that have a plain-JS shortcut without fhirpath.js
   * where the shortcut is certain (invariant-shortcuts.ts). On by default;
   * off only to compare the two.
   */
  shortcuts?: boolean;
}

/** One (base, expression) pair, ready to evaluate. */
interface Prepared {
  compiled: Compiled;
  shortcut: Shortcut | undefined;
  properties: Readonly<Record<string, PropertyDef>> | undefined;
}

const PASS: InvariantResult = { kind: 'pass' };
const FAIL: InvariantResult = { kind: 'fail' };

/**
 * FHIRPath evaluation with the R4 model, so that choice types and primitive
 * types (dates compared as dates) behave as the spec intends. Each distinct
 * (base, expression) pair is compiled once and kept: the set is bounded by the
 * constraints of the conformance artefacts and of the loaded profiles.
 */
export class FhirPathEngine {
  /** Base → expression → prepared: two lookups of strings the index already holds, no key to build per call. */
  private readonly cache = new Map<string, Map<string, Prepared>>();
  private readonly shortcuts: boolean;

  constructor(options: FhirPathEngineOptions = {}) {
    this.shortcuts = options.shortcuts ?? true;
  }

  /**
   * Evaluates `expression` on `node`, `base` being the node's element path or
   * type name (it gives fhirpath.js the types of the node's children).
   * An empty result counts as a pass: the spec's invariants are written as
   * boolean tests of present elements, and an empty collection is "unknown".
   */
  check(node: unknown, base: string, expression: string, context: { resource: unknown; rootResource: unknown }): InvariantResult {
    try {
      const prepared = this.prepared(base, expression);
      if (prepared.shortcut && node !== null && typeof node === 'object' && !Array.isArray(node)) {
        const verdict = prepared.shortcut(node as Record<string, unknown>, { rootResource: context.rootResource, properties: prepared.properties });
        if (verdict !== undefined) return verdict ? PASS : FAIL;
      }
      const result = prepared.compiled(node, { resource: context.resource, rootResource: context.rootResource });
      if (result.length === 0) return PASS;
      if (result.length === 1 && typeof result[0] === 'boolean') return result[0] ? PASS : FAIL;
      return { kind: 'error', message: 'did not evaluate to a single boolean' };
    } catch (e) {
      return { kind: 'error', message: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
    }
  }

  private prepared(base: string, expression: string): Prepared {
    let byExpression = this.cache.get(base);
    if (!byExpression) this.cache.set(base, (byExpression = new Map()));
    let prepared = byExpression.get(expression);
    if (!prepared) {
      const compiled = compile({ base, expression }, r4Model, {
        resolveInternalTypes: true,
        // Some official invariants call trace(); its output must not reach the logs (it may be patient data).
        traceFn: () => undefined,
      }) as unknown as Compiled;
      const shortcut = this.shortcuts ? shortcutFor(expression) : undefined;
      prepared = { compiled, shortcut, properties: shortcut && propertiesOf(base) };
      byExpression.set(expression, prepared);
    }
    return prepared;
  }
}

