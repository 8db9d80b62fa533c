import t from 'tap';
import type { RequestContext } from '../../src/context';
import { FhirError } from '../../src/errors';
import { processBundle } from '../../src/interactions/bundle';
import { createIndexer } from '../../src/search/indexer';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { createValidator } from '../../src/validation/validator';
import { BASE_URL } from '../http/harness';
import { bundleOf, patient, postEntry } from './helpers';

// Entries are not yet authorized one by one: a caller with limited rights must not reach them through a bundle.
t.test('only the unrestricted operator may send bundles', async (t) => {
  const storage = createSqliteStorage({ path: ':memory:', indexer: createIndexer({ baseUrl: BASE_URL }) });
  t.teardown(() => storage.close());
  const services = { storage, validator: createValidator() };
  const options = { maxEntries: 10, preference: 'minimal' as const };
  const bundle = bundleOf('transaction', [postEntry(patient())]);
  const base = { requestId: 'r', baseUrl: BASE_URL, now: new Date() };
  const token = { issuer: 'https://issuer.example', scopes: [] };
  const restricted: Array<[string, RequestContext]> = [
    ['a user', { ...base, principal: { kind: 'user', token, fhirUser: 'Practitioner/1', actorType: 'Practitioner', purpose: 'TREAT' } }],
    ['an operator client with token scopes', { ...base, principal: { kind: 'operator', token } }],
    ['an access filter', { ...base, principal: { kind: 'operator' }, access: { conditionsFor: () => [] } }],
  ];
  for (const [who, ctx] of restricted) {
    for (const type of ['transaction', 'batch'] as const) {
      const refused = await processBundle(services, ctx, { ...bundle, type }, options).catch((error: unknown) => error);
      t.ok(refused instanceof FhirError && refused.status === 403, `${who}: ${type} refused with 403`);
    }
  }
  const result = await processBundle(services, { ...base, principal: { kind: 'operator' } }, bundle, options);
  t.equal(result.entry?.length, 1, 'the operator may');
});
