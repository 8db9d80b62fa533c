/**
 * The token modifiers that need terminology, compiled into the IR's plain
 * token conditions so that every storage adapter runs them without code of
 * its own (http://hl7.org/fhir/R4/search.html#token):
 *
 * - `:in=VS` → the token is one of the value set's (system, code) pairs: an
 *   OR of `system|code` values; `:not-in=VS` → the same values under `:not`
 *   (no entry of the resource is in the value set, so resources without the
 *   element match, as for `:not`). Commas OR several value sets.
 * - `:below=system|code` → the code or any code it subsumes; `:above=system|code`
 *   → the code or any code that subsumes it (the code system's hierarchy).
 *
 * An empty expansion is a constant (nothing is in it; everything is not-in
 * it). A question terminology cannot answer is a 400 naming the parameter,
 * never an empty result, which would look like "no such resources".
 */
import { badRequest, FhirError } from '../errors';
import { TerminologyError } from '../terminology/terminology-error';
import { expandValueSet, MAX_EXPANSION_CODES, type Concept, type TerminologySource } from '../terminology/value-set-expansion';
import { splitUnescaped, unescape } from './escape';
import { tokenValue, type ValueContext } from './parse-value';
import type { Condition, TokenValue } from './query';

export const TERMINOLOGY_MODIFIERS: ReadonlySet<string> = new Set(['in', 'not-in', 'above', 'below']);

export function terminologyCondition(
  code: string,
  modifier: string,
  pieces: readonly string[],
  ctx: ValueContext,
  terminology: TerminologySource,
): Condition {
  const concepts = dedupe(pieces.flatMap((piece) => conceptsOf(modifier, piece, ctx, terminology)));
  if (concepts.length > MAX_EXPANSION_CODES) {
    throw FhirError.of(400, 'too-costly', `${ctx.name}: ${concepts.length} codes, more than the ${MAX_EXPANSION_CODES} a search expands`, [ctx.name]);
  }
  const negated = modifier === 'not-in';
  if (concepts.length === 0) return { kind: 'constant', value: negated };
  const values: TokenValue[] = concepts.map(({ system, code }) => ({ kind: 'token', system, code }));
  return { kind: 'param', code, type: 'token', values, ...(negated ? { modifier: 'not' } : {}) };
}

function conceptsOf(modifier: string, piece: string, ctx: ValueContext, terminology: TerminologySource): Concept[] {
  try {
    if (modifier === 'in' || modifier === 'not-in') return expandValueSet(unescape(piece), terminology);
    const { system, code } = subsumptionToken(piece, ctx);
    const known = terminology.codeSystem(system);
    if (!known || !known.subsumption) {
      throw new TerminologyError('not-supported', `the hierarchy of ${system} is not known to this server`);
    }
    const codes = modifier === 'below' ? known.selfAndDescendants(code) : known.selfAndAncestors(code);
    return codes.map((c) => ({ system, code: c }));
  } catch (error) {
    if (error instanceof TerminologyError) throw FhirError.of(400, error.code, `${ctx.name}: ${error.message}`, [ctx.name]);
    throw error;
  }
}

/**
 * The terminology modifier a query key ends in (`code:in`, a chain's
 * `subject:Patient.gender:in`, `_has:Observation:patient:code:below`), if any.
 */
export function terminologyModifierOf(key: string): string | undefined {
  const last = key.slice(key.lastIndexOf('.') + 1).split(':').pop();
  return last !== undefined && TERMINOLOGY_MODIFIERS.has(last) && key.includes(':') ? last : undefined;
}

/**
 * Asks `terminology` for every definition the value of a `modifier` search
 * needs, as the parse will (so that a loader can note what is missing and
 * fetch it before the one parse). What cannot be answered is left for the
 * parse to report, with the parameter it belongs to.
 */
export function askTerminology(modifier: string, value: string, terminology: TerminologySource): void {
  const ctx: ValueContext = { name: modifier, baseUrl: '', componentDef: () => undefined, now: 0 };
  for (const piece of splitUnescaped(value, ',').filter((p) => p !== '')) {
    try {
      conceptsOf(modifier, piece, ctx, terminology);
    } catch {
      // Reported by the parse.
    }
  }
}

/** `:above` and `:below` need both: the system says whose hierarchy, the code where in it. */
function subsumptionToken(piece: string, ctx: ValueContext): { system: string; code: string } {
  const token = tokenValue(piece, ctx);
  if (typeof token.system !== 'string' || token.code === undefined) {
    throw badRequest(`${ctx.name}: :above and :below take system|code, got "${piece}"`, [ctx.name]);
  }
  return { system: token.system, code: token.code };
}

function dedupe(concepts: readonly Concept[]): Concept[] {
  const seen = new Map<string, Concept>();
  for (const concept of concepts) seen.set(`${concept.system}\u0000${concept.code}`, concept);
  return [...seen.values()];
}
