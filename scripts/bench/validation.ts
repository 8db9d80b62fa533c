/**
 * Cost of resource validation alone, in process: every resource of the
 * Synthea bundles (../shared/data/synthea, skipped with a message when absent)
 * and of the official examples (test/fixtures/examples), plus the Claim
 * example and a small Patient that the REST benchmark uses.
 *
 *   npx tsx scripts/bench/validation.ts [--repeat 5] [--rounds 3]
 *   npx tsx --cpu-prof --cpu-prof-dir=/tmp/prof scripts/bench/validation.ts   # hot spots
 *
 * Each figure is the median over `--repeat` timed passes of the process's
 * CPU time (the machine is shared, single passes and wall times are noisy);
 * one untimed pass first compiles the schemas and invariants.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths';
import { createValidator, type Validator } from '../../src/validation/validator';

const syntheaDir = join(projectRoot, '..', 'shared', 'data', 'synthea');
const examplesDir = join(projectRoot, 'test', 'fixtures', 'examples');
const profileExamplesDir = join(projectRoot, 'test', 'fixtures', 'profile-examples');

type Resource = Record<string, unknown>;

function readJson(file: string): Resource {
  return JSON.parse(readFileSync(file, 'utf8')) as Resource;
}

function syntheaResources(): Resource[] {
  if (!existsSync(syntheaDir)) {
    console.log(`(no ${syntheaDir}: the Synthea figures are skipped)`);
    return [];
  }
  return readdirSync(syntheaDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => ((readJson(join(syntheaDir, f)).entry ?? []) as { resource?: Resource }[]).flatMap((e) => (e.resource ? [e.resource] : [])));
}

function exampleResources(dir = examplesDir): Resource[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => readJson(join(dir, f)));
}

/** The vital-signs examples without meta.profile: the base checks alone, to compare with the profiled figure. */
function withoutProfile(resources: Resource[]): Resource[] {
  return resources.map(({ meta: _meta, ...rest }) => rest);
}

const SMALL_PATIENT: Resource = {
  resourceType: 'Patient',
  identifier: [{ system: 'urn:bench:mrn', value: '100042' }],
  name: [{ family: 'García', given: ['Given42'] }],
  gender: 'female',
  birthDate: '1982-03-12',
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median CPU µs per resource over `repeat` passes of `rounds` validations of every resource. */
function microsPerResource(validator: Validator, resources: Resource[], repeat: number, rounds: number): number {
  const passes: number[] = [];
  for (let r = 0; r < repeat; r++) {
    // CPU time of this process, not wall time: the machine is shared, and other processes' load would count otherwise.
    const started = process.cpuUsage();
    for (let i = 0; i < rounds; i++) for (const resource of resources) validator.validate(resource);
    const used = process.cpuUsage(started);
    passes.push((used.user + used.system) / (rounds * resources.length));
  }
  return median(passes);
}

function byType(resources: Resource[]): Map<string, Resource[]> {
  const groups = new Map<string, Resource[]>();
  for (const r of resources) {
    const type = String(r.resourceType);
    groups.set(type, [...(groups.get(type) ?? []), r]);
  }
  return groups;
}

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function main(): void {
  const repeat = option('repeat', 5);
  const rounds = option('rounds', 3);
  const validator = createValidator();
  const synthea = syntheaResources();
  const examples = exampleResources();
  const claim = readJson(join(examplesDir, 'Claim-100150.json'));
  const vitals = exampleResources(profileExamplesDir);
  for (const r of [...synthea, ...examples, ...vitals, claim, SMALL_PATIENT]) validator.validate(r);

  const line = (label: string, resources: Resource[], scale = 1) =>
    console.log(`${label.padEnd(34)} ${String(resources.length).padStart(6)}  ${microsPerResource(validator, resources, repeat, rounds * scale).toFixed(1).padStart(8)} µs`);
  console.log(`${'set'.padEnd(34)} ${'count'.padStart(6)}  ${'µs/res'.padStart(8)}   (CPU time, median of ${repeat} passes)`);
  if (synthea.length > 0) line('Synthea mix', synthea);
  line('official examples', examples);
  line('Claim example (Claim-100150)', [claim], 500);
  line('small Patient', [SMALL_PATIENT], 2000);
  line('vital signs, claiming vitalsigns', vitals, 50);
  line('vital signs, no meta.profile', withoutProfile(vitals), 50);
  if (process.argv.includes('--by-type')) {
    console.log('\nSynthea by type:');
    for (const [type, list] of [...byType(synthea)].sort((a, b) => b[1].length - a[1].length)) line(`  ${type}`, list);
  }
}

main();
