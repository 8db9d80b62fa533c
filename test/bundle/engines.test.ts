/**
 * The transaction path on the engines: a storage whose units of work refuse
 * (MongoDB standalone answers 501) makes the whole transaction 501 with no
 * write; and, when MONGODB_URI names a replica set, the rollback rules run
 * against MongoDB's unit of work (skipped visibly otherwise).
 */
import t from 'tap';
import { systemContext } from '../../src/context';
import { FhirError } from '../../src/errors';
import { processBundle } from '../../src/rest/bundle';
import { createIndexer } from '../../src/search/indexer';
import { parseSearch } from '../../src/search/parse';
import { createMongoStorage } from '../../src/storage/mongo/mongo-storage';
import type { Storage } from '../../src/storage/port';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { createValidator } from '../../src/validation/validator';
import { BASE_URL } from '../http/harness';
import { bundleOf, patient, postEntry } from './helpers';

const validator = createValidator();
const ctx = () => systemContext(BASE_URL);
const options = { maxEntries: 100, preference: 'minimal' as const };
const failingBundle = bundleOf('transaction', [postEntry(patient()), postEntry(patient({ identifier: [{ system: 'urn:mrn', value: 'x' }] })), postEntry(patient({ birthDate: 'soon' }))]);

async function patientCount(storage: Storage): Promise<number> {
  const { query } = parseSearch(['Patient'], [['_count', '100']], { strict: true, baseUrl: BASE_URL });
  const result = await storage.search(ctx(), query);
  return result.records.length;
}

t.test('without transactions (MongoDB standalone) a transaction is 501 and writes nothing', async (t) => {
  const sqlite = createSqliteStorage({ path: ':memory:', indexer: createIndexer({ baseUrl: BASE_URL }) });
  t.teardown(() => sqlite.close());
  let writesOutsideUnit = 0;
  const standalone: Storage = {
    ...sqlite,
    create: (...args) => (writesOutsideUnit++, sqlite.create(...args)),
    update: (...args) => (writesOutsideUnit++, sqlite.update(...args)),
    unitOfWork: () => Promise.reject(FhirError.of(501, 'not-supported', 'Transactions are not available: the MongoDB server is standalone')),
  };
  const refused = await processBundle({ storage: standalone, validator }, ctx(), bundleOf('transaction', [postEntry(patient())]), options).catch((e) => e);
  t.ok(refused instanceof FhirError);
  t.equal(refused.status, 501);
  t.match(refused.issues[0].diagnostics, /standalone/);
  t.equal(writesOutsideUnit, 0, 'no entry was written outside a unit of work');
  t.equal(await patientCount(sqlite), 0);
});

const uri = process.env.MONGODB_URI;
if (!uri) {
  t.skip('MONGODB_URI not set: transaction rollback on MongoDB skipped', () => {});
} else {
  t.test('MongoDB: a failing entry rolls the whole transaction back', async (t) => {
    const storage = await createMongoStorage({ uri, dbName: `concord_bundle_${process.pid}`, indexer: createIndexer({ baseUrl: BASE_URL }) });
    t.teardown(() => storage.close());
    if (!storage.supportsTransactions) {
      const refused = await processBundle({ storage, validator }, ctx(), failingBundle, options).catch((e) => e);
      t.equal(refused.status, 501, 'standalone: 501');
      return;
    }
    const before = await patientCount(storage);
    const failed = await processBundle({ storage, validator }, ctx(), failingBundle, options).catch((e) => e);
    t.equal(failed.status, 422);
    t.equal(await patientCount(storage), before, 'nothing written');
    const ok = await processBundle({ storage, validator }, ctx(), bundleOf('transaction', [postEntry(patient())]), options);
    t.equal(ok.entry?.length, 1);
    t.equal(await patientCount(storage), before + 1);
  });
}
