import t from 'tap';
import { backportSubscription, eventually, fhirJson, startWorld, subscribe, TOPIC, type World } from './world';

type Param = { name: string; valueCode?: string; valueString?: string; valueCanonical?: string; part?: Param[]; valueReference?: { reference: string } };
const param = (status: { parameter: Param[] }, name: string) => status.parameter.find((p) => p.name === name);

const appointment = (id: string, status: string, patient: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Appointment',
  id,
  status,
  start: '2027-01-04T09:00:00Z',
  end: '2027-01-04T09:30:00Z',
  participant: [
    { actor: { reference: `Patient/${patient}` }, status: 'accepted' },
    { actor: { reference: 'Practitioner/dr' }, status: 'accepted' },
  ],
  ...extra,
});

const put = (world: World, body: { resourceType: string; id: string }) => world.request({ method: 'PUT', url: `/fhir/${body.resourceType}/${body.id}`, headers: fhirJson, payload: body });

t.test('appointment-booked with a patient filter: a history Bundle, status first, numbered events, per payload content', async (t) => {
  const world = await startWorld();
  t.teardown(() => world.close());
  const full = await subscribe(world, backportSubscription(`${world.receiver.url}/full`, 'appointment-booked', ['Appointment?patient=Patient/p1'], 'full-resource'));
  await subscribe(world, backportSubscription(`${world.receiver.url}/ids`, 'appointment-booked', ['Appointment?actor=Practitioner/dr'], 'id-only'));
  await subscribe(world, backportSubscription(`${world.receiver.url}/empty`, 'appointment-booked', [], 'empty'));
  const handshake = JSON.parse(world.receiver.received[0]!.body);
  t.equal(param(handshake.entry[0].resource, 'type')?.valueCode, 'handshake');
  t.equal(param(handshake.entry[0].resource, 'topic')?.valueCanonical, TOPIC('appointment-booked'));

  await put(world, appointment('a1', 'proposed', 'p1')); // not booked: no event
  await put(world, appointment('a1', 'booked', 'p1')); // proposed → booked: event
  await put(world, appointment('a1', 'booked', 'p1', { comment: 'again' })); // still booked: no event
  // Another patient, at another time (the booking rule keeps Dr from two appointments at once): only the actor and unfiltered subscriptions.
  await put(world, appointment('a2', 'booked', 'p2', { start: '2027-01-04T10:00:00Z', end: '2027-01-04T10:30:00Z' }));
  const events = await eventually(async () => world.receiver.received.filter((r) => !r.body.includes('"handshake"')), (list) => list.length === 5);
  const by = (path: string) => events.filter((r) => r.path === path).map((r) => JSON.parse(r.body));
  t.equal(by('/hook/full').length, 1, 'the patient filter keeps out the other patient');
  t.equal(by('/hook/ids').length, 2);
  t.equal(by('/hook/empty').length, 2);

  const [fullBundle] = by('/hook/full');
  t.equal(fullBundle.type, 'history');
  const status = fullBundle.entry[0].resource;
  t.equal(param(status, 'type')?.valueCode, 'event-notification');
  t.equal(param(status, 'events-since-subscription-start')?.valueString, '1');
  t.equal(param(status, 'subscription')?.valueReference?.reference, `http://localhost:8080/fhir/Subscription/${full}`);
  const event = param(status, 'notification-event')!;
  t.equal(event.part!.find((p) => p.name === 'event-number')!.valueString, '1');
  t.equal(event.part!.find((p) => p.name === 'focus')!.valueReference!.reference, 'http://localhost:8080/fhir/Appointment/a1');
  t.equal(fullBundle.entry[1].resource.id, 'a1', 'full-resource: the focus itself');
  t.equal(fullBundle.entry[1].resource.status, 'booked');

  const ids = by('/hook/ids');
  t.same(ids.map((b) => param(b.entry[0].resource, 'notification-event')!.part!.find((p) => p.name === 'event-number')!.valueString), ['1', '2'], 'numbered per subscription, in order');
  t.equal(ids[1].entry[1].fullUrl, 'http://localhost:8080/fhir/Appointment/a2');
  t.notOk(ids[1].entry[1].resource, 'id-only: no resource');
  const empty = by('/hook/empty');
  t.equal(empty[0].entry.length, 1, 'empty: the status alone');
  t.notOk(param(empty[0].entry[0].resource, 'notification-event')!.part!.some((p) => p.name === 'focus'), 'empty: no focus');
});

