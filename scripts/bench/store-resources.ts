import { systemContext } from '../../src/context';
import { createIndexer } from '../../src/search/indexer';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';

const BASE_URL = 'http://127.0.0.1:8080/fhir';

/** Stores `count` resources made by `make` straight through the storage port, in units of 1,000; returns the milliseconds it took. */
export async function storeResources(sqlitePath: string, count: number, make: (i: number) => Record<string, unknown>): Promise<number> {
  const storage = await createSqliteStorage({ path: sqlitePath, indexer: createIndexer({ baseUrl: BASE_URL }) });
  const ctx = systemContext(BASE_URL, 'bench-preload');
  const started = Date.now();
  for (let from = 0; from < count; from += 1000) {
    await storage.unitOfWork(async (tx) => {
      for (let i = from; i < Math.min(count, from + 1000); i++) await tx.create(ctx, make(i) as never);
    });
    if (from % 10000 === 0) process.stderr.write(`\rpreloading ${from}/${count}`);
  }
  process.stderr.write(`\rpreloaded ${count} resources\n`);
  await storage.close();
  return Date.now() - started;
}

