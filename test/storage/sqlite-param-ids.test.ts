/**
 * The integer parameter ids of the SQLite index rows (param-ids.ts): created
 * on first use inside the write's transaction, safe across a rollback and
 * with a second connection (another process) on the same file.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ParamIds } from '../../src/storage/sqlite/param-ids';
import { createSchema } from '../../src/storage/sqlite/schema';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { parsed, searchContext, searchIndexer } from './search-cases';

t.test('an id created in a transaction that rolls back is not kept', async (t) => {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  createSchema(db);
  const ids = new ParamIds(db);
  let rolledBack: number | undefined;
  try {
    db.transaction(() => {
      rolledBack = ids.idFor('Observation', 'code');
      throw new Error('the write fails');
    })();
  } catch {
    // expected
  }
  ids.settle();
  // Another writer now takes the same id for another parameter.
  const other = Number(db.prepare("INSERT INTO search_params (type, code) VALUES ('Patient', 'name')").run().lastInsertRowid);
  t.equal(other, rolledBack, 'SQLite hands the rolled-back id out again');
  const again = db.transaction(() => ids.idFor('Observation', 'code'))();
  t.not(again, other, 'the parameter gets an id of its own');
  t.same(db.prepare('SELECT type, code FROM search_params WHERE id = ?').get(again), { type: 'Observation', code: 'code' });
});

t.test('two connections on one file share the ids, each creating what the other has not', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-param-ids-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'concord.db');
  const first = createSqliteStorage({ path, indexer: searchIndexer });
  const second = createSqliteStorage({ path, indexer: searchIndexer });
  t.teardown(async () => {
    await first.close();
    await second.close();
  });
  const ctx = searchContext({});
  // A unit of work on the first writes an Observation, then fails: its new ids roll back.
  await t.rejects(
    first.unitOfWork(async (tx) => {
      await tx.create(ctx, { resourceType: 'Observation', id: 'o1', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '1-1' }] } });
      throw new Error('the unit fails');
    }),
  );
  // The second takes ids (maybe the same numbers) for its own parameters.
  await second.create(ctx, { resourceType: 'Patient', id: 'p1', gender: 'female', name: [{ family: 'Ng' }] });
  // The first writes an Observation again: under ids of Observation's parameters, not the Patient's.
  await first.create(ctx, { resourceType: 'Observation', id: 'o2', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '2-2' }] } });
  for (const storage of [first, second]) {
    t.equal((await storage.search(ctx, parsed('Observation?code=http://loinc.org|2-2'))).records.length, 1);
    t.equal((await storage.search(ctx, parsed('Observation?code=http://loinc.org|1-1'))).records.length, 0);
    t.equal((await storage.search(ctx, parsed('Patient?family=ng&gender=female'))).records.length, 1);
    t.equal((await storage.search(ctx, parsed('Patient?birthdate=2000'))).records.length, 0, 'a parameter never written matches nothing');
  }
});
