import t from 'tap';
import { FhirError } from '../../src/errors';
import { createIndexer } from '../../src/search/indexer';
import { createRequestGuard, isBundleRequest } from '../../src/security/request-guard';
import { classifyRequest } from '../../src/rest/server-routes';
import { parseScopes } from '../../src/security/scopes/parse-scopes';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { BASE_URL } from '../http/harness';

t.test('POST [base] is admitted as an envelope: its entries are authorized one by one', async (t) => {
  t.ok(isBundleRequest(classifyRequest('POST', '', {})), 'the base route registered without a slash');
  t.ok(isBundleRequest(classifyRequest('POST', '/', {})), 'and with one');
  t.equal(classifyRequest('POST', '', {}).operation, 'POST /', 'its audit record names it POST /, not "POST "');
  t.notOk(isBundleRequest(classifyRequest('POST', '/:type', { type: 'Patient' })), 'a create is not');
  t.notOk(isBundleRequest(classifyRequest('GET', '/', {})), 'a system search is not');

  const storage = createSqliteStorage({ path: ':memory:', indexer: createIndexer({ baseUrl: BASE_URL }) });
  t.teardown(() => storage.close());
  const guard = createRequestGuard({ storage, baseUrl: BASE_URL });
  const principal = { kind: 'user' as const, token: { issuer: 'i', scopes: parseScopes('patient/Observation.rs', BASE_URL) }, fhirUser: 'Patient/p', actorType: 'Patient' as const, patient: 'p', purpose: 'PATRQT' };
  const admission = { principal, requestId: 'r', now: new Date() };
  const envelope = await guard.admit({ ...admission, classified: classifyRequest('POST', '', {}) });
  t.equal(envelope.access, undefined, 'the envelope carries no filter of its own');
  const refused = await guard.admit({ ...admission, classified: classifyRequest('POST', '/:type', { type: 'Observation' }) }).catch((e: unknown) => e);
  t.ok(refused instanceof FhirError && refused.status === 403, 'any other route is authorized as before');
  const read = await guard.admit({ ...admission, classified: classifyRequest('GET', '/:type/:id', { type: 'Observation', id: 'o' }) });
  t.ok(read.access && read.access.conditionsFor('Observation').length > 0, 'and filtered to the compartment');
  t.equal((await guard.admit({ principal: { kind: 'operator' }, classified: classifyRequest('GET', '/:type', { type: 'Observation' }), requestId: 'r', now: new Date() })).access, undefined, 'the operator: no filter');
});
