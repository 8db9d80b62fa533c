/**
 * The access log on a MongoDB server without transactions: batches are
 * written event by event, idempotent by event id, so a retry after a partial
 * write completes the batch and stores no event twice. Run over an in-memory
 * create with the adapter's own 409 wording; the write itself is the
 * adapter's ordinary create (mongo-contract.test.ts with a server).
 */
import t from 'tap';
import { systemContext } from '../../src/context';
import { conflict, FhirError } from '../../src/errors';
import type { AnyResource } from '../../src/fhir/types';
import { appendIdempotently } from '../../src/storage/mongo/append-records';

const ctx = systemContext('http://localhost/fhir', 'audit');
const event = (id: string) => ({ resourceType: 'AuditEvent', id }) as AnyResource;

/** Stores by id like the adapter: a taken id is 409 "already exists"; fails once at `failAt` writes, if set. */
function fakeStore(failAt?: number) {
  const stored = new Map<string, AnyResource>();
  let writes = 0;
  let failed = false;
  return {
    stored,
    async create(_ctx: unknown, resource: AnyResource) {
      writes++;
      if (!failed && writes === failAt) {
        failed = true;
        throw new Error('connection reset');
      }
      if (stored.has(resource.id!)) throw conflict(`AuditEvent/${resource.id} already exists`);
      stored.set(resource.id!, resource);
      return {} as never;
    },
  };
}

t.test('a batch that failed part way is completed by its retry, each event stored once', async (t) => {
  const store = fakeStore(3);
  const batch = ['e1', 'e2', 'e3', 'e4'].map(event);
  await t.rejects(appendIdempotently(store, ctx, batch), /connection reset/, 'the first attempt fails at the third event');
  t.same([...store.stored.keys()], ['e1', 'e2'], 'two were stored before the failure');
  await appendIdempotently(store, ctx, batch);
  t.same([...store.stored.keys()], ['e1', 'e2', 'e3', 'e4'], 'the retry stores the rest; the ids already stored are skipped, not duplicated');
});

t.test('failures other than a taken id still fail the batch (the buffer keeps it for the retry)', async (t) => {
  const busy = {
    async create(): Promise<never> {
      throw FhirError.of(409, 'conflict', 'AuditEvent/e1 is being written by too many requests at once; try again');
    },
  };
  const outcome = await appendIdempotently(busy, ctx, [event('e1')]).then(() => 'resolved', (error: unknown) => error);
  t.match(outcome, { status: 409, issues: [{ diagnostics: /too many requests/ }] }, 'rejected');
});
