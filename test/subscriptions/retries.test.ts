import t from 'tap';
import { eventually, fhirJson, r4Subscription, startWorld } from './world';

t.test('a failing receiver: retries with doubling delays, then error with the reason; an update resumes from the first undelivered event', async (t) => {
  const world = await startWorld({ maxAttempts: 3, retryBaseMs: 100 });
  t.teardown(() => world.close());
  const attempts: number[] = [];
  let failing = false;
  world.receiver.status = (request) => {
    if (request.body.includes('"event-notification"') || request.body.includes('"Patient"')) attempts.push(request.at);
    return failing && !request.body.includes('"handshake"') ? 503 : 200;
  };
  const created = await world.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: r4Subscription(world.receiver.url, 'Patient') });
  const id = created.json().id as string;
  await eventually(() => world.request({ method: 'GET', url: `/fhir/Subscription/${id}` }), (r) => r.json().status === 'active');
  failing = true;
  const first = await world.request({ method: 'PUT', url: '/fhir/Patient/x', headers: fhirJson, payload: { resourceType: 'Patient', id: 'x', gender: 'female' } });
  t.equal(first.statusCode, 201, 'the write is not slowed by the dead endpoint');
  const errored = await eventually(() => world.request({ method: 'GET', url: `/fhir/Subscription/${id}` }), (r) => r.json().status === 'error');
  t.match(errored.json().error, /503.*after 3 attempts/, 'the reason is in Subscription.error');
  t.equal(attempts.length, 3, 'SUBSCRIPTION_MAX_ATTEMPTS attempts in all');
  const gaps = attempts.slice(1).map((at, index) => at - attempts[index]!);
  t.ok(gaps[0]! >= 95 && gaps[1]! >= 195, `backoff doubles: ${gaps.join(', ')} ms`);

  // Events keep accumulating while in error.
  await world.request({ method: 'PUT', url: '/fhir/Patient/y', headers: fhirJson, payload: { resourceType: 'Patient', id: 'y', gender: 'male' } });
  failing = false;
  const before = world.receiver.received.length;
  const resumed = await world.request({ method: 'PUT', url: `/fhir/Subscription/${id}`, headers: fhirJson, payload: { ...(errored.json() as Record<string, unknown>), status: "requested" } });
  t.equal(resumed.statusCode, 200, resumed.body);
  const got = await world.receiver.waitFor(before + 3);
  const delivered = got.slice(before).map((request) => (request.body.startsWith('{"resourceType":"Bundle"') ? 'handshake' : JSON.parse(request.body).id));
  t.same(delivered, ['handshake', 'x', 'y'], 'a handshake, then the two undelivered events in order');
  const active = await eventually(() => world.request({ method: 'GET', url: `/fhir/Subscription/${id}` }), (r) => r.json().status === 'active');
  t.notOk(active.json().error, 'the error is cleared');
});

t.test('a failed handshake is retried like a notification, then the subscription is in error', async (t) => {
  const world = await startWorld({ maxAttempts: 2, retryBaseMs: 10 });
  t.teardown(() => world.close());
  let calls = 0;
  world.receiver.status = () => (++calls, 500);
  const created = await world.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: r4Subscription(world.receiver.url, 'Patient') });
  const errored = await eventually(() => world.request({ method: 'GET', url: `/fhir/Subscription/${created.json().id}` }), (r) => r.json().status === 'error');
  t.match(errored.json().error, /handshake failed: the endpoint answered 500 \(after 2 attempts\)/);
  t.equal(calls, 2);
});

t.test('a dead endpoint does not delay another subscription', async (t) => {
  const world = await startWorld({ maxAttempts: 5, retryBaseMs: 500 });
  t.teardown(() => world.close());
  world.receiver.status = (request) => (request.path === '/hook/dead' && !request.body.includes('"handshake"') ? 500 : 200);
  const dead = await world.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: r4Subscription(`${world.receiver.url}/dead`, 'Patient') });
  const live = await world.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: r4Subscription(`${world.receiver.url}/live`, 'Patient') });
  for (const created of [dead, live]) await eventually(() => world.request({ method: 'GET', url: `/fhir/Subscription/${created.json().id}` }), (r) => r.json().status === 'active');
  const started = Date.now();
  for (let i = 0; i < 3; i += 1) await world.request({ method: 'POST', url: '/fhir/Patient', headers: fhirJson, payload: { resourceType: 'Patient', gender: 'female' } });
  await eventually(async () => world.receiver.received.filter((r) => r.path === '/hook/live' && !r.body.includes('"handshake"')).length, (n) => n === 3);
  t.ok(Date.now() - started < 1500, `the live subscription got its three events in ${Date.now() - started} ms while the dead one backs off`);
});
