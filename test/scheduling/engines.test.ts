/**
 * The booking rule through the storage port on both engines: parallel units
 * of work that book one Slot make exactly one booking. SQLite always; MongoDB
 * when MONGODB_URI names a replica set (skipped visibly otherwise). Without a
 * server, the MongoDB guard path is checked with fakes: the rule touches one
 * guard per Schedule and per participant through `tx.touchGuards`, the
 * commit hooks pass that method on, and MongoOps writes each guard once, in
 * a fixed order.
 */
import t, { type Test } from 'tap';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { bookingRule, participantGuard, scheduleGuard } from '../../src/scheduling/booking-rule';
import { createIndexer } from '../../src/search/indexer';
import { createMongoStorage } from '../../src/storage/mongo/mongo-storage';
import { MongoOps } from '../../src/storage/mongo/mongo-ops';
import type { Storage, StorageOps } from '../../src/storage/port';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { appointment, clinicResources, slotId } from './clinic';

const BASE = 'http://localhost:8080/fhir';
const ctx = systemContext(BASE, 'engines-test');
const indexer = createIndexer({ baseUrl: BASE });
const slot = slotId(1, '09:00');

async function loadClinic(storage: Storage): Promise<void> {
  for (const resource of clinicResources(2)) await storage.update(ctx, resource as AnyResource);
}

/** 20 units at once, each creating a booked Appointment of another patient on the same Slot. */
async function race(t: Test, storage: Storage): Promise<void> {
  await loadClinic(storage);
  const patients = Array.from({ length: 20 }, (_, i) => ({ resourceType: 'Patient', id: `race-${i}` }) as AnyResource);
  for (const patient of patients) await storage.update(ctx, patient);
  const outcomes = await Promise.allSettled(
    patients.map((patient, i) =>
      storage.unitOfWork((tx) => tx.create(ctx, { ...appointment({ slots: [slot], patient: `Patient/${patient.id!}` }), id: `a-${i}` } as AnyResource)),
    ),
  );
  const statuses = outcomes.map((outcome) => (outcome.status === 'fulfilled' ? 201 : (outcome.reason as { status?: number }).status));
  t.equal(statuses.filter((status) => status === 201).length, 1, 'exactly one booking');
  t.equal(statuses.filter((status) => status === 409).length, 19, '19 conflicts');
  const slotBody = (await storage.read(ctx, 'Slot', slot))?.resource as { status?: string } | undefined;
  t.equal(slotBody?.status, 'busy');
}

t.test('sqlite: 20 parallel units booking one slot make one booking', async (t) => {
  const storage = await createSqliteStorage({ path: ':memory:', indexer });
  t.teardown(() => storage.close());
  const stop = storage.onCommit!(bookingRule({ baseUrl: BASE, clock: () => new Date() }));
  t.teardown(stop);
  await race(t, storage);
});

const uri = process.env.MONGODB_URI;
if (uri === undefined || uri === '') {
  t.skip('MONGODB_URI not set: the booking race on MongoDB is skipped', () => {});
} else {
  t.test('mongodb: 20 parallel units booking one slot make one booking', async (t) => {
    const storage = await createMongoStorage({ uri, dbName: `concord_sched_${process.pid}`, indexer });
    t.teardown(() => storage.close());
    if (!storage.supportsTransactions) {
      t.comment('standalone MongoDB: the booking rule needs a replica set');
      return;
    }
    const stop = storage.onCommit!(bookingRule({ baseUrl: BASE, clock: () => new Date() }));
    t.teardown(stop);
    await race(t, storage);
  });
}

t.test('the rule touches a guard per Schedule and per participant, through the port', async (t) => {
  const storage = await createSqliteStorage({ path: ':memory:', indexer });
  t.teardown(() => storage.close());
  await loadClinic(storage);
  const touched: string[][] = [];
  const rule = bookingRule({ baseUrl: BASE, clock: () => new Date() });
  const body = { ...appointment({ slots: [slot], location: 'Location/room-1' }), id: 'guarded' } as AnyResource;
  await storage.unitOfWork(async (tx) => {
    const record = await tx.create(ctx, body);
    // SQLite has no guards to write: this tx poses as a MongoDB transaction's.
    const withGuards: StorageOps = {
      read: (c, type, id) => tx.read(c, type, id),
      vread: (c, type, id, v) => tx.vread(c, type, id, v),
      search: (c, query) => tx.search(c, query),
      history: (c, query) => tx.history(c, query),
      exists: (c, refs) => tx.exists(c, refs),
      create: (c, resource) => tx.create(c, resource),
      update: (c, resource, options) => tx.update(c, resource, options),
      delete: (c, type, id, options) => tx.delete(c, type, id, options),
      touchGuards: async (keys) => void touched.push([...keys]),
    };
    await rule.inside!([{ resourceType: 'Appointment', id: 'guarded', versionId: 1, after: record.resource! }], withGuards);
  });
  t.same(
    touched.map((keys) => [...keys].sort()),
    [[scheduleGuard('sched-1'), participantGuard('Location/room-1'), participantGuard('Patient/p1'), participantGuard('Practitioner/pr1')].sort()],
    'one call with the Schedule and every counted participant',
  );
});

t.test('the commit hooks pass touchGuards on to the listener', async (t) => {
  const storage = await createSqliteStorage({ path: ':memory:', indexer });
  t.teardown(() => storage.close());
  let seen: boolean | undefined;
  storage.onCommit!({ types: ['Patient'], inside: (_changes, tx) => void (seen = typeof tx.touchGuards === 'function') });
  await storage.create(ctx, { resourceType: 'Patient', id: 'x' } as AnyResource);
  t.equal(seen, false, 'SQLite serializes its units: no guards to write');
});

t.test('MongoOps writes each guard once, sorted, only inside a transaction', async (t) => {
  const collections = { resources: {}, history: {} } as never;
  const written: string[] = [];
  const inTransaction = new MongoOps(collections, indexer, { touchGuard: async (key) => void written.push(key) });
  await inTransaction.touchGuards!(['b', 'a', 'b', 'c']);
  t.same(written, ['a', 'b', 'c']);
  t.equal(new MongoOps(collections, indexer).touchGuards, undefined, 'outside a transaction the method is absent');
});
