import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/paths';
import { benchBundles } from './bench/bundles';
import { benchForms } from './bench/forms';
import { benchClaims } from './bench/claims';
import { benchRestCore } from './bench/rest-core';
import { benchSearch } from './bench/search';

/**
 * `npm run bench`: starts the built server against fresh databases, drives it
 * with autocannon from this process and prints markdown tables for the README.
 * BENCH_SECONDS and BENCH_RESOURCES shorten a run while developing;
 * BENCH_SEARCH_RESOURCES sizes the search section's data set;
 * BENCH_ONLY=claims runs the claims section alone.
 */
async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const resources = Number(process.env.BENCH_RESOURCES ?? 100_000);
  const searchResources = Number(process.env.BENCH_SEARCH_RESOURCES ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'concord-bench-'));
  try {
    console.log(`Concord benchmark: Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), load generator on the same machine\n`);
    if (process.env.BENCH_ONLY === 'claims') {
      console.log(await benchClaims(dir, { seconds, connections: 8 }));
      return;
    }
    console.log(await benchRestCore(dir, { resources, seconds, connections: 32 }));
    // The Synthea bundles sit beside the checkout, not in it.
    const synthea = join(projectRoot, '..', 'shared', 'data', 'synthea');
    if (!existsSync(synthea)) console.log(`\nBundle loading skipped: ${synthea} is absent`);
    else console.log(`\n${await benchBundles({ folder: synthea, sqlitePath: join(dir, 'bundles.db'), rounds: Number(process.env.BENCH_BUNDLE_ROUNDS ?? 1) })}`);
    // Few connections: search latency is the figure, and more clients would only queue on the one event loop.
    console.log(`\n${await benchSearch(dir, { resources: searchResources, seconds, connections: 4 })}`);
    console.log(`\n${await benchForms(dir, { seconds, connections: 4 })}`);
    console.log(`\n${await benchClaims(dir, { seconds, connections: 8 })}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
