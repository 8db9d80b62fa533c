/**
 * The backport channel limits (backport-timeout, backport-max-count) and
 * delivery isolation, against a real loopback receiver.
 */
import t from 'tap';
import { backportSubscription, eventually, fhirJson, r4Subscription, startWorld, subscribe, type Received } from './world';

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/';
const timeout = (seconds: number) => ({ url: `${BACKPORT}backport-timeout`, valueUnsignedInt: seconds });
const maxCount = (count: number) => ({ url: `${BACKPORT}backport-max-count`, valuePositiveInt: count });

type Param = { name: string; valueString?: string; valueCode?: string; part?: Param[] };

const isEvent = (request: Received) => request.body.includes('"event-notification"');
const statusOf = (request: Received) => (JSON.parse(request.body) as { entry: Array<{ resource: { parameter: Param[] } }> }).entry[0]!.resource.parameter;
const eventNumbers = (request: Received) =>
  statusOf(request)
    .filter((p) => p.name === 'notification-event')
    .map((p) => Number(p.part?.find((part) => part.name === 'event-number')?.valueString));

/** A gate a held POST waits on until the test opens it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

const consent = (id: string) => ({
  resourceType: 'Consent', id, status: 'active', patient: { reference: 'Patient/p1' },
  scope: { coding: [{ code: 'patient-privacy' }] }, category: [{ coding: [{ code: '59284-0' }] }],
  policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
});

t.test('backport-timeout: an answer slower than it is a failed attempt, retried; one within it is delivered', async (t) => {
  // The server's own limit is far longer than the subscription's one second: only backport-timeout can cut the slow POST.
  const world = await startWorld({ maxAttempts: 3, retryBaseMs: 20, timeoutMs: 30_000 });
  t.teardown(() => world.close());
  const id = await subscribe(world, backportSubscription(world.receiver.url, 'consent-changed', [], 'id-only', [timeout(1)]));
  // The first event POST answers after 2.5 s (beyond the 1 s timeout), every later one at once.
  world.receiver.hold = (request) => {
    if (isEvent(request) && world.receiver.arrived.filter(isEvent).length === 1) return new Promise((resolve) => setTimeout(resolve, 2500));
  };
  const write = await world.request({ method: 'PUT', url: '/fhir/Consent/c1', headers: fhirJson, payload: consent('c1') });
  t.equal(write.statusCode, 201);
  const delivered = await eventually(async () => world.receiver.received.filter(isEvent), (events) => events.length >= 1, 10_000);
  const attempts = world.receiver.arrived.filter(isEvent);
  t.equal(attempts.length, 2, 'the slow answer was a failed attempt, and the event was sent again');
  t.same(attempts.map(eventNumbers), [[1], [1]], 'the retry carries the same event number');
  t.equal(delivered.length, 1, 'only the answer within the timeout delivered it');
  t.same(eventNumbers(delivered[0]!), [1]);
  const stored = await world.request({ method: 'GET', url: `/fhir/Subscription/${id}` });
  t.equal(stored.json().status, 'active', 'one failed attempt within the allowance leaves it active');
});

t.test('backport-timeout: when every answer is too slow, the attempts run out and the reason names the timeout', async (t) => {
  const world = await startWorld({ maxAttempts: 2, retryBaseMs: 20, timeoutMs: 30_000 });
  t.teardown(() => world.close());
  const id = await subscribe(world, backportSubscription(world.receiver.url, 'consent-changed', [], 'id-only', [timeout(1)]));
  world.receiver.hold = (request) => (isEvent(request) ? new Promise((resolve) => setTimeout(resolve, 2500)) : undefined);
  await world.request({ method: 'PUT', url: '/fhir/Consent/c1', headers: fhirJson, payload: consent('c1') });
  const errored = await eventually(() => world.request({ method: 'GET', url: `/fhir/Subscription/${id}` }), (r) => r.json().status === 'error', 10_000);
  t.match(errored.json().error, /no answer within 1000 ms \(after 2 attempts\)/, 'the reason is the subscription\'s own timeout');
  t.equal(world.receiver.arrived.filter(isEvent).length, 2);
  t.equal(world.receiver.received.filter(isEvent).length, 0, 'nothing was delivered');
});

t.test('a hanging endpoint holds up only its own subscription: another receives its events and writes answer meanwhile', async (t) => {
  // No time limit cuts the hanging POST during the test: it is released by the test itself.
  const world = await startWorld({ timeoutMs: 60_000 });
  const hung = gate();
  t.teardown(async () => {
    hung.open();
    await world.close();
  });
  const a = await subscribe(world, r4Subscription(`${world.receiver.url}/a`, 'Patient'));
  await subscribe(world, r4Subscription(`${world.receiver.url}/b`, 'Patient'));
  world.receiver.hold = (request) => (request.path === '/hook/a' ? hung.wait : undefined);
  const on = (path: string, list: Received[]) => list.filter((r) => r.path === path && r.body.startsWith('{"resourceType":"Patient"')).map((r) => JSON.parse(r.body).id as string);

  const first = await world.request({ method: 'PUT', url: '/fhir/Patient/x', headers: fhirJson, payload: { resourceType: 'Patient', id: 'x' } });
  t.equal(first.statusCode, 201);
  await eventually(async () => on('/hook/a', world.receiver.arrived), (ids) => ids.length === 1);
  await eventually(async () => on('/hook/b', world.receiver.received), (ids) => ids.length === 1);
  // A's POST is now hanging: a further write answers, and B gets that event too.
  const second = await world.request({ method: 'PUT', url: '/fhir/Patient/y', headers: fhirJson, payload: { resourceType: 'Patient', id: 'y' } });
  t.equal(second.statusCode, 201, 'a write answers while an endpoint hangs');
  const b = await eventually(async () => on('/hook/b', world.receiver.received), (ids) => ids.length === 2);
  t.same(b, ['x', 'y'], 'B received both events while A hung');
  t.same(on('/hook/a', world.receiver.received), [], 'A has delivered nothing yet');
  t.same(on('/hook/a', world.receiver.arrived), ['x'], 'A sends one event at a time: y waits behind the hanging x');
  const stillActive = await world.request({ method: 'GET', url: `/fhir/Subscription/${a}` });
  t.equal(stillActive.json().status, 'active');

  hung.open();
  world.receiver.hold = () => {};
  const delivered = await eventually(async () => on('/hook/a', world.receiver.received), (ids) => ids.length === 2);
  t.same(delivered, ['x', 'y'], 'once released, A delivers its events in order');
});

t.test('backport-max-count 1: events pending behind a held endpoint go one per notification bundle, in order', async (t) => {
  const world = await startWorld({ timeoutMs: 60_000 });
  const held = gate();
  t.teardown(async () => {
    held.open();
    await world.close();
  });
  await subscribe(world, backportSubscription(world.receiver.url, 'consent-changed', [], 'id-only', [maxCount(1)]));
  world.receiver.hold = (request) => (isEvent(request) ? held.wait : undefined);
  for (const id of ['c1', 'c2', 'c3']) {
    const write = await world.request({ method: 'PUT', url: `/fhir/Consent/${id}`, headers: fhirJson, payload: consent(id) });
    t.equal(write.statusCode, 201);
  }
  // Three events are pending while the first POST is held: the receiver then recovers.
  await eventually(async () => world.receiver.arrived.filter(isEvent).length, (n) => n === 1);
  held.open();
  world.receiver.hold = () => {};
  const delivered = await eventually(async () => world.receiver.received.filter(isEvent), (events) => events.length === 3);
  t.same(delivered.map(eventNumbers), [[1], [2], [3]], 'each bundle carries one notification-event, numbered in order');
  for (const request of delivered) t.equal((JSON.parse(request.body) as { entry: unknown[] }).entry.length - 1, 1, 'and one focus entry');
  // The first bundle was built before events 2 and 3 were written; the two sent after the recovery count all three.
  const since = delivered.map((request) => statusOf(request).find((p) => p.name === 'events-since-subscription-start')?.valueString);
  t.same(since, ['1', '3', '3'], 'events-since-subscription-start as it stood when each bundle was built');
});
