/**
 * Write skew under real concurrency: parallel HTTP requests (a listening
 * server, fetch) race to book, with exact counts of the outcomes.
 */
import t, { type Test } from 'tap';
import { startHarness, type Harness } from '../http/harness';
import { appointment, appointmentCount, at, loadClinic, slotId } from './clinic';

const PARALLEL = 20;

async function listening(t: Test, schedules: number): Promise<{ h: Harness; url: string }> {
  const h = await startHarness({ scheduling: { clock: () => new Date(at('08:00')) } });
  t.teardown(h.close);
  await loadClinic(h, schedules, ['09:00']);
  const patients = Array.from({ length: PARALLEL }, (_, i) => ({ resource: { resourceType: 'Patient', id: `r${i}` }, request: { method: 'PUT', url: `Patient/r${i}` } }));
  await h.request({ method: 'POST', url: '/fhir', headers: { 'content-type': 'application/fhir+json' }, payload: { resourceType: 'Bundle', type: 'transaction', entry: patients } });
  const address = await h.app.listen({ port: 0, host: '127.0.0.1' });
  return { h, url: `${address}/fhir` };
}

async function bookAll(url: string, appointments: Array<Record<string, unknown>>): Promise<number[]> {
  const responses = await Promise.all(
    appointments.map((resource) =>
      fetch(`${url}/Appointment/$book`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'appointment-resource', resource }] }),
      }),
    ),
  );
  await Promise.all(responses.map((response) => response.text()));
  return responses.map((response) => response.status);
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

t.test(`${PARALLEL} parallel $book of one slot: one booking, ${PARALLEL - 1} conflicts`, async (t) => {
  const { h, url } = await listening(t, 1);
  const statuses = await bookAll(
    url,
    Array.from({ length: PARALLEL }, (_, i) => appointment({ status: 'proposed', slots: [slotId(1, '09:00')], patient: `Patient/r${i}` })),
  );
  t.equal(count(statuses, 201), 1);
  t.equal(count(statuses, 409), PARALLEL - 1);
  t.equal(await appointmentCount(h, '&status=booked'), 1, 'one stored');
});

t.test(`${PARALLEL} parallel bookings of one patient into overlapping slots of different practitioners: exactly one`, async (t) => {
  const { h, url } = await listening(t, PARALLEL);
  const statuses = await bookAll(
    url,
    Array.from({ length: PARALLEL }, (_, i) =>
      appointment({ status: 'proposed', slots: [slotId(i + 1, '09:00')], patient: 'Patient/p1', practitioner: `Practitioner/pr${i + 1}` }),
    ),
  );
  t.equal(count(statuses, 201), 1);
  t.equal(count(statuses, 409), PARALLEL - 1);
  t.equal(await appointmentCount(h, '&status=booked'), 1);
});

t.test(`${PARALLEL} parallel bookings of distinct slots and patients all succeed`, async (t) => {
  const { h, url } = await listening(t, PARALLEL);
  const statuses = await bookAll(
    url,
    Array.from({ length: PARALLEL }, (_, i) =>
      appointment({ status: 'proposed', slots: [slotId(i + 1, '09:00')], patient: `Patient/r${i}`, practitioner: `Practitioner/pr${i + 1}` }),
    ),
  );
  t.equal(count(statuses, 201), PARALLEL);
  t.equal(await appointmentCount(h, '&status=booked'), PARALLEL);
});
