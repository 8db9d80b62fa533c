import t from 'tap';
import { backportSubscription, eventually, fhirJson, startWorld } from './world';

type Param = { name: string; valueCode?: string; valueString?: string; part?: Param[] };
const param = (status: { parameter: Param[] }, name: string) => status.parameter.find((p) => p.name === name);
const eventNumbers = (status: { parameter: Param[] }) =>
  status.parameter.filter((p) => p.name === 'notification-event').map((p) => p.part!.find((part) => part.name === 'event-number')!.valueString);

t.test('$status and $events: the status Parameters in a searchset; replay after a gap', async (t) => {
  const world = await startWorld({ maxAttempts: 1 });
  t.teardown(() => world.close());
  // The receiver "loses" event 2: it answers 200 but the client never processed it.
  const created = await world.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: backportSubscription(world.receiver.url, 'resource-changed', ['Observation?resourceType=Observation'], 'id-only') });
  const id = created.json().id as string;
  await eventually(() => world.request({ method: 'GET', url: `/fhir/Subscription/${id}` }), (r) => r.json().status === 'active');
  for (const n of [1, 2, 3]) {
    await world.request({ method: 'PUT', url: `/fhir/Observation/o${n}`, headers: fhirJson, payload: { resourceType: 'Observation', id: `o${n}`, status: 'final', code: { text: 'x' } } });
  }
  await world.receiver.waitFor(4);

  const status = await world.request({ method: 'GET', url: `/fhir/Subscription/${id}/$status` });
  t.equal(status.statusCode, 200, status.body);
  const statusBundle = status.json();
  t.equal(statusBundle.type, 'searchset');
  t.equal(param(statusBundle.entry[0].resource, 'type')!.valueCode, 'query-status');
  t.equal(param(statusBundle.entry[0].resource, 'status')!.valueCode, 'active');
  t.equal(param(statusBundle.entry[0].resource, 'events-since-subscription-start')!.valueString, '3');

  const gap = await world.request({ method: 'GET', url: `/fhir/Subscription/${id}/$events?eventsSinceNumber=2&eventsUntilNumber=2&content=full-resource` });
  t.equal(gap.statusCode, 200, gap.body);
  const replay = gap.json();
  t.equal(param(replay.entry[0].resource, 'type')!.valueCode, 'query-event');
  t.same(eventNumbers(replay.entry[0].resource), ['2'], 'exactly the missed event');
  t.equal(replay.entry[1].resource.id, 'o2', 'with its focus, as asked');

  const all = (await world.request({ method: 'GET', url: `/fhir/Subscription/${id}/$events` })).json();
  t.same(eventNumbers(all.entry[0].resource), ['1', '2', '3']);
  t.notOk(all.entry[1].resource, 'the subscription’s own content (id-only) by default');
  t.equal((await world.request({ method: 'GET', url: `/fhir/Subscription/${id}/$events?eventsSinceNumber=zero` })).statusCode, 400);
  t.equal((await world.request({ method: 'GET', url: `/fhir/Subscription/${id}/$events?content=everything` })).statusCode, 400);
  t.equal((await world.request({ method: 'GET', url: '/fhir/Subscription/nope/$status' })).statusCode, 404);
});

t.test('$status reports the error state and its reason', async (t) => {
  const world = await startWorld({ maxAttempts: 1 });
  t.teardown(() => world.close());
  world.receiver.status = () => 500;
  const created = await world.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: backportSubscription(world.receiver.url, 'consent-changed', [], 'empty') });
  const id = created.json().id as string;
  await eventually(() => world.request({ method: 'GET', url: `/fhir/Subscription/${id}` }), (r) => r.json().status === 'error');
  const status = (await world.request({ method: 'GET', url: `/fhir/Subscription/${id}/$status` })).json().entry[0].resource;
  t.equal(param(status, 'status')!.valueCode, 'error');
  t.match(JSON.stringify(param(status, 'error')), /handshake failed/);
});
