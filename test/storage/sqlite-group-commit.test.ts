import t from 'tap';
import { FhirError } from '../../src/errors';
import { systemContext } from '../../src/context';
import { createIndexer } from '../../src/search/indexer';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';

const ctx = systemContext('http://example.org/fhir');
const patient = (id: string) => ({ resourceType: 'Patient', id, gender: 'other' }) as never;

t.test('writes that arrive together commit together, and one failing write fails alone', async (t) => {
  const storage = createSqliteStorage({ path: ':memory:', indexer: createIndexer({ baseUrl: ctx.baseUrl }) });
  t.teardown(() => storage.close());
  await storage.create(ctx, patient('taken'));

  // Issued in one turn of the event loop: one group.
  const outcomes = await Promise.allSettled([
    storage.create(ctx, patient('a')),
    storage.create(ctx, patient('taken')),
    storage.update(ctx, patient('b')),
    storage.update(ctx, { ...(patient('taken') as object), gender: 'male' } as never, { expectedVersion: 7 }),
    storage.create(ctx, patient('c')),
  ]);
  t.same(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
  t.equal(((outcomes[1] as PromiseRejectedResult).reason as FhirError).status, 409, 'the duplicate create is 409');
  t.equal(((outcomes[3] as PromiseRejectedResult).reason as FhirError).status, 412, 'the stale update is 412');
  for (const id of ['a', 'b', 'c']) t.ok(await storage.read(ctx, 'Patient', id), `${id} was stored`);
  const taken = await storage.read(ctx, 'Patient', 'taken');
  t.equal(taken?.versionId, 1, 'the failed writes left no version behind');
  t.equal((taken?.resource as { gender?: string }).gender, 'other');
});

t.test('a unit of work and grouped single writes do not interleave', async (t) => {
  const storage = createSqliteStorage({ path: ':memory:', indexer: createIndexer({ baseUrl: ctx.baseUrl }) });
  t.teardown(() => storage.close());
  const unit = storage.unitOfWork(async (tx) => {
    await tx.create(ctx, patient('in-unit'));
    await new Promise((r) => setTimeout(r, 20));
    throw new Error('roll back');
  });
  const single = storage.create(ctx, patient('outside'));
  await t.rejects(unit, /roll back/);
  await single;
  t.notOk(await storage.read(ctx, 'Patient', 'in-unit'), 'the unit rolled back alone');
  t.ok(await storage.read(ctx, 'Patient', 'outside'), 'the single write was not swept into the unit');
});
