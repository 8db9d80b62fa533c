/**
 * The websocket channel with a real WebSocket client (`ws`) on loopback:
 * the R4 form (bind / bound / ping), the backport form
 * ($get-ws-binding-token, bind-with-token, notification Bundles), refusals
 * of unauthenticated and foreign binds, consent decided at delivery, and the
 * expiry of binding tokens.
 */
import t from 'tap';
import WebSocket from 'ws';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { auditsOf, BASE_URL, backportSubscription, denyAll, encounter, eventually, fhirJson, startSecureWorld, startWorld } from './world';

type Param = { name: string; valueCode?: string; valueString?: string; valueUri?: string; valueUrl?: string; valueDateTime?: string; part?: Param[] };
const param = (parameters: { parameter: Param[] }, name: string) => parameters.parameter.find((p) => p.name === name);

/** A client that records every text frame it receives. */
interface Client {
  messages: string[];
  send(text: string): void;
  /** Resolves once `count` frames have arrived. */
  waitFor(count: number, ms?: number): Promise<string[]>;
  close(): void;
}

function connect(url: string, bearer?: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {});
    const messages: string[] = [];
    ws.on('message', (data) => messages.push(data.toString()));
    ws.on('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        messages,
        send: (text) => ws.send(text),
        waitFor: (count, ms = 5000) => eventually(async () => messages, (list) => list.length >= count, ms),
        close: () => ws.close(),
      }),
    );
  });
}

/** Lets the engine run a delivery pass, so that "nothing arrived" means nothing was sent. */
const settle = (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms));

const r4Websocket = (criteria: string) => ({ resourceType: 'Subscription', status: 'requested', reason: 'test', criteria, channel: { type: 'websocket', payload: 'application/fhir+json' } });

function backportWebsocket(filters: string[], content: 'empty' | 'id-only' | 'full-resource' = 'full-resource') {
  const body = backportSubscription('', 'resource-changed', filters, content) as { channel: Record<string, unknown> };
  const { endpoint: _endpoint, ...channel } = body.channel;
  return { ...body, channel: { ...channel, type: 'websocket' } };
}

const bundleOf = (text: string) => JSON.parse(text) as { type: string; entry: Array<{ resource: { resourceType: string; id?: string; parameter: Param[] } }> };
const typeOf = (text: string) => param(bundleOf(text).entry[0]!.resource, 'type')?.valueCode;

t.test('R4 form: bind <id>, bound <id>, then ping <id> per event; the endpoint is in the CapabilityStatement', async (t) => {
  const world = await startWorld({ websocket: {} });
  t.teardown(() => world.close());
  const metadata = (await world.request({ method: 'GET', url: '/fhir/metadata' })).json() as { rest: Array<{ extension?: Array<{ url: string; valueUri?: string }> }> };
  const published = metadata.rest[0]!.extension?.find((extension) => extension.url === 'http://hl7.org/fhir/StructureDefinition/capabilitystatement-websocket');
  t.equal(published?.valueUri, 'ws://localhost:8080/fhir/ws', 'capabilitystatement-websocket on rest, from the base URL');

  const created = await world.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: r4Websocket('Encounter?status=finished') });
  t.equal(created.statusCode, 201, created.body);
  const id = created.json().id as string;
  t.equal(created.json().status, 'active', 'a websocket subscription has no handshake: active at once');

  const client = await connect(world.websocketUrl!);
  t.teardown(() => client.close());
  client.send(`bind ${id}`);
  t.same(await client.waitFor(1), [`bound ${id}`]);
  const ctx = systemContext(BASE_URL);
  await world.storage.create(ctx, { ...encounter('e1') } as AnyResource);
  await world.storage.create(ctx, { ...encounter('e2'), status: 'planned' } as AnyResource); // no match
  await world.storage.create(ctx, { ...encounter('e3') } as AnyResource);
  await client.waitFor(3);
  await settle();
  t.same(client.messages, [`bound ${id}`, `ping ${id}`, `ping ${id}`], 'one ping per matching event, nothing of the resource');

  const other = await connect(world.websocketUrl!);
  t.teardown(() => other.close());
  other.send('bind nope');
  other.send('hello');
  await other.waitFor(2);
  t.match(other.messages[0], /^error nope /, 'an unknown subscription is refused');
  t.match(other.messages[1], /^error /, 'an unknown command is answered, not ignored');
});

