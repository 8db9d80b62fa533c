import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config';
import { buildServer } from '../../src/http/server';
import { createIndexer } from '../../src/search/indexer';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { createValidator } from '../../src/validation/validator';
import { BASE_URL, fhirJson, startHarness } from '../http/harness';
import { bundleOf, patient, postEntry } from './helpers';

t.test('MAX_BUNDLE_ENTRIES: 10,000 by default, validated', async (t) => {
  t.equal(loadConfig({}).maxBundleEntries, 10_000);
  t.equal(loadConfig({ MAX_BUNDLE_ENTRIES: '50' }).maxBundleEntries, 50);
  for (const bad of ['0', 'many', '-1']) t.throws(() => loadConfig({ MAX_BUNDLE_ENTRIES: bad }), ConfigError, bad);
});

t.test('a bundle over MAX_BUNDLE_ENTRIES is 413 and nothing is written', async (t) => {
  const storage = createSqliteStorage({ path: ':memory:', indexer: createIndexer({ baseUrl: BASE_URL }) });
  // Security off, as in the shared harness (a variable, so that this also compiles before the auth option exists).
  const options = {
    config: { baseUrl: BASE_URL, basePath: '/fhir', maxBodyBytes: 1024 * 1024, logLevel: 'silent', maxBundleEntries: 3 },
    services: { storage, validator: createValidator() },
    auth: { mode: 'off' as const },
  };
  const app = buildServer(options as Parameters<typeof buildServer>[0]);
  t.teardown(async () => {
    await app.close();
    await storage.close();
  });
  const post = (count: number, type: 'batch' | 'transaction') =>
    app.inject({ method: 'POST', url: '/fhir', headers: fhirJson, payload: bundleOf(type, Array.from({ length: count }, () => postEntry(patient()))) });
  const tooMany = await post(4, 'transaction');
  t.equal(tooMany.statusCode, 413);
  t.equal(tooMany.json().issue[0].code, 'too-costly');
  t.equal((await post(4, 'batch')).statusCode, 413, 'batches too');
  t.equal((await post(3, 'transaction')).statusCode, 200, 'at the limit is fine');
  const count = await app.inject({ method: 'GET', url: '/fhir/Patient?_summary=count' });
  t.equal(count.json().total, 3, 'only the bundle within the limit wrote');
});

t.test('a bundle over MAX_BODY_BYTES is 413', async (t) => {
  const h = await startHarness({ maxBodyBytes: 2048 });
  t.teardown(h.close);
  const big = bundleOf('transaction', Array.from({ length: 30 }, () => postEntry(patient())));
  t.equal((await h.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: JSON.stringify(big) })).statusCode, 413);
});

t.test('POST to the base takes only batch and transaction bundles', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const post = (payload: unknown) => h.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: JSON.stringify(payload) });
  t.equal((await post(patient())).statusCode, 400, 'not a bundle');
  t.equal((await post({ resourceType: 'Bundle', type: 'collection', entry: [] })).statusCode, 400, 'a collection');
  t.equal((await post({ resourceType: 'Bundle', type: 'batch', entry: {} })).statusCode, 400, 'entry not an array');
  const xml = await h.request({ method: 'POST', url: '/fhir', headers: { 'content-type': 'application/fhir+xml' }, payload: '<Bundle/>' });
  t.equal(xml.statusCode, 415);
  t.equal((await h.request({ method: 'PUT', url: '/fhir' })).statusCode, 405, 'other methods on the base are 405');
});
