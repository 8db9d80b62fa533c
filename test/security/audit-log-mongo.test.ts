/**
 * The access log's durability on MongoDB, through the audit hook
 * (install-audit.ts) and the adapter's `appendRecords` over the driver
 * stand-in (test/storage/mongo-fake.ts), standalone and on a replica set:
 * events are buffered and written within the flush delay, a request that
 * may read the log waits for them, a failing log closes the server (503)
 * until a retry succeeds, a batch that failed part way is completed without
 * duplicates, and shutdown writes what is left. SQLite's side of the same
 * rules: audit.test.ts, audit-log-reads.test.ts, sqlite-append-thread.test.ts.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Db, MongoClient } from 'mongodb';
import t, { type Test } from 'tap';
import type { Principal } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { FLUSH_DELAY_MS, type Schedule } from '../../src/security/audit/audit-buffer';
import { installAudit } from '../../src/security/audit/install-audit';
import { auditedBody } from '../../src/security/entry-audit';
import { createIndexer } from '../../src/search/indexer';
import { mongoStorageOn } from '../../src/storage/mongo/mongo-storage';
import { FakeMongo } from '../storage/mongo-fake';

const BASE_URL = 'http://localhost:8080/fhir';
const indexer = createIndexer({ baseUrl: BASE_URL });
const doctor: Principal = { kind: 'user', fhirUser: 'Practitioner/d1', actorType: 'Practitioner', purpose: 'TREAT', token: { issuer: 'x', scopes: [] } };

/** A scheduler fired by hand: the flush timer runs when the test says so. */
function manualClock() {
  const timers: Array<{ delayMs: number; run: () => void }> = [];
  const schedule: Schedule = (run, delayMs) => {
    const timer = { delayMs, run };
    timers.push(timer);
    return { cancel: () => void timers.splice(timers.indexOf(timer), 1) };
  };
  return { schedule, timers };
}

interface World {
  app: FastifyInstance;
  fake: FakeMongo;
  timers: ReturnType<typeof manualClock>['timers'];
  read(id: string): Promise<number>;
  events(): string[];
}

/** Reads of Patients answered as an interaction would, and a route that reads the log (it answers how many events are stored). */
async function world(t: Test, supportsTransactions: boolean): Promise<World> {
  const fake = new FakeMongo();
  const storage = mongoStorageOn(fake.client as unknown as MongoClient, fake.db as unknown as Db, indexer, supportsTransactions);
  const clock = manualClock();
  const app = Fastify();
  app.addHook('onRequest', async (request) => {
    request.principal = doctor;
  });
  installAudit(app, { storage, baseUrl: BASE_URL, schedule: clock.schedule });
  app.get<{ Params: { id: string } }>('/fhir/Patient/:id', async (request, reply) => {
    const classified = {
      interaction: 'read' as const,
      resourceType: 'Patient',
      id: request.params.id,
      permissions: ['r' as const],
      accessPermission: 'r' as const,
    };
    request.fhirRequest = classified;
    request.auditOutcome = { classified, status: 200, returned: [auditedBody({ resourceType: 'Patient', id: request.params.id } as AnyResource)] };
    return reply.header('content-type', 'application/fhir+json').send('{}');
  });
  app.get('/fhir/AuditEvent', async (request, reply) => {
    request.fhirRequest = { interaction: 'search-type', resourceType: 'AuditEvent', permissions: ['s'], accessPermission: 's' };
    return reply.send({ stored: fake.stored('audit').length });
  });
  t.teardown(() => app.close());
  const entitiesOf = (doc: Record<string, unknown>) =>
    ((doc.body as { entity?: Array<{ what: { reference: string } }> }).entity ?? []).map((e) => e.what.reference).join(' ');
  return {
    app,
    fake,
    timers: clock.timers,
    read: async (id) => (await app.inject({ url: `/fhir/Patient/${id}` })).statusCode,
    events: () => fake.stored('audit').map((doc) => entitiesOf(doc)),
  };
}

for (const supportsTransactions of [false, true]) {
  const topology = supportsTransactions ? 'replica set' : 'standalone';

  t.test(`${topology}: events are buffered, written within the flush delay, and waited for before a log read`, async (t) => {
    const w = await world(t, supportsTransactions);
    t.equal(await w.read('p1'), 200);
    t.same(w.events(), [], 'not written with the response');
    t.ok(w.timers.length === 1 && w.timers[0]!.delayMs <= 250, `one flush scheduled, ${FLUSH_DELAY_MS} ms (at most 250)`);
    w.timers[0]!.run();
    await w.app.auditTrail.flush();
    t.same(w.events(), ['Patient/p1'], 'written when the timer fires');

    t.equal(await w.read('p2'), 200);
    const logRead = await w.app.inject({ url: '/fhir/AuditEvent?entity=Patient/p2' });
    t.same(JSON.parse(logRead.body), { stored: 2 }, 'a log read runs only once the buffered event is stored');
  });

  t.test(`${topology}: a failing log answers 503 until a retry succeeds; the batch is stored once, complete`, async (t) => {
    const w = await world(t, supportsTransactions);
    for (const id of ['a', 'b', 'c']) t.equal(await w.read(id), 200);
    w.fake.failNext('audit', 'insertOne');
    await t.rejects(w.app.auditTrail.flush(), { message: 'connection reset' }, 'the flush fails');
    t.ok(w.app.auditTrail.failing, 'the log is failing');
    t.equal(await w.read('d'), 503, 'nothing is served while the log fails');
    t.equal((await w.app.inject({ url: '/fhir/AuditEvent' })).statusCode, 503, 'nor a log read');
    await w.app.auditTrail.flush();
    t.notOk(w.app.auditTrail.failing, 'the retry succeeded');
    t.same(w.events().sort(), ['Patient/a', 'Patient/b', 'Patient/c'], 'each event of the batch once');
    t.equal(await w.read('e'), 200, 'served again');
  });

  t.test(`${topology}: a batch that failed part way is completed by its retry without duplicates`, async (t) => {
    const w = await world(t, supportsTransactions);
    for (const id of ['a', 'b', 'c']) t.equal(await w.read(id), 200);
    // The first insert goes through, the second fails.
    w.fake.failNext('audit', 'insertOne', { pass: 1 });
    await t.rejects(w.app.auditTrail.flush(), { message: 'connection reset' });
    t.equal(w.events().length, supportsTransactions ? 0 : 1, supportsTransactions ? 'the transaction stored none' : 'standalone stored the first event');
    await w.app.auditTrail.flush();
    t.same(w.events().sort(), ['Patient/a', 'Patient/b', 'Patient/c'], 'the retry stores the rest, each once');
  });

  t.test(`${topology}: shutdown writes the events still buffered`, async (t) => {
    const w = await world(t, supportsTransactions);
    t.equal(await w.read('p1'), 200);
    t.same(w.events(), []);
    await w.app.close();
    t.same(w.events(), ['Patient/p1'], 'written on close, before the storage goes');
  });
}
