import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemContext } from '../../src/context';
import type { Bundle } from '../../src/fhir/types';
import { processBundle } from '../../src/rest/bundle';
import { projectRoot } from '../../src/paths';
import { createIndexer } from '../../src/search/indexer';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { createValidator } from '../../src/validation/validator';

/**
 * Bundle loading without HTTP, for profiling (`node --import tsx --cpu-prof
 * scripts/bench/bundles-in-process.ts [rounds]`): the Synthea transaction
 * bundles beside the checkout, through processBundle into a fresh SQLite file.
 * INDEXER_ENGINE=fhirpath indexes with fhirpath.js alone, for comparison.
 * Prints wall and CPU time per resource.
 */
const BASE = 'http://localhost/fhir';

async function main(): Promise<void> {
  const folder = join(projectRoot, '..', 'shared', 'data', 'synthea');
  const bodies = readdirSync(folder).filter((n) => n.endsWith('.json')).sort().map((n) => readFileSync(join(folder, n), 'utf8'));
  const rounds = Number(process.argv[2] ?? 1);
  const dir = mkdtempSync(join(tmpdir(), 'concord-bundles-'));
  const storage = createSqliteStorage({ path: join(dir, 'bundles.db'), indexer: createIndexer({ baseUrl: BASE, engine: process.env.INDEXER_ENGINE === 'fhirpath' ? 'fhirpath' : 'compiled' }) });
  const services = { storage, validator: createValidator() };
  const load = (body: string) =>
    processBundle(services, systemContext(BASE, 'bench'), JSON.parse(body) as Bundle, { maxEntries: Infinity, preference: 'minimal' });
  try {
    await load(bodies[0]!); // warm-up: the validator and the indexer compile on first use
    let resources = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let round = 0; round < rounds; round++) {
      for (const body of bodies) resources += (await load(body)).entry?.length ?? 0;
    }
    const seconds = (performance.now() - started) / 1000;
    const { user, system } = process.cpuUsage(cpu);
    console.log(`${resources} resources in ${seconds.toFixed(1)} s: ${Math.round(resources / seconds)} resources/s, ${Math.round((user + system) / resources)} µs CPU/resource`);
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
