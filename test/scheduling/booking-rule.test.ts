/**
 * The booking rule (src/scheduling/booking-rule.ts) on every REST and
 * bundle path that could double-book: one active Appointment per Slot, no
 * overlapping active Appointments per participant, Slot status in step; a
 * write that breaks a rule is 409 and writes nothing.
 */
import t, { type Test } from 'tap';
import { HOLD_EXPIRES_URL } from '../../src/scheduling/appointment-state';
import { fhirJson, startHarness, type Harness } from '../http/harness';
import { appointment, appointmentCount, at, loadClinic, postAppointment, slotId, slotStatus } from './clinic';

const s1 = slotId(1, '09:00');
const s1b = slotId(1, '09:15');
const s2 = slotId(2, '09:00');

async function clinic(t: Test): Promise<Harness> {
  const h = await startHarness();
  t.teardown(h.close);
  await loadClinic(h);
  return h;
}

const conflictText = (response: { json(): unknown }) => JSON.stringify(response.json());

t.test('one active Appointment per Slot; the Slot follows its Appointment', async (t) => {
  const h = await clinic(t);
  const first = await postAppointment(h, { slots: [s1] });
  t.equal(first.statusCode, 201);
  t.equal(await slotStatus(h, s1), 'busy', 'booked: busy');

  const second = await postAppointment(h, { slots: [s1], patient: 'Patient/p2' });
  t.equal(second.statusCode, 409);
  t.equal((second.json() as { issue: Array<{ code: string }> }).issue[0]?.code, 'conflict');
  t.match(conflictText(second), new RegExp(`Slot/${s1}`), 'the answer names the slot');
  t.equal(await appointmentCount(h), 1, 'nothing written');

  const pending = await postAppointment(h, { slots: [s2], patient: 'Patient/p2', practitioner: 'Practitioner/pr2', status: 'pending' });
  t.equal(pending.statusCode, 201);
  t.equal(await slotStatus(h, s2), 'busy-tentative', 'pending: busy-tentative');
});

t.test('proposed holds nothing', async (t) => {
  const h = await clinic(t);
  t.equal((await postAppointment(h, { slots: [s1], status: 'proposed' })).statusCode, 201);
  t.equal((await postAppointment(h, { slots: [s1], status: 'proposed', patient: 'Patient/p2' })).statusCode, 201);
  t.equal(await slotStatus(h, s1), 'free');
  t.equal((await postAppointment(h, { slots: [s1], patient: 'Patient/p2' })).statusCode, 201, 'a booking is still possible');
});

t.test('participants: half-open intervals, declined, shared places', async (t) => {
  const h = await clinic(t);
  t.equal((await postAppointment(h, { slots: [s1], location: 'Location/room-1' })).statusCode, 201);
  const backToBack = await postAppointment(h, { slots: [s1b], start: at('09:15'), end: at('09:30') });
  t.equal(backToBack.statusCode, 201, 'back-to-back appointments of one patient both book');

  const overlapPatient = await postAppointment(h, { slots: [s2], practitioner: 'Practitioner/pr2' });
  t.equal(overlapPatient.statusCode, 409, 'the same patient in two places at once');
  t.match(conflictText(overlapPatient), /Patient\/p1/, 'the answer names the participant');

  const declined = await postAppointment(h, { slots: [s2], practitioner: 'Practitioner/pr2', declined: ['Patient/p1'] });
  t.equal(declined.statusCode, 201, 'a declined participant does not count');

  const room = await postAppointment(h, { patient: 'Patient/p2', practitioner: 'Practitioner/pr2', declined: ['Practitioner/pr2'], location: 'Location/room-1', start: at('09:05'), end: at('09:10') });
  t.equal(room.statusCode, 409, 'a room counts');
  t.match(conflictText(room), /Location\/room-1/);

  const building = await postAppointment(h, { patient: 'Patient/p2', practitioner: 'Practitioner/pr2', location: 'Location/building', start: at('10:00'), end: at('10:15') });
  t.equal(building.statusCode, 201);
  const sameBuilding = await postAppointment(h, { patient: 'Patient/p1', practitioner: 'Practitioner/pr1', location: 'Location/building', start: at('10:00'), end: at('10:15') });
  t.equal(sameBuilding.statusCode, 201, 'a building (physicalType bu) does not count');

  const practitioner = await postAppointment(h, { patient: 'Patient/p2', practitioner: 'Practitioner/pr1', start: at('09:10'), end: at('09:20') });
  t.equal(practitioner.statusCode, 409, 'a practitioner in two appointments at once');
});

