/**
 * Ownership, rights on create, consent decided at delivery and the audit of
 * deliveries, with real signed tokens.
 */
import t from 'tap';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { auditsOf, BASE_URL, denyAll, encounter, eventually, r4Subscription, startSecureWorld } from './world';

t.test('only the owner and the operator see a subscription; anyone else gets 404', async (t) => {
  const { world, token, as } = await startSecureWorld(t);
  const gp = await token({ scope: 'user/*.cruds', fhirUser: 'Practitioner/gp' });
  const other = await token({ scope: 'user/*.cruds', fhirUser: 'Practitioner/other' });
  const created = await as(gp, 'POST', '/fhir/Subscription', r4Subscription(world.receiver.url, 'Encounter', { channel: { type: 'rest-hook', endpoint: world.receiver.url, header: ['Authorization: Bearer secret'] } }));
  t.equal(created.statusCode, 201, created.body);
  const id = created.json().id as string;
  t.equal((await as(gp, 'GET', `/fhir/Subscription/${id}`)).statusCode, 200, 'the owner reads it');
  t.equal((await as(other, 'GET', `/fhir/Subscription/${id}`)).statusCode, 404, 'another user: 404');
  t.equal((JSON.parse((await as(other, 'GET', '/fhir/Subscription')).body).entry ?? []).length, 0, 'and does not find it');
  t.equal((await as(other, 'PUT', `/fhir/Subscription/${id}`, { ...(created.json() as Record<string, unknown>), status: 'off' })).statusCode, 404, 'nor updates it');
  t.equal((await as(other, 'DELETE', `/fhir/Subscription/${id}`)).statusCode, 404, 'nor deletes it');
  t.equal((await as(other, 'GET', `/fhir/Subscription/${id}/$status`)).statusCode, 404, 'nor asks its status');
  const operator = await token({ scope: 'system/*.rs', sub: 'backend' });
  t.equal((await as(operator, 'GET', `/fhir/Subscription/${id}`)).statusCode, 200, 'the operator does');
  t.equal((await as(other, 'GET', '/fhir/_history')).body.includes('ConcordSubscription'), false, 'the delivery rows are nobody else’s business');
  const forged = await as(other, 'POST', '/fhir/Subscription', { ...r4Subscription(world.receiver.url, 'Encounter'), meta: (created.json() as { meta: unknown }).meta });
  t.equal(forged.statusCode, 201);
  t.not(JSON.stringify(forged.json().meta.tag), JSON.stringify(created.json().meta.tag), 'a copied owner tag is replaced by the writer’s own');
});

t.test('creating one needs the Subscription write scope and read rights on the criteria type (403)', async (t) => {
  const { world, token, as } = await startSecureWorld(t);
  const noRead = await token({ scope: 'user/Subscription.cruds user/Patient.rs', fhirUser: 'Practitioner/gp' });
  const refused = await as(noRead, 'POST', '/fhir/Subscription', r4Subscription(world.receiver.url, 'Encounter'));
  t.equal(refused.statusCode, 403, refused.body);
  const noWrite = await token({ scope: 'user/Subscription.rs user/Encounter.rs', fhirUser: 'Practitioner/gp' });
  t.equal((await as(noWrite, 'POST', '/fhir/Subscription', r4Subscription(world.receiver.url, 'Encounter'))).statusCode, 403);
  const both = await token({ scope: 'user/Subscription.cruds user/Encounter.rs', fhirUser: 'Practitioner/gp' });
  t.equal((await as(both, 'POST', '/fhir/Subscription', r4Subscription(world.receiver.url, 'Encounter'))).statusCode, 201);
});

t.test('consent revoked between the write and the delivery: numbered, focus withheld, audited with outcome 4', async (t) => {
  const { world, token, as } = await startSecureWorld(t, { maxAttempts: 5, retryBaseMs: 300 });
  const gp = await token({ scope: 'user/*.cruds', fhirUser: 'Practitioner/gp' });
  const created = await as(gp, 'POST', '/fhir/Subscription', r4Subscription(world.receiver.url, 'Encounter'));
  const id = created.json().id as string;
  await eventually(() => as(gp, 'GET', `/fhir/Subscription/${id}`), (r) => r.json().status === 'active');
  const ctx = systemContext(BASE_URL);

  // Delivered while consent permits: the resource, audited as a read by the owner.
  await world.storage.create(ctx, encounter('e1') as AnyResource);
  await world.receiver.waitFor(2);
  t.equal(JSON.parse(world.receiver.received[1]!.body).id, 'e1');

  // The receiver is down when e2 is written; consent is revoked while the retry waits.
  let down = true;
  world.receiver.status = () => (down ? 503 : 200);
  await world.storage.create(ctx, encounter('e2') as AnyResource);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await world.storage.create(ctx, denyAll as AnyResource);
  down = false;
  await world.receiver.waitFor(3, 8000);
  t.equal(world.receiver.received[2]!.body, '', 'the retry after the revocation carries nothing of the Encounter');
  t.equal((await as(gp, 'GET', '/fhir/Encounter/e2')).statusCode, 404, 'as a read by the owner would be now');

  const audits = await eventually(() => auditsOf(world, id), (list) => list.length >= 2);
  const [delivered, withheld] = audits;
  t.equal(delivered!.outcome, '0');
  t.equal(delivered!.subtype[0]!.code, 'read');
  t.equal(delivered!.agent[0]!.who.reference, 'Practitioner/gp', 'audited as the owner');
  t.ok(delivered!.entity!.some((entity) => entity.what.reference === 'Patient/p'), 'the patient is an entity');
  t.equal(delivered!.entity!.find((entity) => entity.what.reference === `Subscription/${id}`)!.detail![0]!.valueString, '1', 'the event number');
  t.equal(withheld!.outcome, '4', 'the reduced delivery: outcome 4');
  t.equal(withheld!.entity!.find((entity) => entity.what.reference === `Subscription/${id}`)!.detail![0]!.valueString, '2');
});
