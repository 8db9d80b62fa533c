/**
 * Scheduling under SMART tokens and the consent layer: Schedules and Slots
 * are not hidden by consent (except a Schedule of a Patient); `$hold` and
 * `$book` need Appointment create rights and follow the per-actor rules
 * (patient: own only; practitioner: patients it may see; system: anyone;
 * else 403); `$find` with patient-reference only for a patient the caller
 * may see; bookings audited with the patient's entity.
 */
import t, { type Test } from 'tap';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { BASE_URL, type SecureHarness } from '../security/auth-kit';
import { startSecureWorld } from '../bundle/secure-world';
import { at, clinicResources } from './clinic';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const PATIENT_P = { scope: 'patient/Appointment.cruds patient/Slot.rs patient/Schedule.rs patient/Patient.rs', fhirUser: 'Patient/p', patient: 'p' };
const GP = { scope: 'user/Appointment.cruds user/Slot.rs user/Schedule.rs user/Patient.rs', fhirUser: 'Practitioner/gp' };
const DESK = { scope: 'system/Appointment.cruds system/Slot.rs system/Schedule.rs' };
const READER = { scope: 'user/Appointment.rs user/Slot.rs user/Schedule.rs', fhirUser: 'Practitioner/gp' };

async function world(t: Test) {
  const { h } = await startSecureWorld(t);
  for (const resource of clinicResources(2)) {
    if (resource.resourceType === 'Patient') continue;
    await h.storage.update(systemContext(BASE_URL), resource as AnyResource);
  }
  await h.storage.update(systemContext(BASE_URL), { resourceType: 'Schedule', id: 'sched-of-q', active: true, actor: [{ reference: 'Patient/q' }] } as AnyResource);
  return h;
}

const window = `start=${at('08:00')}&end=${at('12:00')}`;

async function as(h: SecureHarness, claims: Json, method: string, url: string, payload?: unknown) {
  return h.as(await h.token(claims as never), { method, url, ...(payload !== undefined && { payload }) });
}

const proposalFor = (patient: string, slot = 'slot-1-0900') => ({
  resourceType: 'Appointment',
  status: 'proposed',
  slot: [{ reference: `Slot/${slot}` }],
  start: at(slot.endsWith('0900') ? '09:00' : '09:15'),
  end: at(slot.endsWith('0900') ? '09:15' : '09:30'),
  participant: [
    { actor: { reference: 'Practitioner/pr1' }, status: 'needs-action' },
    { actor: { reference: patient }, status: 'needs-action' },
  ],
});
const bookParameters = (appointment: unknown) => ({ resourceType: 'Parameters', parameter: [{ name: 'appointment-resource', resource: appointment }] });

t.test('Schedules and Slots are not hidden by consent; a Schedule of a Patient stays in the compartment', async (t) => {
  const h = await world(t);
  const slots = await as(h, PATIENT_P, 'GET', '/fhir/Slot?_count=50');
  t.equal(slots.statusCode, 200);
  t.equal((slots.json() as Json).entry?.length, 8, 'a patient sees every Slot');
  const schedules = await as(h, PATIENT_P, 'GET', '/fhir/Schedule?_count=50');
  const ids = ((schedules.json() as Json).entry ?? []).map((e: Json) => e.resource.id).sort();
  t.same(ids, ['sched-1', 'sched-2'], "practitioners' Schedules seen, another patient's hidden");
  const find = await as(h, PATIENT_P, 'GET', `/fhir/Appointment/$find?${window}`);
  t.equal(find.statusCode, 200);
  t.equal((find.json() as Json).entry.length, 8, '$find offers every free slot to a patient');
});

t.test('$find needs search rights on Slot and Schedule, and patient-reference a patient the caller may see', async (t) => {
  const h = await world(t);
  t.equal((await as(h, { scope: 'user/Appointment.rs', fhirUser: 'Practitioner/gp' }, 'GET', `/fhir/Appointment/$find?${window}`)).statusCode, 403);
  t.equal((await as(h, GP, 'GET', `/fhir/Appointment/$find?${window}&patient-reference=Patient/p`)).statusCode, 200, 'a treated patient');
  t.equal((await as(h, GP, 'GET', `/fhir/Appointment/$find?${window}&patient-reference=Patient/q`)).statusCode, 403, 'an untreated patient');
  t.equal((await as(h, PATIENT_P, 'GET', `/fhir/Appointment/$find?${window}&patient-reference=Patient/p`)).statusCode, 200, 'oneself');
  t.equal((await as(h, PATIENT_P, 'GET', `/fhir/Appointment/$find?${window}&patient-reference=Patient/q`)).statusCode, 403, 'another patient');
});