t.test('the other topics fire on their transitions', async (t) => {
  const world = await startWorld();
  t.teardown(() => world.close());
  const topics = ['appointment-cancelled', 'appointment-changed', 'encounter-started', 'encounter-finished', 'referral-created', 'claim-submitted', 'claimresponse-issued', 'consent-changed'];
  for (const topic of topics) await subscribe(world, backportSubscription(`${world.receiver.url}/${topic}`, topic, [], 'id-only'));
  await subscribe(world, backportSubscription(`${world.receiver.url}/resource-changed`, 'resource-changed', ['Observation?resourceType=Observation&status=final'], 'id-only'));
  const handshakes = world.receiver.received.length;

  await put(world, appointment('a1', 'booked', 'p1'));
  await put(world, appointment('a1', 'booked', 'p1', { start: '2027-01-04T10:00:00Z', end: '2027-01-04T10:30:00Z' })); // changed
  await put(world, appointment('a1', 'cancelled', 'p1', { start: '2027-01-04T10:00:00Z', end: '2027-01-04T10:30:00Z' })); // cancelled
  await put(world, { resourceType: 'Encounter', id: 'e1', status: 'planned', class: { code: 'AMB' }, subject: { reference: 'Patient/p1' } } as never);
  await put(world, { resourceType: 'Encounter', id: 'e1', status: 'in-progress', class: { code: 'AMB' }, subject: { reference: 'Patient/p1' } } as never); // started
  await put(world, { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p1' } } as never); // finished
  await put(world, { resourceType: 'ServiceRequest', id: 's1', status: 'active', intent: 'order', subject: { reference: 'Patient/p1' }, performer: [{ reference: 'Practitioner/dr' }] } as never);
  await put(world, { resourceType: 'ServiceRequest', id: 's2', status: 'active', intent: 'order', subject: { reference: 'Patient/p1' } } as never); // no performer
  await put(world, { resourceType: 'Consent', id: 'c1', status: 'active', scope: { coding: [{ code: 'patient-privacy' }] }, category: [{ coding: [{ code: '59284-0' }] }], patient: { reference: 'Patient/p1' }, policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] } } as never);
  await world.request({ method: 'DELETE', url: '/fhir/Consent/c1' });
  await put(world, { resourceType: 'Observation', id: 'o1', status: 'preliminary', code: { text: 'x' } } as never);
  await put(world, { resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' } } as never);
  const expected: Record<string, number> = {
    'appointment-cancelled': 1, 'appointment-changed': 1, 'encounter-started': 1, 'encounter-finished': 1, 'referral-created': 1, 'consent-changed': 2, 'resource-changed': 1,
  };
  const total = Object.values(expected).reduce((a, b) => a + b, 0);
  await eventually(async () => world.receiver.received.length - handshakes, (n) => n >= total);
  await new Promise((resolve) => setTimeout(resolve, 150));
  const counts: Record<string, number> = {};
  for (const r of world.receiver.received.slice(handshakes)) counts[r.path.slice('/hook/'.length)] = (counts[r.path.slice('/hook/'.length)] ?? 0) + 1;
  t.same(counts, expected, 'each topic saw exactly its transitions');
});

t.test('bad backport subscriptions are refused with 422 or 400', async (t) => {
  const world = await startWorld();
  t.teardown(() => world.close());
  const post = (body: Record<string, unknown>) => world.request({ method: 'POST', url: '/fhir/Subscription', headers: fhirJson, payload: body });
  const unknownTopic = await post(backportSubscription(world.receiver.url, 'no-such-topic', []));
  t.equal(unknownTopic.statusCode, 422);
  const badFilter = await post(backportSubscription(world.receiver.url, 'appointment-booked', ['Appointment?identifier=x']));
  t.equal(badFilter.statusCode, 422, 'a filter the topic does not offer');
  t.match(badFilter.body, /canFilterBy/);
  const otherType = await post(backportSubscription(world.receiver.url, 'appointment-booked', ['Encounter?patient=Patient/1']));
  t.equal(otherType.statusCode, 422);
  const unknownParam = await post({ resourceType: 'Subscription', status: 'requested', reason: 'x', criteria: 'Patient?nonsense=1', channel: { type: 'rest-hook', endpoint: world.receiver.url } });
  t.equal(unknownParam.statusCode, 400, 'an unknown search parameter: the parser says 400');
  const unknownType = await post({ resourceType: 'Subscription', status: 'requested', reason: 'x', criteria: 'Nothing?a=b', channel: { type: 'rest-hook', endpoint: world.receiver.url } });
  t.equal(unknownType.statusCode, 422);
  const badChannel = await post({ resourceType: 'Subscription', status: 'requested', reason: 'x', criteria: 'Patient', channel: { type: 'email', endpoint: 'mailto:a@b' } });
  t.equal(badChannel.statusCode, 422);
  // The channel settings: a value that is not a whole number above 0, in the IG's value type, is refused rather than dropped.
  const setting = (name: string, value: Record<string, unknown>) =>
    post(backportSubscription(world.receiver.url, 'appointment-booked', [], 'empty', [{ url: `http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/${name}`, ...value }]));
  for (const [name, value] of [
    ['backport-timeout', { valueUnsignedInt: 0 }],
    ['backport-timeout', { valueString: '30' }],
    ['backport-heartbeat-period', { valueUnsignedInt: 0 }],
    ['backport-heartbeat-period', { valueUnsignedInt: 1.5 }],
    ['backport-max-count', { valuePositiveInt: 0 }],
    ['backport-max-count', { valueInteger: -3 }],
  ] as const) {
    const refused = await setting(name, value);
    t.equal(refused.statusCode, 422, `${name} ${JSON.stringify(value)}`);
    // The validator refuses values outside their datatype first (naming the element); the channel reader names the setting.
    t.match(refused.body, new RegExp(`${name}|channel\.extension`), 'the outcome names the setting or its element');
  }
  const accepted = await setting('backport-max-count', { valuePositiveInt: 5 });
  t.equal(accepted.statusCode, 201, 'a valid setting is taken');
});

t.test('heartbeats at the heartbeat period when idle', async (t) => {
  const world = await startWorld();
  t.teardown(() => world.close());
  const heartbeatPeriod = { url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period', valueUnsignedInt: 1 };
  await subscribe(world, backportSubscription(world.receiver.url, 'consent-changed', [], 'empty', [heartbeatPeriod]));
  const started = Date.now();
  const [, first, second] = await world.receiver.waitFor(3, 5000);
  const types = [first, second].map((r) => param(JSON.parse(r!.body).entry[0].resource, 'type')!.valueCode);
  t.same(types, ['heartbeat', 'heartbeat']);
  t.ok(second!.at - first!.at >= 900, `about a period apart (${second!.at - first!.at} ms)`);
  t.ok(first!.at - started >= 900, 'not before a whole idle period');
});
