/**
 * `$find`, `$hold` and `$book` over HTTP, with a clock the test moves:
 * parameters and their 400s, what $find offers and leaves out, hold expiry
 * before and after the sweep, booking, cancel then re-book, idempotent
 * retries.
 */
import t, { type Test } from 'tap';
import { HOLD_EXPIRES_URL } from '../../src/scheduling/appointment-state';
import { fhirJson, startHarness, type Harness } from '../http/harness';
import { appointmentCount, at, loadClinic, postAppointment, slotId, slotStatus } from './clinic';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface World {
  h: Harness;
  setNow(iso: string): void;
}

async function world(t: Test, holdSeconds = 600): Promise<World> {
  let now = new Date(at('08:00'));
  const h = await startHarness({ scheduling: { clock: () => now, holdSeconds } });
  t.teardown(h.close);
  await loadClinic(h);
  return { h, setNow: (iso) => (now = new Date(iso)) };
}

const find = (h: Harness, query: string) => h.request({ method: 'GET', url: `/fhir/Appointment/$find?${query}` });
const window = `start=${at('08:00')}&end=${at('12:00')}`;
const offeredSlots = (response: { json(): unknown }) => ((response.json() as Json).entry ?? []).map((e: Json) => (e.resource.slot[0].reference as string).slice(5));

const parameters = (parts: Json[]) => ({ resourceType: 'Parameters', parameter: parts });
const op = (h: Harness, code: string, parts: Json[], headers: Record<string, string> = {}) =>
  h.request({ method: 'POST', url: `/fhir/Appointment/$${code}`, headers: { ...fhirJson, ...headers }, payload: parameters(parts) });

async function firstProposal(h: Harness, query: string, patient = 'Patient/p1'): Promise<Json> {
  const response = await find(h, `${query}&patient-reference=${patient}`);
  return (response.json() as Json).entry[0].resource as Json;
}

t.test('$find: parameters and their 400s', async (t) => {
  const { h } = await world(t);
  t.equal((await find(h, `start=${at('08:00')}`)).statusCode, 400, 'end missing');
  t.equal((await find(h, `start=${at('10:00')}&end=${at('09:00')}`)).statusCode, 400, 'end before start');
  t.equal((await find(h, `start=2030-03-01T00:00:00Z&end=2030-04-02T00:00:00Z`)).statusCode, 400, 'more than 31 days');
  t.equal((await find(h, `start=tomorrow&end=${at('09:00')}`)).statusCode, 400, 'not a dateTime');
  t.equal((await find(h, `${window}&practitioner=Patient/p1`)).statusCode, 400, 'practitioner must be one');
  const post = await op(h, 'find', [
    { name: 'start', valueDateTime: at('08:00') },
    { name: 'end', valueDateTime: at('12:00') },
    { name: 'practitioner', valueReference: { reference: 'Practitioner/pr2' } },
  ]);
  t.equal(post.statusCode, 200, 'POST with Parameters');
  t.same(offeredSlots(post), ['0900', '0915', '0930', '0945'].map((hhmm) => `slot-2-${hhmm}`));
});