t.test('cancel and delete free the Slots; re-booking succeeds', async (t) => {
  const h = await clinic(t);
  const booked = await postAppointment(h, { slots: [s1] });
  const body = booked.json() as Record<string, unknown>;
  const cancel = await h.request({ method: 'PUT', url: `/fhir/Appointment/${String(body.id)}`, headers: fhirJson, payload: { ...body, status: 'cancelled' } });
  t.equal(cancel.statusCode, 200);
  t.equal(await slotStatus(h, s1), 'free', 'cancelled: free');

  const rebooked = await postAppointment(h, { slots: [s1], patient: 'Patient/p2' });
  t.equal(rebooked.statusCode, 201);
  t.equal(await slotStatus(h, s1), 'busy');

  const reactivate = await h.request({
    method: 'PATCH',
    url: `/fhir/Appointment/${String(body.id)}`,
    headers: { 'content-type': 'application/json-patch+json' },
    payload: [{ op: 'replace', path: '/status', value: 'booked' }],
  });
  t.equal(reactivate.statusCode, 409, 'PATCH back to booked while the slot is taken');

  const deleted = await h.request({ method: 'DELETE', url: `/fhir/Appointment/${String((rebooked.json() as { id: string }).id)}` });
  t.equal(deleted.statusCode, 204);
  t.equal(await slotStatus(h, s1), 'free', 'deleted: free');

  for (const status of ['noshow', 'entered-in-error', 'fulfilled']) {
    const again = await postAppointment(h, { slots: [s1] });
    t.equal(again.statusCode, 201);
    const stored = again.json() as Record<string, unknown>;
    await h.request({ method: 'PUT', url: `/fhir/Appointment/${String(stored.id)}`, headers: fhirJson, payload: { ...stored, status } });
    t.equal(await slotStatus(h, s1), 'free', `${status} releases`);
  }
});

t.test('direct Slot writes may not contradict their Appointments', async (t) => {
  const h = await clinic(t);
  await postAppointment(h, { slots: [s1] });
  const slot = (await h.request({ method: 'GET', url: `/fhir/Slot/${s1}` })).json() as Record<string, unknown>;
  const freed = await h.request({ method: 'PUT', url: `/fhir/Slot/${s1}`, headers: fhirJson, payload: { ...slot, status: 'free' } });
  t.equal(freed.statusCode, 409, 'a held slot set free');
  const patched = await h.request({
    method: 'PATCH',
    url: `/fhir/Slot/${s1}`,
    headers: { 'content-type': 'application/json-patch+json' },
    payload: [{ op: 'replace', path: '/status', value: 'free' }],
  });
  t.equal(patched.statusCode, 409, 'the same by PATCH');
  t.equal((await h.request({ method: 'DELETE', url: `/fhir/Slot/${s1}` })).statusCode, 409, 'a held slot deleted');
  t.equal(await slotStatus(h, s1), 'busy', 'unchanged');

  const free = (await h.request({ method: 'GET', url: `/fhir/Slot/${s2}` })).json() as Record<string, unknown>;
  const blocked = await h.request({ method: 'PUT', url: `/fhir/Slot/${s2}`, headers: fhirJson, payload: { ...free, status: 'busy-unavailable' } });
  t.equal(blocked.statusCode, 200, 'blocking a free slot is allowed');
  const intoBlocked = await postAppointment(h, { slots: [s2], patient: 'Patient/p2', practitioner: 'Practitioner/pr2' });
  t.equal(intoBlocked.statusCode, 409, 'a blocked slot cannot be booked');
});

