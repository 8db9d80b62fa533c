/**
 * The rules of a subscription's life the other files do not cover: `end`
 * stops delivery, `off` stops it too, a rolled-back change on SQLite has no
 * event, and a resource the owner's scopes do not reach is never sent.
 */
import t from 'tap';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { lastEventNumber } from '../../src/subscriptions/outbox';
import { auditsOf, BASE_URL, encounter, eventually, fhirJson, r4Subscription, startSecureWorld, startWorld, type World } from './world';

const settle = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms));

async function subscribe(world: World, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const created = await world.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: body });
  if (created.statusCode !== 201) throw new Error(created.body);
  const id = created.json().id as string;
  return eventually(async () => (await world.request({ method: 'GET', url: `/fhir/Subscription/${id}` })).json() as Record<string, unknown>, (body) => body.status === 'active');
}

t.test('end: delivery stops after it and the subscription goes off', async (t) => {
  const world = await startWorld();
  t.teardown(() => world.close());
  // Far enough ahead for the handshake and the first delivery on a loaded machine.
  const end = new Date(Date.now() + 4000).toISOString();
  const subscription = await subscribe(world, r4Subscription(world.receiver.url, 'Encounter', { end }));
  const ctx = systemContext(BASE_URL);
  await world.storage.create(ctx, encounter('before') as AnyResource);
  await world.receiver.waitFor(2);
  t.equal(JSON.parse(world.receiver.received[1]!.body).id, 'before', 'delivered while before end');
  await settle(Math.max(0, Date.parse(end) - Date.now()) + 100);
  await world.storage.create(ctx, encounter('after') as AnyResource);
  const stored = await eventually(async () => (await world.request({ method: 'GET', url: `/fhir/Subscription/${subscription.id as string}` })).json(), (body) => body.status === 'off');
  t.equal(stored.status, 'off', 'off at its end');
  await settle();
  t.equal(world.receiver.received.length, 2, 'nothing after end');
  t.equal(await lastEventNumber(world.storage, BASE_URL, subscription.id as string), 1, 'and no event numbered for it');
});

t.test('off: an update to off stops delivery; no event accumulates', async (t) => {
  const world = await startWorld();
  t.teardown(() => world.close());
  const subscription = await subscribe(world, r4Subscription(world.receiver.url, 'Encounter'));
  const off = await world.request({ method: 'PUT', url: `/fhir/Subscription/${subscription.id as string}`, headers: fhirJson, payload: { ...subscription, status: 'off' } });
  t.equal(off.statusCode, 200, off.body);
  t.equal(off.json().status, 'off');
  await world.storage.create(systemContext(BASE_URL), encounter('e1') as AnyResource);
  await settle();
  t.equal(world.receiver.received.length, 1, 'only the handshake');
  t.equal(await lastEventNumber(world.storage, BASE_URL, subscription.id as string), 0);
});

t.test('SQLite: a transaction that fails has no event; the next one takes number 1', async (t) => {
  const world = await startWorld();
  t.teardown(() => world.close());
  const subscription = await subscribe(world, r4Subscription(world.receiver.url, 'Encounter'));
  const id = subscription.id as string;
  await world.storage.create(systemContext(BASE_URL), { resourceType: 'Patient', id: 'p' } as AnyResource);
  const transaction = (entries: unknown[]) => world.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: { resourceType: 'Bundle', type: 'transaction', entry: entries } });
  const matching = { resource: encounter('e1'), request: { method: 'PUT', url: 'Encounter/e1' } };
  // The second entry's If-Match names a version Patient/p does not have: the whole transaction is rolled back.
  const failed = await transaction([matching, { resource: { resourceType: 'Patient', id: 'p' }, request: { method: 'PUT', url: 'Patient/p', ifMatch: 'W/"9"' } }]);
  t.equal(failed.statusCode, 412, failed.body);
  await settle();
  t.equal(world.receiver.received.length, 1, 'no notification of the rolled-back Encounter');
  t.equal(await lastEventNumber(world.storage, BASE_URL, id), 0, 'no event in the outbox');
  t.equal((await transaction([matching])).statusCode, 200);
  await world.receiver.waitFor(2);
  t.equal(await lastEventNumber(world.storage, BASE_URL, id), 1, 'the committed one is event 1');
});

t.test('a resource the owner’s scopes do not reach is never sent, whatever the payload', async (t) => {
  const { world, token, as } = await startSecureWorld(t);
  // Granular: the owner may read finished Encounters only.
  const owner = await token({ scope: 'user/Subscription.cruds user/Encounter.rs?status=finished', fhirUser: 'Practitioner/gp' });
  const created = await as(owner, 'POST', '/fhir/Subscription', r4Subscription(world.receiver.url, 'Encounter'));
  t.equal(created.statusCode, 201, created.body);
  const id = created.json().id as string;
  await eventually(() => as(owner, 'GET', `/fhir/Subscription/${id}`), (r) => r.json().status === 'active');
  const ctx = systemContext(BASE_URL);
  await world.storage.create(ctx, encounter('finished') as AnyResource);
  await world.storage.create(ctx, { ...encounter('planned'), status: 'planned' } as AnyResource);
  const [, first, second] = await world.receiver.waitFor(3);
  t.equal(JSON.parse(first!.body).id, 'finished', 'the readable one is sent in full');
  t.equal(second!.body, '', 'the other is an empty notification: nothing of it is sent');
  const audits = await eventually(() => auditsOf(world, id), (list) => list.length === 2);
  t.same(
    audits.map((audit) => audit.outcome),
    ['0', '4'],
    'audited as delivered and as withheld',
  );
});
