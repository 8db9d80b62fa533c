/**
 * An operation that changes state (OperationDefinition.affectsState, as
 * `$book` or `$submit` will) is a write inside a bundle: admitted with the
 * permissions its descriptor names, checked by the write check, and in a
 * transaction run after the other writes and before every read. A test-only
 * `$stamp` (it amends an Observation) and its read-only twin show the difference.
 */
import t from 'tap';
import { systemContext, type Principal, type RequestContext } from '../../src/context';
import { FhirError } from '../../src/errors';
import type { AnyResource, Bundle, BundleEntry } from '../../src/fhir/types';
import type { OperationDescriptor } from '../../src/operations/descriptor';
import { operations } from '../../src/operations/registry';
import { processBundle } from '../../src/rest/bundle';
import { createIndexer } from '../../src/search/indexer';
import { createRequestGuard, type RequestGuard } from '../../src/security/request-guard';
import type { ClassifiedRequest } from '../../src/security/scopes/classify';
import { parseScopes } from '../../src/security/scopes/parse-scopes';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { createValidator } from '../../src/validation/validator';
import { bundleOf, requestEntry } from './helpers';

const BASE_URL = 'http://localhost:8080/fhir';
const validator = createValidator();

/** `Observation/[id]/$stamp`: sets the Observation's status to amended. */
function stamp(affectsState: boolean): OperationDescriptor {
  return {
    code: 'stamp',
    definition: 'urn:test:OperationDefinition:Observation-stamp',
    resourceTypes: ['Observation'],
    get: [],
    post: ['instance'],
    affectsState,
    permissions: { instance: affectsState ? ['u'] : ['r'] },
    parameters: [],
    handler: async (services, ctx, { id }) => {
      const current = await services.storage.read(ctx, 'Observation', id ?? '');
      const amended = { ...(current?.resource as AnyResource), status: 'amended' } as AnyResource;
      const { record } = await services.storage.update(ctx, amended);
      return { body: record.resource as AnyResource };
    },
  };
}

const user = (scope: string): Principal => ({
  kind: 'user',
  token: { issuer: 'i', scopes: parseScopes(scope, BASE_URL) },
  fhirUser: 'Patient/p',
  actorType: 'Patient',
  patient: 'p',
  purpose: 'PATRQT',
});

async function world(t: { teardown(fn: () => unknown): void }) {
  const storage = createSqliteStorage({ path: ':memory:', indexer: createIndexer({ baseUrl: BASE_URL }) });
  t.teardown(() => storage.close());
  await storage.update(systemContext(BASE_URL), { resourceType: 'Patient', id: 'p' } as AnyResource);
  await storage.update(systemContext(BASE_URL), {
    resourceType: 'Observation',
    id: 'o1',
    status: 'final',
    code: { text: 'x' },
    subject: { reference: 'Patient/p' },
  } as AnyResource);
  const real = createRequestGuard({ storage, baseUrl: BASE_URL });
  const writeChecks: ClassifiedRequest[] = [];
  // The server's guard, recording which entries it is asked to check as writes.
  const guard: RequestGuard = {
    admit: (admission, cache) => real.admit(admission, cache),
    checkWrite: (ctx, classified, body, unit) => {
      writeChecks.push(classified);
      return real.checkWrite(ctx, classified, body, unit);
    },
  };
  const send = async (principal: Principal, operation: OperationDescriptor, type: 'batch' | 'transaction'): Promise<Bundle | FhirError> => {
    const ctx: RequestContext = { requestId: 'r', baseUrl: BASE_URL, principal, now: new Date() };
    // The read comes first in the bundle: only the processing order can make it see the stamp.
    const bundle = bundleOf(type, [requestEntry('GET', 'Observation/o1'), requestEntry('POST', 'Observation/o1/$stamp')]);
    const options = { maxEntries: 10, preference: 'representation' as const, guard, operations: [...operations(), operation] };
    return processBundle({ storage, validator }, ctx, bundle, options).catch((error: unknown) => {
      if (error instanceof FhirError) return error;
      throw error;
    });
  };
  return { storage, send, writeChecks };
}

const statusOf = (resource: unknown) => (resource as { status?: string } | undefined)?.status;
const statusRead = (bundle: Bundle | FhirError) => statusOf(((bundle as Bundle).entry?.[0] as BundleEntry).resource);

t.test('in a transaction, a state-changing operation is checked as a write and runs before the reads', async (t) => {
  const { send, writeChecks } = await world(t);
  const answer = await send(user('patient/Observation.rus'), stamp(true), 'transaction');
  t.notOk(answer instanceof FhirError, 'the transaction commits');
  t.equal(statusRead(answer), 'amended', 'the GET, listed first, sees what the operation wrote');
  t.same(
    writeChecks.map((c) => c.operation),
    ['$stamp'],
    'the write check saw the operation',
  );
});

t.test('a read-only operation is ordered and admitted with the reads', async (t) => {
  const { send, writeChecks } = await world(t);
  const answer = await send(user('patient/Observation.rus'), stamp(false), 'transaction');
  t.equal(statusRead(answer), 'final', 'the GET ran first, in entry order');
  t.same(writeChecks, [], 'no write check');
});

t.test('a state-changing operation needs the permissions its descriptor names: without them the transaction fails 403', async (t) => {
  const { send, storage } = await world(t);
  const refused = await send(user('patient/Observation.rs'), stamp(true), 'transaction');
  t.ok(refused instanceof FhirError && refused.status === 403, '403');
  t.match((refused as FhirError).issues[0]?.diagnostics, /Bundle\.entry\[1\].*'u'/, 'naming the entry and the missing permission');
  t.equal(statusOf((await storage.read(systemContext(BASE_URL), 'Observation', 'o1'))?.resource), 'final', 'nothing written');
});

t.test('in a batch, a state-changing operation is checked as a write too', async (t) => {
  const { send, writeChecks } = await world(t);
  const answer = (await send(user('patient/Observation.rus'), stamp(true), 'batch')) as Bundle;
  t.equal(answer.entry?.[1]?.response?.status, '200 OK');
  t.same(
    writeChecks.map((c) => c.operation),
    ['$stamp'],
  );
});
