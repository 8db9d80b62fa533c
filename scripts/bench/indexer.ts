import { createIndexer } from '../../src/search/indexer';
import { syntheaResources } from './synthea-resources';

/**
 * Indexer micro-benchmark: indexes every resource of the Synthea bundles
 * beside the checkout (or test/fixtures/synthea) in-process, several rounds,
 * and prints the median CPU microseconds per resource (steadier than wall
 * time on a shared machine) and entries per resource,
 * for the compiled navigation and for fhirpath.js alone, rounds interleaved
 * so that both see the same machine load. `npx tsx scripts/bench/indexer.ts [rounds]`.
 */
const all = syntheaResources();
const rounds = Number(process.argv[2] ?? 5);
const engines = ['compiled', 'fhirpath'] as const;
const indexers = engines.map((engine) => createIndexer({ baseUrl: 'http://localhost/fhir', engine }));
const timings: number[][] = engines.map(() => []);
let entries = 0;
for (const index of indexers) for (const r of all.slice(0, 2000)) index(r); // warm-up: compile per type
for (let round = 0; round < rounds; round++) {
  for (const [i, index] of indexers.entries()) {
    entries = 0;
    const cpu = process.cpuUsage();
    for (const r of all) entries += index(r).length;
    const { user, system } = process.cpuUsage(cpu);
    timings[i]!.push((user + system) / all.length);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`${all.length} resources, ${(entries / all.length).toFixed(1)} entries/resource`);
for (const [i, engine] of engines.entries()) {
  console.log(`${engine}: median ${median(timings[i]!).toFixed(1)} µs CPU/resource (rounds: ${timings[i]!.map((x) => x.toFixed(1)).join(', ')})`);
}