t.test('$find: free slots of active schedules, sorted, filtered; held, booked and overlapping ones left out', async (t) => {
  const { h, setNow } = await world(t);
  const all = await find(h, window);
  t.equal(all.statusCode, 200);
  const body = all.json() as Json;
  t.equal(body.type, 'searchset');
  const starts = body.entry.map((e: Json) => e.resource.start as string);
  t.same(starts, [...starts].sort(), 'sorted by start');
  t.equal(body.entry.length, 8);
  const first = body.entry[0].resource as Json;
  t.equal(first.status, 'proposed');
  t.ok(first.serviceType, 'serviceType from the schedule');
  t.same(first.participant.map((p: Json) => p.actor.reference).sort(), ['Location/building', 'Practitioner/pr1']);
  t.equal(await appointmentCount(h), 0, 'nothing stored');

  t.same(offeredSlots(await find(h, `${window}&service-type=57`)), ['0900', '0915', '0930', '0945'].map((x) => `slot-2-${x}`), 'service-type');
  t.same(offeredSlots(await find(h, `${window}&specialty=http://snomed.info/sct|394814009&_count=2`)), ['slot-1-0900', 'slot-1-0915'], 'specialty and _count');
  t.same(offeredSlots(await find(h, `${window}&location-reference=Location/room-1`)), [], 'no schedule of that location');

  await postAppointment(h, { slots: [slotId(1, '09:00')] });
  await postAppointment(h, { slots: [slotId(2, '09:15')], patient: 'Patient/p2', practitioner: 'Practitioner/pr2', start: at('09:15'), end: at('09:30') });
  const pr1 = offeredSlots(await find(h, `${window}&practitioner=Practitioner/pr1`));
  t.same(pr1, ['slot-1-0915', 'slot-1-0930', 'slot-1-0945'], 'the booked slot is left out');
  const forP1 = offeredSlots(await find(h, `${window}&practitioner=Practitioner/pr2&patient-reference=Patient/p1`));
  t.same(forP1, ['slot-2-0930', 'slot-2-0945'], "the patient's own booked time and the practitioner's are left out");
  const proposal = (await find(h, `${window}&practitioner=Practitioner/pr2&patient-reference=Patient/p1`)).json() as Json;
  t.ok(proposal.entry[0].resource.participant.some((p: Json) => p.actor.reference === 'Patient/p1'), 'the patient is a participant');
  t.notMatch(JSON.stringify(proposal), /Patient\/p2/, 'never another patient');

  setNow(at('09:20'));
  t.same(offeredSlots(await find(h, `${window}&practitioner=Practitioner/pr1`)), ['slot-1-0930', 'slot-1-0945'], 'slots already started are not offered');
});

t.test('$hold: pending, busy-tentative, expiry in the extension; lapses at the instant, swept later; survives restart', async (t) => {
  const { h, setNow } = await world(t, 600);
  const proposal = await firstProposal(h, `${window}&practitioner=Practitioner/pr1`);
  const held = await op(h, 'hold', [{ name: 'appointment-resource', resource: proposal }]);
  t.equal(held.statusCode, 201);
  const hold = held.json() as Json;
  t.equal(hold.status, 'pending');
  t.equal(hold.extension.find((e: Json) => e.url === HOLD_EXPIRES_URL).valueInstant, at('08:10'), 'SCHEDULING_HOLD_SECONDS after now');
  t.equal(await slotStatus(h, 'slot-1-0900'), 'busy-tentative');
  t.notOk(offeredSlots(await find(h, `${window}&practitioner=Practitioner/pr1`)).includes('slot-1-0900'), '$find leaves it out');

  const taken = await op(h, 'hold', [{ name: 'appointment-resource', resource: await firstProposal(h, `${window}&practitioner=Practitioner/pr2`, 'Patient/p2') }]);
  t.equal(taken.statusCode, 201, 'another slot, another patient');
  const same = await op(h, 'hold', [{ name: 'appointment-resource', resource: { ...proposal, participant: [...proposal.participant.slice(0, -1), { actor: { reference: 'Patient/p2' }, status: 'needs-action' }] } }]);
  t.equal(same.statusCode, 409, 'a held slot is taken');

  t.equal((await op(h, 'hold', [{ name: 'appointment-resource', resource: { ...proposal, status: 'booked' } }])).statusCode, 400, 'only proposed');

  setNow(at('08:10'));
  t.ok(offeredSlots(await find(h, `${window}&practitioner=Practitioner/pr1`)).includes('slot-1-0900'), 'lapsed: offered again before any sweep');
  t.equal(await slotStatus(h, 'slot-1-0900'), 'busy-tentative', 'not yet swept');
});

