/**
 * Value set expansion for the token search modifiers `:in` and `:not-in`
 * (http://hl7.org/fhir/R4/valueset.html#expansion): the (system, code)
 * pairs a value set holds. Official value sets and ValueSet resources
 * stored on the server go through this one function.
 *
 * What expands:
 * - a stored `expansion.contains` that is complete (no `offset`, `total`
 *   not above what it lists), nested `contains` included: preferred, since
 *   a terminology server already did the work;
 * - otherwise `compose`: each include (and exclude) lists its `concept`s,
 *   takes a whole code system the server knows completely, applies the
 *   filters `is-a`, `descendent-of` and `is-not-a` on the `concept`
 *   property of such a system, and/or includes other value sets (an include
 *   with several parts is their intersection, as valueset.html says).
 * What does not (a TerminologyError, which the search answers 400): an
 * unknown value set, an external or partial code system (SNOMED CT, LOINC),
 * any other filter, a cycle of includes, and more than
 * MAX_EXPANSION_CODES codes. Versions (`url|version`) are not told apart.
 */
import type { ValueSet, ValueSetComposeInclude, ValueSetComposeIncludeFilter, ValueSetExpansionContains } from 'fhir/r4';
import type { KnownCodeSystem } from './code-system';
import { TerminologyError } from './terminology-error';

/** The parts of a ValueSet read here (the conformance artefact keeps only these). */
export type ValueSetDefinition = Pick<ValueSet, 'compose' | 'expansion'>;

/** Where expansion looks value sets and code systems up, by canonical URL without version. */
export interface TerminologySource {
  valueSet(url: string): ValueSetDefinition | undefined;
  codeSystem(url: string): KnownCodeSystem | undefined;
}

/** One concept of an expansion. */
export interface Concept {
  system: string;
  code: string;
}

/**
 * The most codes one expansion (or one `:above`/`:below` closure) may
 * yield: each becomes an alternative of the search condition, so the cap
 * keeps the compiled query small. Larger sets are refused, never truncated.
 */
export const MAX_EXPANSION_CODES = 5000;

/** Codes per system: a set algebra that keeps (system, code) pairs unique. */
type CodeSet = Map<string, Set<string>>;

export function expandValueSet(url: string, source: TerminologySource): Concept[] {
  return toConcepts(expand(withoutVersion(url), source, []));
}

/** `url|version` → `url`. */
export function withoutVersion(canonical: string): string {
  const bar = canonical.indexOf('|');
  return bar < 0 ? canonical : canonical.slice(0, bar);
}

function expand(url: string, source: TerminologySource, path: readonly string[]): CodeSet {
  if (path.includes(url)) throw new TerminologyError('not-supported', `the value set ${url} includes itself (${[...path, url].join(' → ')})`);
  const definition = source.valueSet(url);
  if (!definition) throw new TerminologyError('not-found', `the value set ${url} is not known to this server`);
  const stored = completeExpansion(definition);
  if (stored) return capped(url, stored);
  if (!definition.compose) throw new TerminologyError('not-supported', `the value set ${url} has neither a compose nor a complete expansion`);
  const inner = [...path, url];
  const codes = union(definition.compose.include.map((include) => includeCodes(include, source, inner, url)));
  for (const exclude of definition.compose.exclude ?? []) subtract(codes, includeCodes(exclude, source, inner, url));
  return capped(url, codes);
}

function completeExpansion(definition: ValueSetDefinition): CodeSet | undefined {
  const expansion = definition.expansion;
  if (!expansion?.contains || expansion.offset !== undefined) return undefined;
  const codes: CodeSet = new Map();
  const walk = (contains: readonly ValueSetExpansionContains[]) => {
    for (const entry of contains) {
      if (entry.system !== undefined && entry.code !== undefined) add(codes, entry.system, [entry.code]);
      walk(entry.contains ?? []);
    }
  };
  walk(expansion.contains);
  return expansion.total !== undefined && expansion.total > size(codes) ? undefined : codes;
}

/** One include or exclude: the intersection of its system part and of each value set it names. */
function includeCodes(include: ValueSetComposeInclude, source: TerminologySource, path: readonly string[], url: string): CodeSet {
  const parts: CodeSet[] = (include.valueSet ?? []).map((member) => expand(withoutVersion(member), source, path));
  if (include.system !== undefined) parts.unshift(systemCodes(include.system, include, source, url));
  if (parts.length === 0) throw new TerminologyError('not-supported', `an include of the value set ${url} names neither a system nor a value set`);
  return parts.reduce(intersection);
}

function systemCodes(system: string, include: ValueSetComposeInclude, source: TerminologySource, url: string): CodeSet {
  // Listed concepts need no knowledge of the system.
  if (include.concept) return new Map([[system, new Set(include.concept.map((c) => c.code))]]);
  const known = source.codeSystem(system);
  if (!known) throw new TerminologyError('not-supported', `the value set ${url} takes codes from ${system}, which this server does not hold completely`);
  let codes = known.codes();
  for (const filter of include.filter ?? []) {
    const kept = filterCodes(known, filter, url);
    codes = codes.filter((code) => kept.has(code));
  }
  return new Map([[system, new Set(codes)]]);
}

/** The codes of `system` one filter keeps: only the subsumption filters on `concept`. */
function filterCodes(system: KnownCodeSystem, filter: ValueSetComposeIncludeFilter, url: string): Set<string> {
  const supported = filter.property === 'concept' && SUBSUMPTION_FILTERS.has(filter.op);
  if (!supported || !system.subsumption) {
    throw new TerminologyError('not-supported', `the value set ${url} filters ${system.url} by "${filter.property} ${filter.op}", which this server cannot evaluate`);
  }
  const below = new Set(system.selfAndDescendants(filter.value));
  if (filter.op === 'is-a') return below;
  if (filter.op === 'descendent-of') return new Set([...below].filter((code) => code !== filter.value));
  return new Set(system.codes().filter((code) => !below.has(code)));
}

const SUBSUMPTION_FILTERS = new Set(['is-a', 'descendent-of', 'is-not-a']);

function add(codes: CodeSet, system: string, more: Iterable<string>): void {
  const set = codes.get(system) ?? codes.set(system, new Set()).get(system)!;
  for (const code of more) set.add(code);
}

function union(sets: readonly CodeSet[]): CodeSet {
  const out: CodeSet = new Map();
  for (const set of sets) for (const [system, codes] of set) add(out, system, codes);
  return out;
}

function intersection(a: CodeSet, b: CodeSet): CodeSet {
  const out: CodeSet = new Map();
  for (const [system, codes] of a) {
    const other = b.get(system);
    if (other) out.set(system, new Set([...codes].filter((code) => other.has(code))));
  }
  return out;
}

function subtract(codes: CodeSet, removed: CodeSet): void {
  for (const [system, gone] of removed) for (const code of gone) codes.get(system)?.delete(code);
}

function size(codes: CodeSet): number {
  let n = 0;
  for (const set of codes.values()) n += set.size;
  return n;
}

function capped(url: string, codes: CodeSet): CodeSet {
  const n = size(codes);
  if (n > MAX_EXPANSION_CODES) throw new TerminologyError('too-costly', `the value set ${url} has ${n} codes, more than the ${MAX_EXPANSION_CODES} a search expands`);
  return codes;
}

function toConcepts(codes: CodeSet): Concept[] {
  return [...codes].flatMap(([system, set]) => [...set].map((code) => ({ system, code })));
}