t.test('bundles: a transaction booking one slot twice fails whole; batch entries each keep the rule', async (t) => {
  const h = await clinic(t);
  const entry = (spec: Parameters<typeof appointment>[0]) => ({ resource: appointment(spec), request: { method: 'POST', url: 'Appointment' } });
  const transaction = await h.request({
    method: 'POST',
    url: '/fhir',
    headers: fhirJson,
    payload: { resourceType: 'Bundle', type: 'transaction', entry: [entry({ slots: [s1] }), entry({ slots: [s1], patient: 'Patient/p2' })] },
  });
  t.equal(transaction.statusCode, 409);
  t.equal(await appointmentCount(h), 0, 'nothing written');
  t.equal(await slotStatus(h, s1), 'free');

  const batch = await h.request({
    method: 'POST',
    url: '/fhir',
    headers: fhirJson,
    payload: { resourceType: 'Bundle', type: 'batch', entry: [entry({ slots: [s1] }), entry({ slots: [s1], patient: 'Patient/p2' })] },
  });
  t.equal(batch.statusCode, 200);
  const statuses = (batch.json() as { entry: Array<{ response: { status: string } }> }).entry.map((e) => e.response.status.slice(0, 3));
  t.same(statuses, ['201', '409']);
  t.equal(await appointmentCount(h), 1);

  const conditional = await h.request({
    method: 'POST',
    url: '/fhir/Appointment',
    headers: { ...fhirJson, 'if-none-exist': 'identifier=urn:x|other' },
    payload: appointment({ slots: [s1], patient: 'Patient/p2' }),
  });
  t.equal(conditional.statusCode, 409, 'conditional create');
  const conditionalUpdate = await h.request({
    method: 'PUT',
    url: '/fhir/Appointment?identifier=urn:x|other',
    headers: fhirJson,
    payload: appointment({ slots: [s1], patient: 'Patient/p2' }),
  });
  t.equal(conditionalUpdate.statusCode, 409, 'conditional update');
  t.equal(await appointmentCount(h), 1);

  const slotAndBooking = await h.request({
    method: 'POST',
    url: '/fhir',
    headers: fhirJson,
    payload: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { resourceType: 'Slot', id: 'new-slot', schedule: { reference: 'Schedule/sched-2' }, status: 'free', start: at('11:00'), end: at('11:15') }, request: { method: 'PUT', url: 'Slot/new-slot' } },
        entry({ slots: ['new-slot'], patient: 'Patient/p2', practitioner: 'Practitioner/pr2', start: at('11:00'), end: at('11:15') }),
      ],
    },
  });
  t.equal(slotAndBooking.statusCode, 200, 'a slot and its booking in one transaction');
  t.equal(await slotStatus(h, 'new-slot'), 'busy', 'the booking decides the new slot status');
});

t.test('a lapsed hold no longer blocks, swept or not', async (t) => {
  let now = new Date(at('08:00'));
  const h = await startHarness({ scheduling: { clock: () => now } });
  t.teardown(h.close);
  await loadClinic(h);
  const expires = [{ url: HOLD_EXPIRES_URL, valueInstant: at('08:10') }];
  t.equal((await postAppointment(h, { slots: [s1], status: 'pending', extension: expires })).statusCode, 201);
  t.equal((await postAppointment(h, { slots: [s1], patient: 'Patient/p2' })).statusCode, 409, 'held');
  now = new Date(at('08:10'));
  const booked = await postAppointment(h, { slots: [s1], patient: 'Patient/p2' });
  t.equal(booked.statusCode, 201, 'from the expiry instant the hold no longer blocks');
  t.equal(await slotStatus(h, s1), 'busy');
});
