import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { createIndexer, type IndexerEngine } from '../../src/search/indexer';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { datasetResources, datasetShape } from './dataset';

/**
 * Loading speed of the search benchmark's generated data set, in-process:
 * `npx tsx scripts/bench/dataset-load.ts [resources] [rounds]` loads it into
 * fresh SQLite files in units of 1000 creates, alternating the compiled
 * indexer and fhirpath.js alone, and prints the median of each.
 */
async function loadOnce(resources: number, engine: IndexerEngine): Promise<{ perSecond: number; cpuMicros: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'concord-dataset-'));
  const base = 'http://127.0.0.1:8080/fhir';
  const storage = createSqliteStorage({ path: join(dir, 'dataset.db'), indexer: createIndexer({ baseUrl: base, engine }) });
  const shape = datasetShape(resources);
  const all = [...datasetResources(shape)] as AnyResource[];
  const started = performance.now();
  const cpu = process.cpuUsage();
  try {
    for (let from = 0; from < all.length; from += 1000) {
      const ctx = systemContext(base, 'bench-dataset-load');
      await storage.unitOfWork(async (tx) => {
        for (const resource of all.slice(from, from + 1000)) await tx.create(ctx, resource);
      });
    }
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const { user, system } = process.cpuUsage(cpu);
  return { perSecond: all.length / ((performance.now() - started) / 1000), cpuMicros: (user + system) / all.length };
}

async function main(): Promise<void> {
  const resources = Number(process.argv[2] ?? 20_000);
  const rounds = Number(process.argv[3] ?? 3);
  const engines: IndexerEngine[] = ['compiled', 'fhirpath'];
  const results = new Map<IndexerEngine, { perSecond: number; cpuMicros: number }[]>(engines.map((e) => [e, []]));
  for (let round = 0; round < rounds; round++) for (const engine of engines) results.get(engine)!.push(await loadOnce(resources, engine));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const [engine, runs] of results) {
    console.log(`${engine}: median ${Math.round(median(runs.map((r) => r.perSecond)))} resources/s, ${Math.round(median(runs.map((r) => r.cpuMicros)))} µs CPU/resource (${resources} resources × ${rounds})`);
  }
}

void main();