t.test("the server's sweeper runs on its own timer", async (t) => {
  let now = new Date(at('08:00'));
  const h = await startHarness({ scheduling: { clock: () => now, holdSeconds: 600, sweepIntervalMs: 50 } });
  t.teardown(h.close);
  await loadClinic(h);
  const proposal = await firstProposal(h, `${window}&practitioner=Practitioner/pr1`);
  t.equal((await op(h, 'hold', [{ name: 'appointment-resource', resource: proposal }])).statusCode, 201);
  now = new Date(at('08:10'));
  for (let waited = 0; waited < 5000 && (await slotStatus(h, 'slot-1-0900')) !== 'free'; waited += 50) await new Promise((r) => setTimeout(r, 50));
  t.equal(await slotStatus(h, 'slot-1-0900'), 'free', 'swept without being asked');
  t.equal(await appointmentCount(h, '&status=cancelled'), 1);
});

t.test('the sweeper cancels lapsed holds and frees their slots, also after a restart', async (t) => {
  const { h, setNow } = await world(t, 600);
  const { sweepLapsedHolds } = await import('../../src/scheduling/hold-sweeper');
  const proposal = await firstProposal(h, `${window}&practitioner=Practitioner/pr1`);
  const hold = (await op(h, 'hold', [{ name: 'appointment-resource', resource: proposal }])).json() as Json;
  t.equal(await sweepLapsedHolds(h.storage, 'http://localhost:8080/fhir', () => new Date(at('08:09'))), 0, 'not lapsed yet');
  setNow(at('08:11'));
  // A fresh sweeper, as a restarted server starts one: the expiry is in the stored Appointment.
  t.equal(await sweepLapsedHolds(h.storage, 'http://localhost:8080/fhir', () => new Date(at('08:11'))), 1);
  const stored = (await h.request({ method: 'GET', url: `/fhir/Appointment/${String(hold.id)}` })).json() as Json;
  t.equal(stored.status, 'cancelled');
  t.equal(await slotStatus(h, 'slot-1-0900'), 'free');
});

t.test('$book: proposed, a hold by reference or resource; Bundle of Appointment and Slots; 409 names the slot', async (t) => {
  const { h } = await world(t);
  const proposal = await firstProposal(h, `${window}&practitioner=Practitioner/pr1`);
  const booked = await op(h, 'book', [{ name: 'appointment-resource', resource: proposal }, { name: 'comment', valueString: 'first visit' }]);
  t.equal(booked.statusCode, 201);
  const bundle = booked.json() as Json;
  t.same(bundle.entry.map((e: Json) => e.resource.resourceType), ['Appointment', 'Slot']);
  t.equal(bundle.entry[0].resource.status, 'booked');
  t.equal(bundle.entry[0].resource.comment, 'first visit');
  t.equal(bundle.entry[1].resource.status, 'busy');

  const again = await op(h, 'book', [{ name: 'appointment-resource', resource: { ...proposal, participant: [{ actor: { reference: 'Patient/p2' }, status: 'needs-action' }, proposal.participant[0]] } }]);
  t.equal(again.statusCode, 409);
  t.equal((again.json() as Json).issue[0].code, 'conflict');
  t.match(JSON.stringify(again.json()), /Slot\/slot-1-0900/);
  t.equal(await appointmentCount(h), 1, 'nothing written');

  const second = await firstProposal(h, `${window}&practitioner=Practitioner/pr2`, 'Patient/p2');
  const hold = (await op(h, 'hold', [{ name: 'appointment-resource', resource: second }])).json() as Json;
  const byReference = await op(h, 'book', [{ name: 'appointment-reference', valueReference: { reference: `Appointment/${String(hold.id)}` } }]);
  t.equal(byReference.statusCode, 201);
  const bookedHold = (byReference.json() as Json).entry[0].resource as Json;
  t.equal(bookedHold.id, hold.id, 'the hold itself is booked');
  t.notOk((bookedHold.extension ?? []).some((e: Json) => e.url === HOLD_EXPIRES_URL), 'no expiry once booked');
  t.equal(await slotStatus(h, String(second.slot[0].reference).slice(5)), 'busy');

  const third = await firstProposal(h, `${window}&practitioner=Practitioner/pr2`, 'Patient/p2');
  const hold3 = (await op(h, 'hold', [{ name: 'appointment-resource', resource: third }])).json() as Json;
  t.equal((await op(h, 'book', [{ name: 'appointment-resource', resource: hold3 }])).statusCode, 201, 'a hold sent as resource, with its id');
  t.equal(await appointmentCount(h), 3, 'holds became bookings, not new appointments');

  t.equal((await op(h, 'book', [])).statusCode, 400, 'neither resource nor reference');
  t.equal((await op(h, 'book', [{ name: 'appointment-resource', resource: { ...proposal, status: 'booked' } }])).statusCode, 400, 'only proposed or pending');
  t.equal((await op(h, 'book', [{ name: 'appointment-reference', valueReference: { reference: 'Appointment/nope' } }])).statusCode, 404);
});

