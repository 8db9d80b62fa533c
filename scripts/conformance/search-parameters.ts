import type { SearchParameter } from 'fhir/r4';
import type { SearchParamDef } from '../../src/fhir/definitions';
import type { SpecPackage } from './package-source';

/** The artefact format of one search parameter: exactly what the server reads. */
export type SearchParamArtefact = SearchParamDef;

/**
 * Every search parameter the spec defines. The package also holds a few
 * *example* SearchParameters (they carry a narrative, the definitions don't)
 * and extension parameters without a base: both are left out. Parameters with
 * no FHIRPath expression (`_text`, `_content`, `_query`, two extension-based
 * ones) are kept, without `expression`: the server implements them by code.
 */
export function buildSearchParameters(pkg: SpecPackage): SearchParamArtefact[] {
  const params: SearchParamArtefact[] = [];
  for (const file of pkg.files('SearchParameter-')) {
    const sp = pkg.read<SearchParameter>(file);
    if (sp.text || !sp.base || sp.base.length === 0) continue;
    params.push(toArtefact(sp));
  }
  return params.sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
}

function toArtefact(sp: SearchParameter): SearchParamArtefact {
  return {
    url: sp.url,
    code: sp.code,
    type: sp.type,
    base: [...sp.base].sort(),
    ...(sp.expression ? { expression: sp.expression } : {}),
    ...(sp.target ? { target: [...sp.target].sort() } : {}),
    ...(sp.modifier ? { modifier: sp.modifier } : {}),
    ...(sp.comparator ? { comparator: sp.comparator } : {}),
    ...(sp.multipleOr !== undefined ? { multipleOr: sp.multipleOr } : {}),
    ...(sp.multipleAnd !== undefined ? { multipleAnd: sp.multipleAnd } : {}),
    ...(sp.component ? { component: sp.component.map((c) => ({ definition: c.definition, expression: c.expression })) } : {}),
    description: firstSentence(sp.description ?? ''),
    ...perTypeDescriptions(sp.description ?? ''),
  };
}

/** The `* [Type](type.html): text` lines of a description shared by several types. */
function perTypeDescriptions(text: string): { descriptions?: Record<string, string> } {
  const descriptions: Record<string, string> = {};
  for (const match of text.matchAll(/^\* \[([A-Za-z]+)\]\([^)]*\): (.+?)\s*$/gm)) {
    descriptions[match[1]!] = match[2]!;
  }
  return Object.keys(descriptions).length > 0 ? { descriptions } : {};
}

/** The first non-empty line, cut after its first sentence. */
export function firstSentence(text: string): string {
  const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l.length > 0) ?? '';
  const end = line.search(/\.(\s|$)/);
  return end >= 0 ? line.slice(0, end + 1) : line;
}
