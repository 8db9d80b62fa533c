import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preload } from './rest-core';
import { preloadSecurityData, securedScenarios, securityTable } from './secured-scenarios';

/**
 * Only the near-the-floor table of the REST core section (the floor, the
 * open and the secured reads and searches, BENCH_ROUNDS rounds, default 3)
 * on one preloaded database: `npm run build && node dist/scripts/bench/secured.js`.
 * BENCH_CONSENTS=0 leaves the Consents out (the read scenario as first specified).
 */
async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const resources = Number(process.env.BENCH_RESOURCES ?? 100_000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const dir = mkdtempSync(join(tmpdir(), 'concord-secured-'));
  try {
    const sqlitePath = join(dir, 'secured.db');
    await preload(sqlitePath, resources);
    await preloadSecurityData(sqlitePath, resources, process.env.BENCH_CONSENTS !== '0');
    console.log(securityTable(await securedScenarios(sqlitePath, { resources, seconds, connections: 32, rounds })));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
