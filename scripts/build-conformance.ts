/**
 * Builds the compact conformance artefacts in `conformance/` from the official
 * FHIR R4 package, so that the server never loads the 190 MB package:
 *
 *   npm run conformance                 # fetches hl7.fhir.r4.examples@4.0.1 with npm
 *   npm run conformance -- --package DIR  # reuses an extracted package/ folder
 *
 * The output is deterministic: running it twice gives identical files.
 */
import { join } from 'node:path';
import { projectRoot } from '../src/paths';
import { buildBindings } from './conformance/bindings';
import { buildPatientCompartment } from './conformance/compartment';
import { buildConstraints } from './conformance/constraints';
import { buildElementModel, requiredElements } from './conformance/element-model';
import { copyExamples, copyProfileExamples } from './conformance/examples';
import { buildJsonSchema } from './conformance/json-schema';
import { openSpecPackage, type SpecPackage } from './conformance/package-source';
import { buildCoreProfiles } from './conformance/profiles';
import { buildReferenceTargets } from './conformance/reference-targets';
import { buildSearchParameters } from './conformance/search-parameters';
import { concreteResourceTypes, loadCoreDefinitions } from './conformance/structure-definitions';
import { buildSummaryElements } from './conformance/summary-elements';
import { writeArtefact } from './conformance/write-json';

function packageArgument(argv: string[]): string | undefined {
  const i = argv.indexOf('--package');
  if (i < 0) return undefined;
  const dir = argv[i + 1];
  if (!dir) throw new Error('--package needs a directory');
  return dir;
}

function main(): void {
  const pkg = openSpecPackage(packageArgument(process.argv.slice(2)));
  try {
    build(pkg);
  } finally {
    pkg.close();
  }
}

function build(pkg: SpecPackage): void {
  const out = join(projectRoot, 'conformance');
  const defs = loadCoreDefinitions(pkg);
  const resourceTypes = concreteResourceTypes(defs);
  const model = buildElementModel(defs);

  writeArtefact(join(out, 'resource-types.json'), resourceTypes);
  writeArtefact(join(out, 'search-parameters.json'), buildSearchParameters(pkg));
  writeArtefact(join(out, 'compartment-patient.json'), buildPatientCompartment(pkg));
  writeArtefact(join(out, 'element-model.json'), model, 2);
  writeArtefact(join(out, 'fhir-schema.json'), buildJsonSchema(model, requiredElements(defs, model), resourceTypes), 2);
  writeArtefact(join(out, 'constraints.json'), buildConstraints(defs, pkg));
  writeArtefact(join(out, 'bindings.json'), buildBindings(defs, pkg), 2);
  writeArtefact(join(out, 'summary-elements.json'), buildSummaryElements(defs, resourceTypes));
  writeArtefact(join(out, 'reference-targets.json'), buildReferenceTargets(defs));
  const profiles = buildCoreProfiles(defs, pkg);
  writeArtefact(join(out, 'core-profiles.json'), profiles);
  const examples = copyExamples(pkg, join(projectRoot, 'test', 'fixtures', 'examples'));
  const profileExamples = copyProfileExamples(pkg, join(projectRoot, 'test', 'fixtures', 'profile-examples'), new Set(profiles.map((p) => p.url)));
  console.log(`${resourceTypes.length} resource types, ${profiles.length} profiles, ${examples + profileExamples} examples copied, artefacts in ${out}`);
}

main();
