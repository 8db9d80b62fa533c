import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { assertEndpointAllowed, isPublicAddress } from '../../src/subscriptions/endpoint-policy';
import { postNotification } from '../../src/subscriptions/rest-hook';
import { fhirJson, r4Subscription, startReceiver, startWorld } from './world';

const refusal = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error as { status: number; message: string };
  }
};

t.test('the default rule: https to public addresses only', async (t) => {
  const none = { allowlist: [] };
  t.match(await refusal(assertEndpointAllowed(none, 'http://93.184.216.34/hook')), { status: 422, message: /only https/ });
  t.match(await refusal(assertEndpointAllowed(none, 'https://127.0.0.1/hook')), { status: 422, message: /non-public address/ });
  t.match(await refusal(assertEndpointAllowed(none, 'https://10.1.2.3/hook')), { status: 422, message: /non-public/ });
  t.match(await refusal(assertEndpointAllowed(none, 'https://169.254.169.254/latest/meta-data')), { status: 422, message: /non-public/ }, 'the cloud metadata address');
  t.match(await refusal(assertEndpointAllowed(none, 'https://[::1]/hook')), { status: 422, message: /non-public/ });
  t.match(await refusal(assertEndpointAllowed(none, 'https://[::ffff:127.0.0.1]/hook')), { status: 422, message: /non-public/ }, 'IPv4-mapped loopback');
  t.match(await refusal(assertEndpointAllowed(none, 'https://localhost/hook')), { status: 422, message: /non-public/ }, 'a name resolving to loopback');
  t.match(await refusal(assertEndpointAllowed(none, 'https://user:pw@93.184.216.34/hook')), { status: 422, message: /credentials/ });
  t.match(await refusal(assertEndpointAllowed(none, 'not a url')), { status: 422 });
  t.equal(await refusal(assertEndpointAllowed(none, 'https://93.184.216.34/hook')), undefined, 'a public https address passes');
  t.ok(isPublicAddress('8.8.8.8'));
  t.notOk(isPublicAddress('192.168.1.1'));
  t.notOk(isPublicAddress('fd00::1'));
});

t.test('the allowlist admits its prefixes, http and private included, and nothing else', async (t) => {
  const list = { allowlist: ['http://127.0.0.1:9999/'] };
  t.equal(await refusal(assertEndpointAllowed(list, 'http://127.0.0.1:9999/hook')), undefined);
  t.match(await refusal(assertEndpointAllowed(list, 'https://93.184.216.34/hook')), { status: 422, message: /SUBSCRIPTION_ENDPOINT_ALLOWLIST/ }, 'even a public https URL outside it');
  t.match(await refusal(assertEndpointAllowed(list, 'http://127.0.0.1:9998/hook')), { status: 422 });
});

t.test('on create and on update, a refused endpoint is a 422 naming the rule', async (t) => {
  const world = await startWorld();
  t.teardown(() => world.close());
  const bad = await world.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: r4Subscription('https://10.0.0.1/hook', 'Patient') });
  t.equal(bad.statusCode, 422);
  t.match(bad.body, /SUBSCRIPTION_ENDPOINT_ALLOWLIST/);
  const good = await world.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: r4Subscription(world.receiver.url, 'Patient') });
  t.equal(good.statusCode, 201);
  const moved = await world.request({ method: 'PUT', url: `/fhir/Subscription/${good.json().id}`, headers: fhirJson, payload: { ...(good.json() as Record<string, unknown>), channel: { type: 'rest-hook', endpoint: 'http://169.254.169.254/' } } });
  t.equal(moved.statusCode, 422, 'the update is refused too');
});

t.test('at delivery: the address is checked again, and redirects are not followed', async (t) => {
  const receiver = await startReceiver();
  t.teardown(() => receiver.close());
  // No allowlist: the loopback receiver is refused when the connection resolves it (DNS rebinding).
  const rebound = await postNotification({ allowlist: [] }, receiver.url.replace('127.0.0.1', 'localhost').replace('http:', 'https:'), [], '{}', 1000);
  t.equal(rebound.ok, false);
  t.match(rebound.reason, /non-public/);
  const literal = await postNotification({ allowlist: [] }, receiver.url.replace('http:', 'https:'), [], '{}', 1000);
  t.match(literal.reason, /non-public/);
  t.equal(receiver.received.length, 0, 'nothing reached the receiver');
  receiver.status = () => 302;
  const redirected = await postNotification({ allowlist: [`${new URL(receiver.url).origin}/`] }, receiver.url, [], '{}', 1000);
  t.same(redirected, { ok: false, reason: 'the endpoint answered 302' }, 'a redirect is a failed attempt, not followed');
});

t.test('the timeout is the whole attempt: an endpoint trickling its answer is cut at the deadline', async (t) => {
  // Headers at once, then a byte every 100 ms for 5 s: never idle long enough for a socket timeout.
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((request, response) => {
    request.resume();
    response.writeHead(200, { 'content-type': 'text/plain' });
    const drip = setInterval(() => response.write('.'), 100);
    const stop = setTimeout(() => (clearInterval(drip), response.end()), 5000);
    response.on('close', () => (clearInterval(drip), clearTimeout(stop)));
  });
  server.on('connection', (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const started = Date.now();
  const result = await postNotification({ allowlist: [`${new URL(url).origin}/`] }, url, [], '{}', 500);
  const elapsed = Date.now() - started;
  t.same(result, { ok: false, reason: 'no answer within 500 ms' }, 'a failed attempt naming the deadline');
  t.ok(elapsed < 4000, `settled at the deadline, not when the trickle ended (${elapsed} ms)`);
});