t.test('backport form: $get-ws-binding-token, bind-with-token, handshake then notification Bundles', async (t) => {
  const { world, token, as } = await startSecureWorld(t, { websocket: {} });
  const gp = await token({ scope: 'user/*.cruds', fhirUser: 'Practitioner/gp' });
  const created = await as(gp, 'POST', '/fhir/Subscription', backportWebsocket(['Encounter?subject=Patient/p']));
  t.equal(created.statusCode, 201, created.body);
  const id = created.json().id as string;

  const answer = await as(gp, 'GET', `/fhir/Subscription/${id}/$get-ws-binding-token`);
  t.equal(answer.statusCode, 200, answer.body);
  const parameters = answer.json() as { parameter: Param[] };
  const bindingToken = param(parameters, 'token')!.valueString!;
  t.equal(param(parameters, 'websocket-url')?.valueUrl, 'ws://localhost:8080/fhir/ws');
  t.equal(param(parameters, 'subscription')?.valueString, `${BASE_URL}/Subscription/${id}`);
  t.ok(Date.parse(param(parameters, 'expiration')!.valueDateTime!) > Date.now(), 'an expiration in the future');

  // No bearer token on the upgrade: the binding token is the authentication.
  const client = await connect(world.websocketUrl!);
  t.teardown(() => client.close());
  client.send(`bind-with-token ${bindingToken}`);
  const [handshake] = await client.waitFor(1);
  t.equal(bundleOf(handshake!).type, 'history');
  t.equal(typeOf(handshake!), 'handshake');

  await world.storage.create(systemContext(BASE_URL), encounter('e1') as AnyResource);
  const [, event] = await client.waitFor(2);
  const bundle = bundleOf(event!);
  t.equal(typeOf(event!), 'event-notification');
  t.equal(param(bundle.entry[0]!.resource, 'notification-event')!.part!.find((part) => part.name === 'event-number')!.valueString, '1');
  t.equal(bundle.entry[1]!.resource.id, 'e1', 'full-resource: the focus itself');
  const audits = await eventually(() => auditsOf(world, id), (list) => list.length === 1);
  t.equal(audits[0]!.outcome, '0', 'the delivery is audited as a read by the owner');
  t.equal(audits[0]!.agent[0]!.who.reference, 'Practitioner/gp');

  const forged = await connect(world.websocketUrl!);
  t.teardown(() => forged.close());
  forged.send(`bind-with-token ${bindingToken.slice(0, -2)}xx`);
  t.match((await forged.waitFor(1))[0], /not one this server issued/, 'an altered token is refused');
});

t.test('bind on an unauthenticated or foreign connection is refused, and such connections receive nothing', async (t) => {
  const { world, token, as, auth } = await startSecureWorld(t, { websocket: {} });
  const gp = await token({ scope: 'user/*.cruds', fhirUser: 'Practitioner/gp' });
  const other = await token({ scope: 'user/*.cruds', fhirUser: 'Practitioner/other' });
  const id = (await as(gp, 'POST', '/fhir/Subscription', r4Websocket('Encounter'))).json().id as string;

  const verify = auth.verifiedTokens.verify.bind(auth.verifiedTokens);
  const verified: string[] = [];
  auth.verifiedTokens.verify = (bearer, now) => {
    verified.push(bearer);
    return verify(bearer, now);
  };
  const anonymous = await connect(world.websocketUrl!);
  const foreign = await connect(world.websocketUrl!, other);
  const owner = await connect(world.websocketUrl!, gp);
  t.teardown(() => [anonymous, foreign, owner].forEach((client) => client.close()));
  t.same(verified, [other, gp], 'each upgrade verifies its token once: the expiry and jti come from the claims it authenticated with');
  anonymous.send(`bind ${id}`);
  foreign.send(`bind ${id}`);
  owner.send(`bind ${id}`);
  t.match((await anonymous.waitFor(1))[0], new RegExp(`^error ${id} this connection is not authenticated`));
  const refusal = (await foreign.waitFor(1))[0];
  foreign.send('bind does-not-exist');
  t.equal((await foreign.waitFor(2))[1], refusal!.replace(id, 'does-not-exist'), 'a foreign subscription is refused exactly as a missing one');
  t.same(await owner.waitFor(1), [`bound ${id}`]);

  await world.storage.create(systemContext(BASE_URL), encounter('e1') as AnyResource);
  await owner.waitFor(2);
  await settle();
  t.same(owner.messages, [`bound ${id}`, `ping ${id}`]);
  t.equal(anonymous.messages.length, 1, 'nothing reaches the unauthenticated connection');
  t.equal(foreign.messages.length, 2, 'nothing reaches the foreign connection');

  t.equal((await as(other, 'GET', `/fhir/Subscription/${id}/$get-ws-binding-token`)).statusCode, 404, 'nor can the other user get a token: 404');
  const operator = await token({ scope: 'system/*.rs', sub: 'backend' });
  t.equal((await as(operator, 'GET', `/fhir/Subscription/${id}/$get-ws-binding-token`)).statusCode, 403, 'the operator reads it but may not bind to it');
  await t.rejects(connect(world.websocketUrl!, 'not-a-token'), /upgrade refused: 401/, 'a bearer token that does not verify: 401 before the upgrade');
  const restHook = await as(gp, 'POST', '/fhir/Subscription', { ...r4Websocket('Encounter'), channel: { type: 'rest-hook', endpoint: world.receiver.url } });
  t.equal((await as(gp, 'GET', `/fhir/Subscription/${restHook.json().id as string}/$get-ws-binding-token`)).statusCode, 422, 'a rest-hook subscription has no binding token');
});

