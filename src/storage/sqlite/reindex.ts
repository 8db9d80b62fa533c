import type { Database } from 'better-sqlite3';
import type { AnyResource } from '../../fhir/types';
import type { Indexer } from '../../search/index-entry';
import type { ReindexProgress, ReindexSummary } from '../port';
import { EntryWriter } from './entry-writer';

/** Resources per transaction: large enough to be fast, small enough that a running server's writes wait only briefly. */
const BATCH_SIZE = 500;

interface CurrentRow {
  pk: number;
  type: string;
  json: string;
}

/**
 * Rewrites the index entries of every current resource with `indexer`,
 * through the EntryWriter every write of the adapter uses. Batches in pk order, each its own IMMEDIATE
 * transaction that reads the body and rewrites its entries together, so a
 * concurrent update is never overwritten with entries of an older body.
 * The caller opens `db` with the adapter's pragmas and schema (schema.ts),
 * so that tables added with the new definitions exist.
 */
export function reindexSqlite(db: Database, indexer: Indexer, onProgress: ReindexProgress = () => {}): ReindexSummary {
  const total = (db.prepare('SELECT count(*) AS n FROM resources WHERE deleted = 0').get() as { n: number }).n;
  const nextBatch = db.prepare('SELECT pk, type, json FROM resources WHERE deleted = 0 AND pk > ? ORDER BY pk LIMIT ?');
  const writer = new EntryWriter(db);

  const summary: ReindexSummary = { resources: 0, entries: 0 };
  const rewriteBatch = db.transaction((afterPk: number): number | undefined => {
    const rows = nextBatch.all(afterPk, BATCH_SIZE) as CurrentRow[];
    for (const row of rows) {
      const entries = indexer(JSON.parse(row.json) as AnyResource);
      writer.deleteAll(row.pk);
      writer.insert(row.pk, row.type, entries);
      summary.entries += entries.length;
    }
    summary.resources += rows.length;
    return rows.at(-1)?.pk;
  });

  let lastPk: number | undefined = 0;
  while (lastPk !== undefined) {
    lastPk = rewriteBatch.immediate(lastPk);
    writer.params.settle();
    onProgress(summary.resources, Math.max(total, summary.resources));
  }
  return summary;
}
