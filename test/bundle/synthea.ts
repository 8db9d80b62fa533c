import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Harness } from '../http/harness';
import { postBundle } from './helpers';

export const fixtureDir = join(__dirname, '..', 'fixtures', 'synthea');
export const sharedDir = join(__dirname, '..', '..', '..', 'shared', 'data', 'synthea');

type SyntheaBundle = { entry: Array<{ fullUrl: string; resource: { resourceType: string } }> };

export const bundleFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => join(dir, name));

/** The first bundle of `dir` (in name order); a folder without any is an error of the fixtures. */
export function firstBundleFile(dir: string): string {
  const [file] = bundleFiles(dir);
  if (file === undefined) throw new Error(`No Synthea bundle (*.json) in ${dir}`);
  return file;
}

export const readBundle = (file: string): SyntheaBundle => JSON.parse(readFileSync(file, 'utf8'));

/** Resources per type in the bundles, as written by Synthea. */
export function expectedCounts(bundles: SyntheaBundle[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const bundle of bundles) for (const { resource } of bundle.entry) counts[resource.resourceType] = (counts[resource.resourceType] ?? 0) + 1;
  return counts;
}

/** Loads each bundle as a transaction (minimal responses); returns the response bundles. */
export async function loadBundles(h: Harness, bundles: SyntheaBundle[]) {
  const responses = [];
  for (const bundle of bundles) responses.push(await postBundle(h, bundle, { prefer: 'return=minimal' }));
  return responses;
}
