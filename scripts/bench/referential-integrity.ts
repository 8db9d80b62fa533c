/**
 * Cost of the referential-integrity check on write (README "Referential
 * integrity"): the create rows of the REST core benchmark and the bundle
 * loading, each run against a server with REFERENTIAL_INTEGRITY=strict and
 * one with `off`, alternating, for `BENCH_ROUNDS` rounds (3 by default).
 *
 *   npm run build && node dist/scripts/bench/referential-integrity.js
 *   BENCH_SECONDS=5 BENCH_RESOURCES=2000 BENCH_ROUNDS=3 node dist/scripts/bench/referential-integrity.js
 *
 * The Claim example names five stored resources (one lookup for the five);
 * a Patient names none (the check returns before any lookup). Bundle loading
 * needs ../shared/data/synthea and is skipped with a message without it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths';
import { benchBundles } from './bundles';
import { markdownTable, runLoad } from './http-load';
import { preload, storeClaimTargets } from './rest-core';
import { startServerProcess } from './server-process';

type Mode = 'strict' | 'off';

async function createRows(dir: string, mode: Mode, resources: number, seconds: number): Promise<Array<[string, number]>> {
  const sqlitePath = join(dir, `create-${mode}-${Date.now()}.db`);
  await preload(sqlitePath, resources);
  const claim = readFileSync(join(projectRoot, 'test', 'fixtures', 'examples', 'Claim-100150.json'), 'utf8');
  const server = await startServerProcess({ SQLITE_PATH: sqlitePath, AUTH_MODE: 'off', LOG_LEVEL: 'error', REFERENTIAL_INTEGRITY: mode });
  const common = { seconds, connections: 32 };
  try {
    await storeClaimTargets(server.url);
    const patient = JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Bench' }], gender: 'female', birthDate: '1970-01-01' });
    const rows: Array<[string, number]> = [];
    const a = await runLoad(server.url, { ...common, name: 'create Patient', method: 'POST', path: () => '/Patient', body: () => patient });
    const b = await runLoad(server.url, { ...common, name: 'create Claim example', method: 'POST', path: () => '/Claim', body: () => claim });
    for (const r of [a, b]) {
      if (r.errors || r.non2xx) throw new Error(`${r.name} (${mode}): ${r.errors} errors, ${r.non2xx} non-2xx`);
      rows.push([r.name, r.requestsPerSecond]);
    }
    return rows;
  } finally {
    await server.stop();
  }
}

/** Resources per second of one bundle-loading pass, read from the bundle benchmark's table row. */
async function bundleRate(dir: string, mode: Mode, folder: string): Promise<number> {
  process.env.REFERENTIAL_INTEGRITY = mode;
  const table = await benchBundles({ folder, sqlitePath: join(dir, `bundles-${mode}-${Date.now()}.db`), rounds: 1 });
  const last = table.trim().split('\n').pop()!.split('|').map((c) => c.trim());
  return Number(last[3]);
}

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const resources = Number(process.env.BENCH_RESOURCES ?? 2000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const synthea = join(projectRoot, '..', 'shared', 'data', 'synthea');
  const dir = mkdtempSync(join(tmpdir(), 'concord-bench-ri-'));
  const figures = new Map<string, number[]>();
  const add = (key: string, value: number) => figures.set(key, [...(figures.get(key) ?? []), value]);
  try {
    for (let round = 0; round < rounds; round++) {
      for (const mode of ['strict', 'off'] as const) {
        for (const [name, rate] of await createRows(dir, mode, resources, seconds)) add(`${name} (req/s)|${mode}`, rate);
        if (existsSync(synthea)) add(`Synthea bundles (resources/s)|${mode}`, await bundleRate(dir, mode, synthea));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!existsSync(synthea)) console.log(`(bundle loading skipped: ${synthea} is absent)`);
  const rows = [...new Set([...figures.keys()].map((k) => k.split('|')[0]!))].map((name) => {
    const strict = figures.get(`${name}|strict`)!;
    const off = figures.get(`${name}|off`)!;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return [name, strict.join(' / '), off.join(' / '), `${Math.round((100 * mean(strict)) / mean(off))}%`];
  });
  console.log(`Referential integrity, ${rounds} rounds (strict and off alternating), ${seconds} s per row, ${resources} patients preloaded, 32 connections\n`);
  console.log(markdownTable(['row', 'strict', 'off', 'strict / off'], rows));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
