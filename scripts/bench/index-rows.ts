import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyResource } from '../../src/fhir/types';
import type { IndexEntry } from '../../src/search/index-entry';
import { createIndexer } from '../../src/search/indexer';
import { ResourceStore } from '../../src/storage/sqlite/resource-store';
import { applyPragmas, createSchema } from '../../src/storage/sqlite/schema';
import { syntheaResources } from './synthea-resources';

/**
 * The SQLite share of a write, alone: every resource of the Synthea bundles
 * (or test/fixtures/synthea) is indexed once beforehand, then written through
 * the adapter's ResourceStore (as updates: the bundles share Organizations and Practitioners) into a fresh database file, 1,000 resources a
 * transaction, several rounds. Prints the median CPU µs per resource (steadier
 * than wall time on a shared machine), the spread, and the file size: the
 * figure that the index table layout changes. `npx tsx scripts/bench/index-rows.ts [rounds]`.
 */
const all = syntheaResources();
const indexer = createIndexer({ baseUrl: 'http://localhost/fhir' });
const entries = new Map<string, IndexEntry[]>(all.map((r) => [`${r.resourceType}/${r.id}`, indexer(r)]));
const precomputed = (r: AnyResource): IndexEntry[] => entries.get(`${r.resourceType}/${r.id}`) ?? [];
const rounds = Number(process.argv[2] ?? 3);
const perTransaction = 1000;

const cpuPerResource: number[] = [];
const wallPerResource: number[] = [];
let bytes = 0;
for (let round = 0; round < rounds; round++) {
  const dir = mkdtempSync(join(tmpdir(), 'concord-index-rows-'));
  const db = new Database(join(dir, 'rows.db'));
  try {
    applyPragmas(db, { fsyncEveryCommit: false, readOnly: false });
    createSchema(db);
    const store = new ResourceStore(db, precomputed);
    const now = new Date();
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let i = 0; i < all.length; i += perTransaction) {
      db.transaction(() => {
        for (const resource of all.slice(i, i + perTransaction)) store.update(now, resource);
      }).immediate();
      // As the adapter does after each commit: the parameter ids created in it are trusted from now on (param-ids.ts).
      store.settleParams();
    }
    const { user, system } = process.cpuUsage(cpu);
    wallPerResource.push(((performance.now() - started) * 1000) / all.length);
    cpuPerResource.push((user + system) / all.length);
    db.pragma('wal_checkpoint(TRUNCATE)');
    bytes = statSync(join(dir, 'rows.db')).size;
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows = [...entries.values()].reduce((sum, list) => sum + list.length, 0);
console.log(`${all.length} resources, ${(rows / all.length).toFixed(1)} index entries/resource, database ${(bytes / 1e6).toFixed(1)} MB`);
console.log(
  `SQLite write: median ${median(cpuPerResource).toFixed(1)} µs CPU/resource (rounds: ${cpuPerResource.map((x) => x.toFixed(1)).join(', ')}), ` +
    `wall ${median(wallPerResource).toFixed(1)} µs/resource (${Math.round(1e6 / median(wallPerResource))} resources/s)`,
);