t.test('$book: an expired hold is a new booking; cancel then re-book', async (t) => {
  const { h, setNow } = await world(t, 600);
  const proposal = await firstProposal(h, `${window}&practitioner=Practitioner/pr1`);
  const hold = (await op(h, 'hold', [{ name: 'appointment-resource', resource: proposal }])).json() as Json;
  setNow(at('08:15'));
  const late = await op(h, 'book', [{ name: 'appointment-reference', valueReference: { reference: `Appointment/${String(hold.id)}` } }]);
  t.equal(late.statusCode, 201, 'lapsed but still free: booked');

  const other = await firstProposal(h, `${window}&practitioner=Practitioner/pr2`, 'Patient/p2');
  const hold2 = (await op(h, 'hold', [{ name: 'appointment-resource', resource: other }])).json() as Json;
  setNow(at('08:30'));
  const thief = await op(h, 'book', [{ name: 'appointment-resource', resource: { ...other, participant: [other.participant[0], { actor: { reference: 'Patient/p1' }, status: 'needs-action' }] } }]);
  t.equal(thief.statusCode, 409, 'p1 overlaps its own 09:00 booking');
  const taker = await postAppointment(h, { slots: [String(other.slot[0].reference).slice(5)], patient: 'Patient/p2', practitioner: 'Practitioner/pr2' });
  t.equal(taker.statusCode, 201, 'someone books the lapsed hold slot');
  const tooLate = await op(h, 'book', [{ name: 'appointment-reference', valueReference: { reference: `Appointment/${String(hold2.id)}` } }]);
  t.equal(tooLate.statusCode, 409, 'the lapsed hold is 409 once its slot is taken');

  const booked = (late.json() as Json).entry[0].resource as Json;
  const cancel = await h.request({ method: 'PUT', url: `/fhir/Appointment/${String(booked.id)}`, headers: fhirJson, payload: { ...booked, status: 'cancelled' } });
  t.equal(cancel.statusCode, 200);
  t.ok(offeredSlots(await find(h, `${window}&practitioner=Practitioner/pr1`)).includes('slot-1-0900'), 'a freed slot is found at once');
  const rebook = await op(h, 'book', [{ name: 'appointment-resource', resource: proposal }]);
  t.equal(rebook.statusCode, 201, 're-booked');
});

t.test('$book idempotency: header or identifier, per principal; same is 200 with the first, different is 409', async (t) => {
  const { h, setNow } = await world(t);
  const proposal = await firstProposal(h, `${window}&practitioner=Practitioner/pr1`);
  const first = await op(h, 'book', [{ name: 'appointment-resource', resource: proposal }], { 'idempotency-key': 'k-1' });
  t.equal(first.statusCode, 201);
  const retry = await op(h, 'book', [{ name: 'appointment-resource', resource: proposal }], { 'idempotency-key': 'k-1' });
  t.equal(retry.statusCode, 200, 'the same booking again');
  t.equal((retry.json() as Json).entry[0].resource.id, (first.json() as Json).entry[0].resource.id, 'the first booking');
  t.equal(await appointmentCount(h), 1);

  const other = await firstProposal(h, `${window}&practitioner=Practitioner/pr2`, 'Patient/p2');
  const differs = await op(h, 'book', [{ name: 'appointment-resource', resource: other }], { 'idempotency-key': 'k-1' });
  t.equal(differs.statusCode, 409, 'the key with another booking');
  t.equal(await appointmentCount(h), 1);

  const withIdentifier = { ...other, identifier: [{ system: 'urn:desk', value: 'req-7' }] };
  t.equal((await op(h, 'book', [{ name: 'appointment-resource', resource: withIdentifier }])).statusCode, 201);
  t.equal((await op(h, 'book', [{ name: 'appointment-resource', resource: withIdentifier }])).statusCode, 200, 'the identifier as key');

  setNow(new Date(Date.parse(at('08:00')) + 25 * 3600 * 1000).toISOString());
  const expired = await op(h, 'book', [{ name: 'appointment-resource', resource: proposal }], { 'idempotency-key': 'k-1' });
  t.equal(expired.statusCode, 409, 'after 24 h the key is forgotten: a new booking, refused because the slot is taken');
});