t.test('$book and $hold per actor', async (t) => {
  const h = await world(t);
  t.equal((await as(h, PATIENT_P, 'POST', '/fhir/Appointment/$book', bookParameters(proposalFor('Patient/q')))).statusCode, 403, 'a patient for another');
  t.equal((await as(h, PATIENT_P, 'POST', '/fhir/Appointment/$hold', bookParameters(proposalFor('Patient/q')))).statusCode, 403, 'a patient holds for another');
  t.equal((await as(h, PATIENT_P, 'POST', '/fhir/Appointment/$book', bookParameters(proposalFor('Patient/p')))).statusCode, 201, 'a patient for itself');
  t.equal((await as(h, GP, 'POST', '/fhir/Appointment/$book', bookParameters(proposalFor('Patient/q', 'slot-1-0915')))).statusCode, 403, 'a practitioner for an untreated patient');
  t.equal((await as(h, READER, 'POST', '/fhir/Appointment/$book', bookParameters(proposalFor('Patient/p', 'slot-1-0915')))).statusCode, 403, 'no create right');
  t.equal((await as(h, DESK, 'POST', '/fhir/Appointment/$book', bookParameters(proposalFor('Patient/q', 'slot-1-0915')))).statusCode, 201, 'a system client for anyone');
  const count = await h.storage.search(systemContext(BASE_URL), { types: ['Appointment'], where: [], sort: [], count: 100, offset: 0, total: 'accurate' });
  t.equal(count.total, 2, 'refusals wrote nothing');
});

t.test('a booking is audited with the patient as entity', async (t) => {
  const h = await world(t);
  t.equal((await as(h, GP, 'POST', '/fhir/Appointment/$book', bookParameters(proposalFor('Patient/p')))).statusCode, 201);
  await h.app.auditTrail.flush();
  const events = await h.storage.search(systemContext(BASE_URL), { types: ['AuditEvent'], where: [], sort: [], count: 100, offset: 0, total: 'none' });
  const booking = events.records.map((r) => r.resource as unknown as Json).find((event) => JSON.stringify(event).includes('$book'));
  t.ok(booking, 'an AuditEvent for the booking');
  const entities = (booking?.entity ?? []).map((e: Json) => [e.what?.reference, e.role?.code]);
  t.ok(entities.some(([ref, role]: string[]) => ref === 'Patient/p' && role === '1'), 'the patient, role 1');
  t.ok(entities.some(([ref]: string[]) => String(ref).startsWith('Appointment/')), 'the Appointment');
});

const OTHER = { scope: 'user/Appointment.c user/Slot.rs user/Schedule.rs', fhirUser: 'Practitioner/other' };
const proposalWith = (practitioner: string, patient: string, extra: Json = {}) => ({
  ...proposalFor(patient),
  participant: [
    { actor: { reference: practitioner }, status: 'needs-action' },
    { actor: { reference: patient }, status: 'needs-action' },
  ],
  ...extra,
});

