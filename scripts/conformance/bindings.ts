import type { CodeSystem, CodeSystemConcept, ElementDefinition, ValueSet, ValueSetComposeInclude } from 'fhir/r4';
import { snapshotElements, type CoreDefinitions } from './structure-definitions';
import { sortedByKey } from './write-json';
import type { SpecPackage } from './package-source';

/**
 * The required terminology bindings of the base definitions, in the form the
 * validator checks them (see src/validation/bindings.ts):
 *
 * - `elements`: element path (`Patient.gender`, `HumanName.use`) → value set
 *   URL, for every element of type code, Coding or CodeableConcept whose
 *   binding strength is `required` and whose value set could be expanded;
 * - `valueSets`: value set URL → { code system URL → sorted codes };
 * - `skipped`: value set URL → why it cannot be expanded from the package,
 *   and which elements are therefore not checked.
 *
 * Only weaker bindings (extensible, preferred, example) are left out on
 * purpose: they do not make a code invalid.
 */
export interface BindingsArtefact {
  elements: Record<string, string>;
  valueSets: Record<string, Record<string, string[]>>;
  skipped: Record<string, { reason: string; elements: string[] }>;
}

/** Types whose value is (or holds) a code that a binding constrains. */
const CODED_TYPES = new Set(['code', 'Coding', 'CodeableConcept']);

export function buildBindings(defs: CoreDefinitions, pkg: SpecPackage): BindingsArtefact {
  const terminology = loadTerminology(pkg);
  const elements: Record<string, string> = {};
  const valueSets: Record<string, Record<string, string[]>> = {};
  const skipped: Record<string, { reason: string; elements: string[] }> = {};
  for (const [path, url] of requiredBindings(defs)) {
    if (skipped[url]) {
      skipped[url].elements.push(path);
      continue;
    }
    if (!valueSets[url]) {
      const expansion = expand(url, terminology);
      if (typeof expansion === 'string') {
        skipped[url] = { reason: expansion, elements: [path] };
        continue;
      }
      valueSets[url] = expansion;
    }
    elements[path] = url;
  }
  for (const s of Object.values(skipped)) s.elements.sort();
  return { elements: sortedByKey(elements), valueSets: sortedByKey(valueSets), skipped: sortedByKey(skipped) };
}

/** Element path → value set URL (version removed) of the required bindings on coded elements. */
function requiredBindings(defs: CoreDefinitions): Map<string, string> {
  const out = new Map<string, string>();
  for (const sd of [...defs.dataTypes.values(), ...defs.resources.values()]) {
    for (const e of snapshotElements(sd)) {
      const url = requiredValueSet(e);
      if (url && (e.type ?? []).some((t) => CODED_TYPES.has(t.code))) out.set(e.path, url);
    }
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function requiredValueSet(e: ElementDefinition): string | undefined {
  if (e.binding?.strength !== 'required' || !e.binding.valueSet) return undefined;
  // Bindings pin the business version (`|4.0.1`); the package holds exactly that version.
  return e.binding.valueSet.split('|')[0];
}

interface Terminology {
  valueSets: Map<string, ValueSet>;
  codeSystems: Map<string, CodeSystem>;
}

function loadTerminology(pkg: SpecPackage): Terminology {
  const valueSets = new Map<string, ValueSet>();
  const codeSystems = new Map<string, CodeSystem>();
  for (const file of pkg.files('ValueSet-')) {
    const vs = pkg.read<ValueSet>(file);
    if (vs.resourceType === 'ValueSet' && vs.url) valueSets.set(vs.url, vs);
  }
  for (const file of pkg.files('CodeSystem-')) {
    const cs = pkg.read<CodeSystem>(file);
    if (cs.resourceType === 'CodeSystem' && cs.url) codeSystems.set(cs.url, cs);
  }
  return { valueSets, codeSystems };
}

/**
 * The codes of a value set per code system, or the reason it cannot be
 * enumerated. An include is enumerable when it lists its concepts, or when it
 * takes a whole code system that the package holds completely (nested
 * concepts included). Filters and includes of other value sets do not occur
 * in the required bindings of R4: they are reported, not half-implemented.
 */
function expand(url: string, terminology: Terminology): Record<string, string[]> | string {
  const vs = terminology.valueSets.get(url);
  if (!vs) return 'value set not in the package';
  if (!vs.compose) return 'value set has no compose';
  const codes = new Map<string, Set<string>>();
  for (const include of vs.compose.include) {
    const included = includedCodes(include, terminology);
    if (typeof included === 'string') return included;
    const set = codes.get(include.system!) ?? new Set<string>();
    for (const c of included) set.add(c);
    codes.set(include.system!, set);
  }
  for (const exclude of vs.compose.exclude ?? []) {
    const excluded = includedCodes(exclude, terminology);
    if (typeof excluded === 'string') return `exclude: ${excluded}`;
    for (const c of excluded) codes.get(exclude.system!)?.delete(c);
  }
  const out: Record<string, string[]> = {};
  for (const [system, set] of codes) out[system] = [...set].sort();
  return sortedByKey(out);
}

function includedCodes(include: ValueSetComposeInclude, terminology: Terminology): string[] | string {
  if (include.valueSet) return 'includes other value sets';
  if (include.filter) return 'uses a filter';
  if (!include.system) return 'include without a code system';
  if (include.concept) return include.concept.map((c) => c.code);
  const cs = terminology.codeSystems.get(include.system);
  if (!cs) return `code system ${include.system} is external (not defined in the package)`;
  if (cs.content !== 'complete') return `code system ${include.system} is not complete in the package (content ${cs.content})`;
  return flattenConcepts(cs.concept ?? []);
}

/** Every code of a concept hierarchy: children are members of the code system too. */
function flattenConcepts(concepts: CodeSystemConcept[]): string[] {
  return concepts.flatMap((c) => [c.code, ...flattenConcepts(c.concept ?? [])]);
}
