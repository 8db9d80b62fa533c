import t from 'tap';
import { eventually, fhirJson, r4Subscription, startWorld } from './world';

t.test('an R4 rest-hook subscription: handshake, then the matching resource as the body', async (t) => {
  const world = await startWorld();
  t.teardown(() => world.close());
  const created = await world.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: r4Subscription(world.receiver.url, 'Patient?gender=female', { channel: { type: 'rest-hook', endpoint: world.receiver.url, payload: 'application/fhir+json', header: ['Authorization: Bearer receiver-secret'] } }) });
  t.equal(created.statusCode, 201, created.body);
  const id = created.json().id as string;
  const [handshake] = await world.receiver.waitFor(1);
  const bundle = JSON.parse(handshake!.body);
  t.equal(bundle.type, 'history');
  const status = bundle.entry[0].resource;
  t.equal(status.resourceType, 'Parameters');
  t.same(status.parameter.find((p: { name: string }) => p.name === 'type').valueCode, 'handshake');
  t.notOk(status.parameter.some((p: { name: string }) => p.name === 'topic'), 'an R4-form handshake has no topic');
  t.equal(handshake!.headers.authorization, 'Bearer receiver-secret', 'the channel headers are sent');
  t.equal(handshake!.headers['content-type'], 'application/fhir+json');
  await eventually(() => world.request({ method: 'GET', url: `/fhir/Subscription/${id}` }), (r) => r.json().status === 'active');

  await world.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', gender: 'male' } });
  const female = await world.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', gender: 'female' } });
  const [, event] = await world.receiver.waitFor(2);
  const body = JSON.parse(event!.body);
  t.equal(body.resourceType, 'Patient');
  t.equal(body.id, female.json().id, 'the matching resource, not the other one');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(world.receiver.received.length, 2, 'the non-matching write did not notify');
});

t.test('without channel.payload the notification is an empty POST; a delete of a matching resource notifies', async (t) => {
  const world = await startWorld();
  t.teardown(() => world.close());
  const subscription = r4Subscription(world.receiver.url, 'Patient?gender=female', { channel: { type: 'rest-hook', endpoint: world.receiver.url } });
  const created = await world.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: subscription });
  t.equal(created.statusCode, 201, created.body);
  await world.receiver.waitFor(1);
  await eventually(() => world.request({ method: 'GET', url: `/fhir/Subscription/${created.json().id}` }), (r) => r.json().status === 'active');
  const patient = await world.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', gender: 'female' } });
  await world.receiver.waitFor(2);
  t.equal(world.receiver.received[1]!.body, '', 'empty notification');
  await world.request({ method: 'DELETE', url: `/fhir/Patient/${patient.json().id}` });
  await world.receiver.waitFor(3);
  t.equal(world.receiver.received[2]!.body, '', 'the delete notifies with an empty body');
});
