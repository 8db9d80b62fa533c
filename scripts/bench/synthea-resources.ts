import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AnyResource } from '../../src/fhir/types';
import { projectRoot } from '../../src/paths';

/** Every resource of the Synthea bundles beside the checkout, or of test/fixtures/synthea where there are none: the in-process micro-benchmarks' input. */
export function syntheaResources(): AnyResource[] {
  const shared = join(projectRoot, '..', 'shared', 'data', 'synthea');
  let folder = shared;
  try {
    readdirSync(shared);
  } catch {
    folder = join(projectRoot, 'test', 'fixtures', 'synthea');
  }
  return readdirSync(folder)
    .filter((name) => name.endsWith('.json'))
    .flatMap((name) => (JSON.parse(readFileSync(join(folder, name), 'utf8')) as { entry: { resource: AnyResource }[] }).entry.map((e) => e.resource));
}