t.test('a plain POST of an Appointment follows the same actors', async (t) => {
  const h = await world(t);
  const plain = (patient: string) => ({ resourceType: 'Appointment', status: 'proposed', participant: [{ actor: { reference: patient }, status: 'needs-action' }] });
  t.equal((await as(h, PATIENT_P, 'POST', '/fhir/Appointment', plain('Patient/q'))).statusCode, 403, 'a patient for another');
  t.equal((await as(h, PATIENT_P, 'POST', '/fhir/Appointment', plain('Patient/p'))).statusCode, 201, 'a patient for itself');
  t.equal((await as(h, GP, 'POST', '/fhir/Appointment', plain('Patient/p'))).statusCode, 201, 'a practitioner for a treated patient');
  // A hidden patient and a missing one answer alike: the same refusal, word for word (no existence oracle).
  const hidden = await as(h, GP, 'POST', '/fhir/Appointment', plain('Patient/q'));
  const missing = await as(h, GP, 'POST', '/fhir/Appointment', plain('Patient/nobody'));
  t.equal(hidden.statusCode, 403, 'a practitioner naming a patient it may not see: a refusal');
  t.equal(missing.statusCode, 403, 'a practitioner naming a patient that does not exist: the same refusal');
  t.same(missing.json(), hidden.json(), 'the same OperationOutcome');
  t.equal((hidden.json() as Json).issue[0].code, 'forbidden');
  const update = await as(h, GP, 'PUT', '/fhir/Appointment/by-gp', { ...plain('Patient/q'), id: 'by-gp' });
  t.equal(update.statusCode, 403, 'an update (create by PUT) too');
  const entry = { resource: plain('Patient/q'), request: { method: 'POST', url: 'Appointment' } };
  const transaction = await as(h, GP, 'POST', '/fhir', { resourceType: 'Bundle', type: 'transaction', entry: [entry] });
  t.equal(transaction.statusCode, 403, 'a transaction entry too');
  // Other references keep the integrity check's 422, and a system client (which sees every patient) learns nothing new from it.
  const noSlot = { ...plain('Patient/p'), slot: [{ reference: 'Slot/nowhere' }] };
  t.equal((await as(h, GP, 'POST', '/fhir/Appointment', noSlot)).statusCode, 422, 'a missing Slot is still 422');
  t.equal((await as(h, DESK, 'POST', '/fhir/Appointment', plain('Patient/nobody'))).statusCode, 422, 'a system client naming a missing patient: 422');
  const count = await h.storage.search(systemContext(BASE_URL), { types: ['Appointment'], where: [], sort: [], count: 100, offset: 0, total: 'accurate' });
  t.equal(count.total, 2, 'refusals wrote nothing');
});

t.test('$book and $hold refuse a hidden patient and a missing one alike', async (t) => {
  const h = await world(t);
  for (const op of ['$book', '$hold']) {
    const hidden = await as(h, GP, 'POST', `/fhir/Appointment/${op}`, bookParameters(proposalFor('Patient/q')));
    const missing = await as(h, GP, 'POST', `/fhir/Appointment/${op}`, bookParameters(proposalFor('Patient/nobody')));
    t.equal(hidden.statusCode, 403, `${op}: a hidden patient`);
    t.equal(missing.statusCode, 403, `${op}: a missing patient`);
    t.same(missing.json(), hidden.json(), `${op}: the same OperationOutcome`);
  }
  const count = await h.storage.search(systemContext(BASE_URL), { types: ['Appointment'], where: [], sort: [], count: 100, offset: 0, total: 'accurate' });
  t.equal(count.total, 0, 'refusals wrote nothing');
});

t.test('a patient-scoped launch books only for its launch patient, whoever the user is', async (t) => {
  const h = await world(t);
  // The GP treats p, but this launch is in q's context with patient/ scopes only.
  const launch = { scope: 'patient/Appointment.c patient/Slot.rs patient/Schedule.rs', fhirUser: 'Practitioner/gp', patient: 'q' };
  t.equal((await as(h, launch, 'POST', '/fhir/Appointment/$book', bookParameters(proposalFor('Patient/p')))).statusCode, 403, 'not the launch patient');
  const none = { ...proposalFor('Patient/p'), participant: [{ actor: { reference: 'Practitioner/pr1' }, status: 'needs-action' }] };
  t.equal((await as(h, PATIENT_P, 'POST', '/fhir/Appointment/$book', bookParameters(none))).statusCode, 403, 'a patient must book itself');
});

t.test("a referral's recipient may book for the referred patient; an opt-out closes the patient", async (t) => {
  const h = await world(t);
  const book = (claims: Json, appointment: unknown) => as(h, claims, 'POST', '/fhir/Appointment/$book', bookParameters(appointment));
  const referred = proposalWith('Practitioner/other', 'Patient/q', { basedOn: [{ reference: 'ServiceRequest/ref-q' }] });
  t.equal((await book(OTHER, referred)).statusCode, 403, 'no referral yet');
  t.equal((await as(h, OTHER, 'GET', `/fhir/Appointment/$find?${window}&patient-reference=Patient/q`)).statusCode, 403, '$find neither');
  await h.storage.update(systemContext(BASE_URL), {
    resourceType: 'ServiceRequest', id: 'ref-q', status: 'active', intent: 'order', subject: { reference: 'Patient/q' }, performer: [{ reference: 'Practitioner/other' }],
  } as AnyResource);
  t.equal((await as(h, OTHER, 'GET', `/fhir/Appointment/$find?${window}&patient-reference=Patient/q`)).statusCode, 200, '$find for the referred patient');
  t.equal((await book(OTHER, referred)).statusCode, 201, 'the recipient books');

  await h.storage.update(systemContext(BASE_URL), {
    resourceType: 'Consent', id: 'optout-p', status: 'active', dateTime: '2020-01-01', patient: { reference: 'Patient/p' },
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTOUT' }] },
  } as AnyResource);
  t.equal((await book(GP, proposalFor('Patient/p', 'slot-1-0915'))).statusCode, 403, 'the GP after p opted out');
  t.equal((await as(h, GP, 'GET', `/fhir/Appointment/$find?${window}&patient-reference=Patient/p`)).statusCode, 403, '$find neither');
  t.equal((await as(h, PATIENT_P, 'POST', '/fhir/Appointment/$book', bookParameters(proposalFor('Patient/p', 'slot-1-0915')))).statusCode, 201, 'p itself still books');
});