t.test('$book in bundles: a transaction booking one slot twice fails whole; batch entries each keep the rule', async (t) => {
  const { h } = await world(t);
  const proposal = await firstProposal(h, `${window}&practitioner=Practitioner/pr1`);
  const forPatient = (patient: string) => ({
    request: { method: 'POST', url: 'Appointment/$book' },
    resource: parameters([{ name: 'appointment-resource', resource: { ...proposal, participant: [...proposal.participant.slice(0, -1), { actor: { reference: patient }, status: 'needs-action' }] } }]),
  });
  const send = (type: string) =>
    h.request({ method: 'POST', url: '/fhir', headers: fhirJson, payload: { resourceType: 'Bundle', type, entry: [forPatient('Patient/p1'), forPatient('Patient/p2')] } });
  const transaction = await send('transaction');
  t.equal(transaction.statusCode, 409, 'the second booking of the slot fails the transaction');
  t.equal(await appointmentCount(h), 0, 'nothing written');
  t.equal(await slotStatus(h, 'slot-1-0900'), 'free');
  const batch = await send('batch');
  t.equal(batch.statusCode, 200);
  const statuses = ((batch.json() as Json).entry as Json[]).map((e) => String(e.response.status).slice(0, 3)).sort();
  t.same(statuses, ['201', '409'], 'one entry books, the other is refused');
  t.equal(await appointmentCount(h, '&status=booked'), 1);
  t.equal(await slotStatus(h, 'slot-1-0900'), 'busy');
});

t.test("$find shows only free time, never another patient's Appointment", async (t) => {
  const { h } = await world(t);
  const booked = await op(h, 'book', [{ name: 'appointment-resource', resource: await firstProposal(h, `${window}&practitioner=Practitioner/pr1`, 'Patient/p1') }]);
  t.equal(booked.statusCode, 201);
  const appointmentId = ((booked.json() as Json).entry[0].resource as Json).id as string;
  const answer = (await find(h, `${window}&patient-reference=Patient/p2`)).body;
  t.notMatch(answer, 'Patient/p1', "the other patient is never named");
  t.notMatch(answer, appointmentId, 'nor their Appointment');
  t.notOk(offeredSlots({ json: () => JSON.parse(answer) as unknown }).includes('slot-1-0900'), 'their slot is simply not offered');
});

t.test("the hold's expiry extension is documented in the served OperationDefinition and the CapabilityStatement", async (t) => {
  const { h } = await world(t);
  const definition = await h.request({ method: 'GET', url: '/fhir/OperationDefinition/Appointment-hold' });
  t.equal(definition.statusCode, 200);
  t.match(JSON.stringify(definition.json()), HOLD_EXPIRES_URL, 'the definition names the extension');
  const metadata = (await h.request({ method: 'GET', url: '/fhir/metadata' })).json() as Json;
  const appointment = (metadata.rest[0].resource as Json[]).find((r) => r.type === 'Appointment');
  const hold = (appointment?.operation as Json[] | undefined)?.find((o) => o.name === 'hold');
  t.match(JSON.stringify(hold), HOLD_EXPIRES_URL, "and so does the CapabilityStatement's entry");
});
