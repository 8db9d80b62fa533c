import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServerProcess } from './server-process';

/** Transaction bundles over HTTP (the target row). */
const TARGET = 2000;

export interface BundleBenchOptions {
  /** Folder of Synthea transaction bundles (one patient each). */
  folder: string;
  sqlitePath: string;
  /** How many times the set is sent (ids are new on every load, so each round writes everything again). */
  rounds: number;
}

/**
 * Bundle loading: one Synthea transaction bundle per request, sent one after
 * another to the built server (its own process) on a fresh SQLite database;
 * reported as resources written per second, with the slowest bundle.
 */
export async function benchBundles(options: BundleBenchOptions): Promise<string> {
  const bodies = readdirSync(options.folder)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => readFileSync(join(options.folder, name), 'utf8'));
  const [first] = bodies;
  if (first === undefined) throw new Error(`No bundle (*.json) in ${options.folder}`);
  const entries = bodies.map((body) => (JSON.parse(body) as { entry: unknown[] }).entry.length);
  // BENCH_CPU_PROF=dir: the server writes a CPU profile there when it stops (node --cpu-prof).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const server = await startServerProcess(
    { SQLITE_PATH: options.sqlitePath, MAX_BODY_BYTES: String(64 * 1024 * 1024), AUTH_MODE: 'off', LOG_LEVEL: 'error' },
    profile,
  );
  const post = async (body: string) => {
    const started = performance.now();
    const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, body });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`a bundle was answered ${response.status}`);
    return performance.now() - started;
  };
  try {
    // One warm-up bundle: the validator and the indexer compile on first use.
    await post(first);
    let resources = 0;
    let slowest = 0;
    const rates: number[] = [];
    const started = performance.now();
    for (let round = 0; round < options.rounds; round++) {
      const roundStarted = performance.now();
      let roundResources = 0;
      for (const [i, body] of bodies.entries()) {
        slowest = Math.max(slowest, await post(body));
        roundResources += entries[i]!;
      }
      resources += roundResources;
      rates.push(roundResources / ((performance.now() - roundStarted) / 1000));
    }
    const seconds = (performance.now() - started) / 1000;
    const sorted = [...rates].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    return [
      `### Bundle loading over HTTP (SQLite, transaction per Synthea bundle, ${bodies.length} bundles × ${options.rounds} rounds, one request at a time)`,
      '',
      '| resources | seconds | resources/s (median of rounds) | min–max | target | | bundles/s | slowest bundle (ms) |',
      '| ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
      `| ${resources} | ${seconds.toFixed(1)} | ${Math.round(median)} | ${Math.round(sorted[0]!)}–${Math.round(sorted.at(-1)!)} | ≥ ${TARGET.toLocaleString('en')} | ${median >= TARGET ? 'met' : 'missed'} | ${((bodies.length * options.rounds) / seconds).toFixed(1)} | ${Math.round(slowest)} |`,
    ].join('\n');
  } finally {
    await server.stop();
  }
}
