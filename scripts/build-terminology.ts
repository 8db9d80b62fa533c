/**
 * Builds `conformance/terminology.json`: the value sets and complete code
 * systems of the official FHIR R4 package, cut down to what value set
 * expansion and subsumption need (src/terminology/), for the token search
 * modifiers `:in`, `:not-in`, `:above` and `:below`:
 *
 *   npx tsx scripts/build-terminology.ts                # fetches hl7.fhir.r4.examples@4.0.1 with npm
 *   npx tsx scripts/build-terminology.ts --package DIR  # reuses an extracted package/ folder
 *
 * The entries keep the FHIR shape (a ValueSet's `compose` and
 * `expansion.contains`, a CodeSystem's nested `concept`s and its
 * `hierarchyMeaning`), so the server expands them with the same code as the
 * ValueSet and CodeSystem resources stored on it. Deterministic output.
 */
import { join } from 'node:path';
import type { CodeSystem, CodeSystemConcept, ValueSet, ValueSetComposeInclude, ValueSetExpansionContains } from 'fhir/r4';
import { projectRoot } from '../src/paths';
import { openSpecPackage, type SpecPackage } from './conformance/package-source';
import { sortedByKey, writeArtefact } from './conformance/write-json';
import type { TerminologyArtefact } from '../src/terminology/conformance-terminology';

function buildTerminology(pkg: SpecPackage): TerminologyArtefact {
  const valueSets: TerminologyArtefact['valueSets'] = {};
  const codeSystems: TerminologyArtefact['codeSystems'] = {};
  for (const file of pkg.files('ValueSet-')) {
    const vs = pkg.read<ValueSet>(file);
    if (vs.resourceType === 'ValueSet' && vs.url) valueSets[vs.url] = compactValueSet(vs);
  }
  for (const file of pkg.files('CodeSystem-')) {
    const cs = pkg.read<CodeSystem>(file);
    // Only a complete code system can be enumerated or tell what it subsumes.
    if (cs.resourceType === 'CodeSystem' && cs.url && cs.content === 'complete') codeSystems[cs.url] = compactCodeSystem(cs);
  }
  return { valueSets: sortedByKey(valueSets), codeSystems: sortedByKey(codeSystems) };
}

function compactValueSet(vs: ValueSet): TerminologyArtefact['valueSets'][string] {
  const out: TerminologyArtefact['valueSets'][string] = {};
  if (vs.compose) {
    out.compose = { include: vs.compose.include.map(compactInclude) };
    if (vs.compose.exclude) out.compose.exclude = vs.compose.exclude.map(compactInclude);
  }
  if (vs.expansion) {
    const { timestamp, total, offset, contains } = vs.expansion;
    out.expansion = { timestamp, contains: compactContains(contains ?? []), ...(total !== undefined ? { total } : {}), ...(offset !== undefined ? { offset } : {}) };
  }
  return out;
}

function compactInclude(include: ValueSetComposeInclude): ValueSetComposeInclude {
  const out: ValueSetComposeInclude = {};
  if (include.system) out.system = include.system;
  if (include.concept) out.concept = include.concept.map((c) => ({ code: c.code }));
  if (include.filter) out.filter = include.filter.map((f) => ({ property: f.property, op: f.op, value: f.value }));
  if (include.valueSet) out.valueSet = include.valueSet;
  return out;
}

function compactContains(contains: ValueSetExpansionContains[]): ValueSetExpansionContains[] {
  return contains.map((c) => ({
    ...(c.system ? { system: c.system } : {}),
    ...(c.code ? { code: c.code } : {}),
    ...(c.contains ? { contains: compactContains(c.contains) } : {}),
  }));
}

function compactCodeSystem(cs: CodeSystem): TerminologyArtefact['codeSystems'][string] {
  return { ...(cs.hierarchyMeaning ? { hierarchyMeaning: cs.hierarchyMeaning } : {}), concept: compactConcepts(cs.concept ?? []) };
}

function compactConcepts(concepts: CodeSystemConcept[]): CodeSystemConcept[] {
  return concepts.map((c) => ({ code: c.code, ...(c.concept ? { concept: compactConcepts(c.concept) } : {}) }));
}

function main(): void {
  const at = process.argv.indexOf('--package');
  const pkg = openSpecPackage(at < 0 ? undefined : process.argv[at + 1]);
  try {
    const artefact = buildTerminology(pkg);
    writeArtefact(join(projectRoot, 'conformance', 'terminology.json'), artefact, 2);
    console.log(`${Object.keys(artefact.valueSets).length} value sets, ${Object.keys(artefact.codeSystems).length} code systems`);
  } finally {
    pkg.close();
  }
}

main();