t.test("holds, cancellations and the sweeper's expiries are audited with the patient", async (t) => {
  let now = new Date(at('08:00'));
  const { h } = await startSecureWorld(t, { scheduling: { clock: () => now, holdSeconds: 600, sweepIntervalMs: 50 } });
  for (const resource of clinicResources(2)) if (resource.resourceType !== 'Patient') await h.storage.update(systemContext(BASE_URL), resource as AnyResource);
  const events = async () => {
    await h.app.auditTrail.flush();
    const found = await h.storage.search(systemContext(BASE_URL), { types: ['AuditEvent'], where: [], sort: [], count: 500, offset: 0, total: 'none' });
    return found.records.map((r) => r.resource as unknown as Json);
  };
  const namesPatient = (event: Json, appointment: string) =>
    (event.entity ?? []).some((e: Json) => e.what?.reference === 'Patient/p' && e.role?.code === '1') && (event.entity ?? []).some((e: Json) => e.what?.reference === appointment);
  const auditedAs = async (appointment: string, action: string) => (await events()).filter((event) => event.action === action && namesPatient(event, appointment));

  const hold = await as(h, GP, 'POST', '/fhir/Appointment/$hold', bookParameters(proposalFor('Patient/p')));
  t.equal(hold.statusCode, 201);
  const held = `Appointment/${(hold.json() as Json).id}`;
  t.equal((await auditedAs(held, 'E')).length, 1, 'the hold, with the patient and the Appointment');

  const booked = await as(h, GP, 'POST', '/fhir/Appointment/$book', bookParameters(proposalFor('Patient/p', 'slot-1-0915')));
  const appointment = (booked.json() as Json).entry[0].resource as Json;
  const cancel = await as(h, GP, 'PUT', `/fhir/Appointment/${appointment.id}`, { ...appointment, status: 'cancelled' });
  t.equal(cancel.statusCode, 200);
  t.equal((await auditedAs(`Appointment/${appointment.id}`, 'U')).length, 1, 'the cancellation');
  t.equal((await as(h, GP, 'DELETE', `/fhir/Appointment/${appointment.id}`)).statusCode, 204);
  t.equal((await auditedAs(`Appointment/${appointment.id}`, 'D')).length, 1, 'the delete');

  now = new Date(at('08:11'));
  let swept: Json[] = [];
  for (let waited = 0; waited < 5000 && swept.length === 0; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    swept = await auditedAs(held, 'U');
  }
  t.equal(swept.length, 1, "the sweeper's expiry, with the patient and the Appointment");
  t.same(swept[0]?.agent?.[0]?.who?.identifier, { system: BASE_URL, value: 'hold-sweeper' }, 'by the server');
  const stored = await h.storage.read(systemContext(BASE_URL), 'Appointment', held.slice('Appointment/'.length));
  t.equal((stored?.resource as Json | undefined)?.status, 'cancelled');
});

t.test('idempotency keys are per principal', async (t) => {
  const h = await world(t);
  const book = async (claims: Json, appointment: unknown) =>
    h.as(await h.token(claims as never), { method: 'POST', url: '/fhir/Appointment/$book', payload: bookParameters(appointment), headers: { 'idempotency-key': 'same-key' } });
  t.equal((await book(GP, proposalFor('Patient/p'))).statusCode, 201, 'the GP books with the key');
  t.equal((await book(DESK, proposalFor('Patient/q', 'slot-1-0915'))).statusCode, 201, 'the desk uses the same key for another booking: its own key, not a conflict');
  t.equal((await book(GP, proposalFor('Patient/p'))).statusCode, 200, "the GP's retry still finds its booking");
  t.equal((await book(DESK, proposalFor('Patient/p'))).statusCode, 409, "the desk sending the GP's booking is a new booking of a taken slot");
});
