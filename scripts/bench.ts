import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/paths';
import { benchLoad } from './bench/load';
import { benchBundles } from './bench/bundles';
import { benchExport } from './bench/export';
import { benchForms } from './bench/forms';
import { benchClaims } from './bench/claims';
import { benchRestCore } from './bench/rest-core';
import { benchScheduling } from './bench/scheduling';
import { benchSearch } from './bench/search';
import { benchSubscriptions } from './bench/subscriptions';

/**
 * `npm run bench`: starts the built server against fresh databases, drives it
 * with autocannon from this process and prints markdown tables for the README.
 * BENCH_SECONDS and BENCH_RESOURCES shorten a run while developing;
 * BENCH_SEARCH_RESOURCES sizes the search and export sections' data set;
 * BENCH_SUBSCRIPTION_ROUNDS sets the subscriptions section's rounds (default 3);
 * BENCH_ONLY=claims,forms runs the named sections alone, in table order.
 */
interface Section {
  name: string;
  /** Returns the section's markdown, or a line saying why it was skipped. */
  run(dir: string, options: { seconds: number; resources: number; searchResources: number }): Promise<string>;
}

// One entry per section; add new ones here, in the order they print.
const SECTIONS: Section[] = [
  { name: 'rest', run: (dir, o) => benchRestCore(dir, { resources: o.resources, seconds: o.seconds, connections: 32 }) },
  {
    name: 'bundles',
    run: async (dir) => {
      // The Synthea bundles sit beside the checkout, not in it.
      const synthea = join(projectRoot, '..', 'shared', 'data', 'synthea');
      if (!existsSync(synthea)) return `Bundle loading skipped: ${synthea} is absent`;
      return benchBundles({ folder: synthea, sqlitePath: join(dir, 'bundles.db'), rounds: Number(process.env.BENCH_BUNDLE_ROUNDS ?? 3) });
    },
  },
  {
    name: 'load',
    run: async (dir) => {
      const synthea = join(projectRoot, '..', 'shared', 'data', 'synthea');
      if (!existsSync(synthea)) return `npm run load skipped: ${synthea} is absent`;
      return benchLoad({ folder: synthea, dir, rounds: Number(process.env.BENCH_LOAD_ROUNDS ?? 3) });
    },
  },
  // Few connections: search latency is the figure, and more clients would only queue on the one event loop.
  { name: 'search', run: (dir, o) => benchSearch(dir, { resources: o.searchResources, seconds: o.seconds, connections: 4, rounds: Number(process.env.BENCH_SEARCH_ROUNDS ?? 3) }) },
  { name: 'forms', run: (dir, o) => benchForms(dir, { seconds: o.seconds, connections: 4 }) },
  { name: 'claims', run: (dir, o) => benchClaims(dir, { seconds: o.seconds, connections: 8 }) },
  { name: 'export', run: (dir, o) => benchExport(dir, { resources: o.searchResources, seconds: o.seconds, rounds: Number(process.env.BENCH_EXPORT_ROUNDS ?? 3) }) },
  { name: 'subscriptions', run: (dir, o) => benchSubscriptions(dir, { seconds: o.seconds, connections: 16, rounds: Number(process.env.BENCH_SUBSCRIPTION_ROUNDS ?? 3) }) },
  // $find latency with one client (the time of one $find, not of a queue); $book throughput with the 32 concurrent clients the targets name.
  {
    name: 'scheduling',
    run: (dir, o) => benchScheduling(dir, { seconds: o.seconds, rounds: Number(process.env.BENCH_SCHEDULING_ROUNDS ?? 3), findConnections: 1, bookConnections: 32 }),
  },
];

async function main(): Promise<void> {
  const options = {
    seconds: Number(process.env.BENCH_SECONDS ?? 10),
    resources: Number(process.env.BENCH_RESOURCES ?? 100_000),
    searchResources: Number(process.env.BENCH_SEARCH_RESOURCES ?? 1_000_000),
  };
  const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim()).filter(Boolean);
  const unknown = (only ?? []).filter((name) => !SECTIONS.some((section) => section.name === name));
  if (unknown.length > 0) throw new Error(`BENCH_ONLY names unknown sections: ${unknown.join(', ')} (known: ${SECTIONS.map((s) => s.name).join(', ')})`);
  const dir = mkdtempSync(join(tmpdir(), 'concord-bench-'));
  try {
    console.log(`Concord benchmark: Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), load generator on the same machine`);
    for (const section of SECTIONS) {
      if (only && !only.includes(section.name)) continue;
      console.log(`\n${await section.run(dir, options)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