t.test('consent revoked before delivery: the websocket notification is numbered, its focus withheld, audited with outcome 4', async (t) => {
  const { world, token, as } = await startSecureWorld(t, { websocket: {} });
  const gp = await token({ scope: 'user/*.cruds', fhirUser: 'Practitioner/gp' });
  const id = (await as(gp, 'POST', '/fhir/Subscription', backportWebsocket(['Encounter?subject=Patient/p']))).json().id as string;
  const ctx = systemContext(BASE_URL);
  // Written while consent permits and nobody is bound: the event waits in the outbox.
  await world.storage.create(ctx, encounter('e1') as AnyResource);
  await world.storage.create(ctx, denyAll as AnyResource);
  const bindingToken = param((await as(gp, 'GET', `/fhir/Subscription/${id}/$get-ws-binding-token`)).json(), 'token')!.valueString!;
  const client = await connect(world.websocketUrl!);
  t.teardown(() => client.close());
  client.send(`bind-with-token ${bindingToken}`);
  const [, event] = await client.waitFor(2);
  const bundle = bundleOf(event!);
  t.equal(typeOf(event!), 'event-notification');
  const notification = param(bundle.entry[0]!.resource, 'notification-event')!;
  t.equal(notification.part!.find((part) => part.name === 'event-number')!.valueString, '1', 'still numbered');
  t.notOk(notification.part!.some((part) => part.name === 'focus'), 'no focus reference');
  t.equal(bundle.entry.length, 1, 'no focus entry: content reduced to empty');
  t.notOk(event!.includes('"Encounter"'), 'nothing of the Encounter');
  const audits = await eventually(() => auditsOf(world, id), (list) => list.length === 1);
  t.equal(audits[0]!.outcome, '4');
});

t.test('binding tokens expire: an expired token is refused; a binding ends at its expiration and the events wait for the next', async (t) => {
  const { world, token, as } = await startSecureWorld(t, { websocket: { tokenSeconds: 1 } });
  const gp = await token({ scope: 'user/*.cruds', fhirUser: 'Practitioner/gp' });
  const id = (await as(gp, 'POST', '/fhir/Subscription', backportWebsocket(['Encounter?subject=Patient/p'], 'id-only'))).json().id as string;
  const fresh = async () => param((await as(gp, 'GET', `/fhir/Subscription/${id}/$get-ws-binding-token`)).json(), 'token')!.valueString!;

  const client = await connect(world.websocketUrl!);
  t.teardown(() => client.close());
  const stale = await fresh();
  client.send(`bind-with-token ${await fresh()}`);
  t.equal(typeOf((await client.waitFor(1))[0]!), 'handshake');
  await settle(1100);
  client.send(`bind-with-token ${stale}`);
  t.match((await client.waitFor(2))[1], /^error the binding token has expired/, 'an expired token is refused');

  await world.storage.create(systemContext(BASE_URL), encounter('e1') as AnyResource);
  t.match((await client.waitFor(3))[2], new RegExp(`^error ${id} the binding has expired`), 'the expired binding is told, not sent the event');
  await settle();
  t.equal(client.messages.length, 3);

  client.send(`bind-with-token ${await fresh()}`);
  const [, , , handshake, event] = await client.waitFor(5);
  t.equal(typeOf(handshake!), 'handshake');
  t.equal(typeOf(event!), 'event-notification', 'the event that waited is delivered on the new binding');
  t.equal(param(bundleOf(event!).entry[0]!.resource, 'notification-event')!.part!.find((part) => part.name === 'event-number')!.valueString, '1');
});

