import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { markdownTable } from './http-load';
import { preload } from './rest-core';
import { preloadSecurityData, securedScenarios, type SecurityFigures } from './secured-scenarios';

/**
 * Only the security scenarios of the REST core section, repeated
 * (BENCH_ROUNDS, default 3) on one preloaded database, with the median of
 * each figure: `npm run build && node dist/scripts/bench/secured.js`.
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
    const runs: SecurityFigures[] = [];
    for (let round = 0; round < rounds; round++) {
      const figures = await securedScenarios(sqlitePath, { resources, seconds, connections: 32 });
      for (const r of figures.results) if (r.errors || r.non2xx) process.stderr.write(`warning: ${r.name}: ${r.errors} errors, ${r.non2xx} non-2xx\n`);
      process.stderr.write(`round ${round + 1}: ${figures.results.map((r) => `${r.name} ${r.requestsPerSecond}`).join('; ')}; read ${figures.readRatio}%, search ${figures.searchRatio}%\n`);
      runs.push(figures);
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const names = runs[0]!.results.map((r) => r.name);
    console.log(markdownTable(['scenario', 'median req/s', 'per round'], names.map((name, i) => {
      const perRound = runs.map((run) => run.results[i]!.requestsPerSecond);
      return [name, median(perRound), perRound.join(', ')];
    })));
    console.log(`\nsecured read / open read: median ${median(runs.map((r) => r.readRatio))}% (${runs.map((r) => r.readRatio).join(', ')})`);
    console.log(`secured search / open search: median ${median(runs.map((r) => r.searchRatio))}% (${runs.map((r) => r.searchRatio).join(', ')})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
