import type { Database } from 'better-sqlite3';
import type { AnyResource } from '../../fhir/types';
import { compartmentPatients } from '../../search/compartment-patients';
import type { Indexer } from '../../search/index-entry';
import type { ReindexProgress, ReindexSummary } from '../port';
import { EntryWriter } from './entry-writer';
import { encodePatients } from './stored-patients';

/** Resources per transaction: large enough to be fast, small enough that a running server's writes wait only briefly. */
const BATCH_SIZE = 500;

interface StoredRow {
  /** resources.pk, or history.seq. */
  key: number;
  type: string;
  id: string;
  json: string;
}

/**
 * Rewrites the index entries of every current resource with `indexer`,
 * through the EntryWriter every write of the adapter uses, and the stored
 * patients (stored-patients.ts) of every version, which the compartment
 * definitions and the indexer decide as much as the entries. Batches in key
 * order, each its own IMMEDIATE transaction that reads the body and rewrites
 * what is derived from it together, so a concurrent update is never
 * overwritten with entries of an older body. The caller opens `db` with the
 * adapter's pragmas and schema (schema.ts), so that tables added with the
 * new definitions exist.
 */
export function reindexSqlite(db: Database, indexer: Indexer, onProgress: ReindexProgress = () => {}): ReindexSummary {
  const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE deleted = 0`).get() as { n: number }).n;
  const total = count('resources') + count('history');
  const writer = new EntryWriter(db);
  const setResourcePatients = db.prepare('UPDATE resources SET patients = ? WHERE pk = ?');
  const setVersionPatients = db.prepare('UPDATE history SET patients = ? WHERE seq = ?');

  const summary: ReindexSummary = { resources: 0, entries: 0, versions: 0 };
  const done = () => summary.resources + summary.versions;
  const inBatches = (select: string, rewrite: (row: StoredRow) => void) => {
    const nextBatch = db.prepare(select);
    const rewriteBatch = db.transaction((afterKey: number): number | undefined => {
      const rows = nextBatch.all(afterKey, BATCH_SIZE) as StoredRow[];
      for (const row of rows) rewrite(row);
      return rows.at(-1)?.key;
    });
    let lastKey: number | undefined = 0;
    while (lastKey !== undefined) {
      lastKey = rewriteBatch.immediate(lastKey);
      // The batch committed: the parameter ids it created can be trusted (param-ids.ts).
      writer.params.settle();
      onProgress(done(), Math.max(total, done()));
    }
  };

  inBatches('SELECT pk AS key, type, id, json FROM resources WHERE deleted = 0 AND pk > ? ORDER BY pk LIMIT ?', (row) => {
    const entries = indexer(JSON.parse(row.json) as AnyResource);
    writer.deleteAll(row.key);
    writer.insert(row.key, row.type, entries);
    setResourcePatients.run(encodePatients(compartmentPatients(row.type, row.id, entries)), row.key);
    summary.entries += entries.length;
    summary.resources++;
  });
  // Older versions keep their body but are read (vread, history) and audited with their patients too.
  inBatches('SELECT seq AS key, type, id, json FROM history WHERE deleted = 0 AND seq > ? ORDER BY seq LIMIT ?', (row) => {
    const entries = indexer(JSON.parse(row.json) as AnyResource);
    setVersionPatients.run(encodePatients(compartmentPatients(row.type, row.id, entries)), row.key);
    summary.versions++;
  });
  return summary;
}
