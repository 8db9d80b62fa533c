/**
 * Builds conformance/summary-elements.json, what `_summary` and `_elements`
 * need and the other artefacts do not carry: for every resource type, its
 * top-level elements marked `isSummary` in the base StructureDefinition and
 * those that are mandatory (min >= 1). Choice elements keep their `[x]`.
 *
 *   npx tsx scripts/build-summary-elements.ts <unpacked hl7.fhir.r4.examples package folder>
 *
 * (The package is the one `npm run conformance` downloads; see
 * scripts/conformance/package-source.ts.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDir } from '../src/paths';

interface ElementDefinition {
  path: string;
  min?: number;
  isSummary?: boolean;
}

export interface SummaryElements {
  summary: string[];
  mandatory: string[];
}

function topLevelElements(packageDir: string, type: string): SummaryElements {
  const definition = JSON.parse(readFileSync(join(packageDir, `StructureDefinition-${type}.json`), 'utf8')) as {
    snapshot: { element: ElementDefinition[] };
  };
  const result: SummaryElements = { summary: [], mandatory: [] };
  for (const element of definition.snapshot.element) {
    const parts = element.path.split('.');
    if (parts.length !== 2) continue;
    const name = parts[1]!;
    if (element.isSummary) result.summary.push(name);
    if ((element.min ?? 0) >= 1) result.mandatory.push(name);
  }
  return result;
}

function main(): void {
  const packageDir = process.argv[2];
  if (!packageDir) throw new Error('usage: build-summary-elements <package folder>');
  const types = JSON.parse(readFileSync(join(conformanceDir, 'resource-types.json'), 'utf8')) as string[];
  const lines = types.map((type) => `${JSON.stringify(type)}: ${JSON.stringify(topLevelElements(packageDir, type))}`);
  writeFileSync(join(conformanceDir, 'summary-elements.json'), `{\n${lines.join(',\n')}\n}\n`);
}

main();
