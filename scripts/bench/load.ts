import Database from 'better-sqlite3';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BatchWriter } from '../load-pipeline';
import { inProcessSink, Loader } from '../load';
import { createIndexer } from '../../src/search/indexer';
import { buildSecondaryIndexes, deferSecondaryIndexes } from '../../src/storage/sqlite/schema';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { createValidator } from '../../src/validation/validator';

export interface LoadBenchOptions {
  /** Folder of Synthea transaction bundles. */
  folder: string;
  /** Where the fresh database files go. */
  dir: string;
  rounds: number;
}

const BASE = 'http://localhost/fhir';
const TARGET = 3000;

type Mode = { name: string; batch?: number; defer?: boolean };
const modes: Mode[] = [
  { name: 'sequential (one bundle a transaction)' },
  { name: 'batch path (10 bundles a transaction, validated ahead)', batch: 10 },
  { name: 'batch path + deferred indexes', batch: 10, defer: true },
];

/** One `npm run load` of the folder into an empty database file, in this process: resources/s and CPU µs per resource (all threads). */
async function loadOnce(folder: string, path: string, mode: Mode): Promise<{ rate: number; cpu: number; resources: number }> {
  const storage = createSqliteStorage({ path, indexer: createIndexer({ baseUrl: BASE }) });
  const services = { storage, validator: createValidator() };
  const writer = mode.batch ? new BatchWriter(services, BASE, { validateAhead: true }) : undefined;
  const files = readdirSync(folder).filter((n) => n.endsWith('.json')).sort().map((n) => join(folder, n));
  const started = performance.now();
  const cpu = process.cpuUsage();
  try {
    if (mode.defer) {
      const side = new Database(path);
      deferSecondaryIndexes(side);
      side.close();
    }
    const summary = await new Loader(inProcessSink(services, BASE), writer && { writer, bundlesPerTransaction: mode.batch! }).load(files);
    if (summary.failed > 0) throw new Error(`${summary.failed} resources failed to load: ${JSON.stringify(summary.errors)}`);
    await writer?.close();
    await storage.close();
    if (mode.defer) {
      const again = new Database(path);
      buildSecondaryIndexes(again);
      again.close();
    }
    const seconds = (performance.now() - started) / 1000;
    const { user, system } = process.cpuUsage(cpu);
    return { rate: summary.resources / seconds, cpu: (user + system) / summary.resources, resources: summary.resources };
  } finally {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
  }
}

/**
 * `npm run load` of the Synthea bundles into an empty SQLite database, in
 * process (the command's own Loader), per mode and round; the database
 * creation, the validation thread's start and the index build of a deferred
 * load included. Wall rate (median, min–max) beside the target, and CPU time
 * of every thread per resource, steadier on a shared machine.
 */
export async function benchLoad(options: LoadBenchOptions): Promise<string> {
  // Warm-up: the main thread's validator and indexer compile on first use (the command pays it once too).
  await loadOnce(options.folder, join(options.dir, 'load-warmup.db'), modes[0]!);
  const rows: string[] = [];
  let resources = 0;
  for (const mode of modes) {
    const rates: number[] = [];
    const cpus: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const run = await loadOnce(options.folder, join(options.dir, `load-${round}.db`), mode);
      rates.push(run.rate);
      cpus.push(run.cpu);
      resources = run.resources;
    }
    const sorted = [...rates].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const cpu = [...cpus].sort((a, b) => a - b)[Math.floor(cpus.length / 2)]!;
    rows.push(
      `| ${mode.name} | ${Math.round(median)} | ${Math.round(sorted[0]!)}–${Math.round(sorted.at(-1)!)} | ${Math.round(cpu)} | ≥ ${TARGET.toLocaleString('en')} | ${median >= TARGET ? 'met' : 'missed'} |`,
    );
  }
  return [
    `### npm run load (Synthea bundles into an empty SQLite database, in process, ${resources} resources, ${options.rounds} rounds)`,
    '',
    '| mode | resources/s (median) | min–max | CPU µs/resource (all threads) | target | |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...rows,
  ].join('\n');
}