t.test('an access token that expires ends the bind <id> binding', async (t) => {
  const { world, token, as } = await startSecureWorld(t, { websocket: {} });
  const gp = await token({ scope: 'user/*.cruds', fhirUser: 'Practitioner/gp' });
  // A JWT's exp is a whole second: a 1-second token may expire a few ms after it is signed, before the bind.
  // Two seconds leave it at least one to bind in; the wait then runs past its latest possible expiry.
  const signedAt = Date.now();
  const shortLived = await token({ scope: 'user/*.cruds', fhirUser: 'Practitioner/gp' }, 2);
  const id = (await as(gp, 'POST', '/fhir/Subscription', r4Websocket('Encounter'))).json().id as string;
  const client = await connect(world.websocketUrl!, shortLived);
  t.teardown(() => client.close());
  client.send(`bind ${id}`);
  t.same(await client.waitFor(1), [`bound ${id}`]);
  await settle(Math.max(0, signedAt + 2100 - Date.now()));
  await world.storage.create(systemContext(BASE_URL), encounter('e1') as AnyResource);
  t.match((await client.waitFor(2))[1], new RegExp(`^error ${id} the binding has expired`));
  await settle();
  t.equal(client.messages.length, 2, 'no ping after the token expired');
});

t.test('a revoked access token ends the binding; unbind ends it too; heartbeats reach a bound backport connection', async (t) => {
  const { world, token, as, auth } = await startSecureWorld(t, { websocket: {} });
  const gp = await token({ scope: 'user/*.cruds', fhirUser: 'Practitioner/gp' });
  const id = (await as(gp, 'POST', '/fhir/Subscription', r4Websocket('Encounter'))).json().id as string;
  const client = await connect(world.websocketUrl!, gp);
  t.teardown(() => client.close());
  client.send(`bind ${id}`);
  t.same(await client.waitFor(1), [`bound ${id}`]);
  const claims = JSON.parse(Buffer.from(gp.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string; exp: number };
  await auth.tokenIssuer.revocations.revoke(claims.jti, claims.exp * 1000);
  await world.storage.create(systemContext(BASE_URL), encounter('e1') as AnyResource);
  t.match((await client.waitFor(2))[1], new RegExp(`^error ${id} the binding has expired`), 'revoked: no ping');

  const other = await token({ scope: 'user/*.cruds', fhirUser: 'Practitioner/gp' });
  const heartbeat = { url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period', valueUnsignedInt: 1 };
  const body = backportWebsocket(['Encounter?subject=Patient/p'], 'id-only') as { channel: Record<string, unknown> };
  const beating = (await as(other, 'POST', '/fhir/Subscription', { ...body, channel: { ...body.channel, extension: [heartbeat] } })).json().id as string;
  const second = await connect(world.websocketUrl!, other);
  t.teardown(() => second.close());
  second.send(`bind ${beating}`);
  await second.waitFor(3, 5000);
  t.equal(second.messages[0], `bound ${beating}`);
  t.equal(typeOf(second.messages[1]!), 'handshake', 'bind <id> of a backport subscription: its handshake Bundle');
  t.equal(typeOf(second.messages[2]!), 'heartbeat', 'then a heartbeat after an idle period');
  second.send(`unbind ${beating}`);
  await eventually(async () => second.messages, (list) => list.includes(`unbound ${beating}`));
  const count = second.messages.length;
  await settle(1500);
  t.equal(second.messages.length, count, 'nothing after unbind');
});
