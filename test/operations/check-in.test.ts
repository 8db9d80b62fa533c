/**
 * `Appointment/[id]/$check-in` over HTTP: the unit of work (Appointment
 * arrived + one Encounter), its status rules, idempotency under parallel
 * retries, the queue position, the late flag, the intake form and the scopes.
 */
import t from 'tap';
import type { Encounter } from 'fhir/r4';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { INTAKE_QUESTIONNAIRE_EXTENSION } from '../../src/operations/check-in';
import { BASE_URL, type SecureHarness } from '../security/auth-kit';
import { daysAgo, INTAKE, startConsentHarness } from '../forms/world';

const hoursFromNow = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();
const intake = (canonical: string) => [{ url: INTAKE_QUESTIONNAIRE_EXTENSION, valueCanonical: canonical }];
const OTHER_FORM = { ...INTAKE, id: 'short', url: 'http://concord.example/fhir/Questionnaire/short', item: [{ linkId: 'ok', type: 'boolean', initial: [{ valueBoolean: true }] }] };

/** Each Slot's hour is its own (slot1 now, slot2 two hours later...), so no participant is booked twice at once. */
const slotHour = (slot: string) => 2 * (Number(slot.replace('slot', '')) - 1);

function appointment(id: string, status: string, slot: string, patient = 'p1', extra: Record<string, unknown> = {}) {
  return {
    resourceType: 'Appointment',
    id,
    status,
    start: hoursFromNow(slotHour(slot) - 0.5),
    end: hoursFromNow(slotHour(slot) + 0.5),
    slot: [{ reference: `Slot/${slot}` }],
    serviceType: [{ text: 'General practice' }],
    basedOn: [{ reference: 'ServiceRequest/ref1' }],
    participant: [
      { actor: { reference: `Patient/${patient}` }, status: 'accepted' },
      { actor: { reference: 'Practitioner/gp' }, status: 'accepted' },
      { actor: { reference: 'Location/room1' }, status: 'accepted' },
    ],
    ...extra,
  };
}

const WORLD = [
  { resourceType: 'Practitioner', id: 'gp' },
  { resourceType: 'Location', id: 'room1', name: 'Room 1' },
  { resourceType: 'Patient', id: 'p1', name: [{ use: 'official', family: 'Rivera', given: ['Ana'] }], generalPractitioner: [{ reference: 'Practitioner/gp' }] },
  { resourceType: 'Patient', id: 'p2', name: [{ family: 'Second' }], generalPractitioner: [{ reference: 'Practitioner/gp' }] },
  { resourceType: 'ServiceRequest', id: 'ref1', status: 'active', intent: 'order', subject: { reference: 'Patient/p1' } },
  { resourceType: 'HealthcareService', id: 'hs', extension: intake(OTHER_FORM.url) },
  // s1 names its own form and a service with another: the Schedule's wins. s2 has only the service's.
  { resourceType: 'Schedule', id: 's1', actor: [{ reference: 'Practitioner/gp' }, { reference: 'HealthcareService/hs' }], extension: intake(INTAKE.url ?? '') },
  { resourceType: 'Schedule', id: 's2', actor: [{ reference: 'Practitioner/gp' }, { reference: 'HealthcareService/hs' }] },
  { resourceType: 'Schedule', id: 's3', actor: [{ reference: 'Practitioner/gp' }] },
  ...['1', '2', '3', '4', '5', '6', '7', '8'].map((n) => ({ resourceType: 'Slot', id: `slot${n}`, schedule: { reference: `Schedule/s${n === '2' ? '2' : n === '3' ? '3' : '1'}` }, status: 'free', start: hoursFromNow(slotHour(`slot${n}`) - 0.5), end: hoursFromNow(slotHour(`slot${n}`) + 0.5) })),
  INTAKE,
  OTHER_FORM,
  { resourceType: 'Observation', id: 'w', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] }, subject: { reference: 'Patient/p1' }, effectiveDateTime: daysAgo(3), valueQuantity: { value: 70, unit: 'kg' } },
];

const start = (t: { teardown(fn: () => unknown): void }, extra: unknown[] = []): Promise<SecureHarness> => startConsentHarness(t, BASE_URL, [...WORLD, ...extra]);

async function checkIn(h: SecureHarness, token: string, id: string, parameter: unknown[] = []) {
  const res = await h.as(token, { method: 'POST', url: `/fhir/Appointment/${id}/$check-in`, payload: { resourceType: 'Parameters', parameter } });
  const body = JSON.parse(res.body);
  const part = (name: string) => body.parameter?.find((p: { name: string }) => p.name === name);
  return { status: res.statusCode, body, part };
}

async function encountersOf(h: SecureHarness, appointmentId: string): Promise<Encounter[]> {
  const result = await h.storage.search(systemContext(BASE_URL), { types: ['Encounter'], where: [], sort: [], count: 1000, offset: 0, total: 'none' });
  return result.records
    .map((record) => record.resource as unknown as Encounter)
    .filter((encounter) => encounter.appointment?.some((ref) => ref.reference === `Appointment/${appointmentId}`));
}

t.test('a booked appointment arrives, with its Encounter, in one step', async (t) => {
  const h = await start(t, [appointment('a1', 'booked', 'slot1')]);
  const operator = await h.token({ scope: 'system/*.cruds' });
  const { status, part } = await checkIn(h, operator, 'a1');
  t.equal(status, 200);
  t.equal(part('appointment').resource.status, 'arrived');
  const encounter = part('encounter').resource as Encounter;
  t.match(encounter, {
    resourceType: 'Encounter',
    status: 'arrived',
    class: { code: 'AMB' },
    subject: { reference: 'Patient/p1' },
    participant: [{ individual: { reference: 'Practitioner/gp' } }],
    location: [{ location: { reference: 'Location/room1' } }],
    appointment: [{ reference: 'Appointment/a1' }],
    basedOn: [{ reference: 'ServiceRequest/ref1' }],
    serviceType: { text: 'General practice' },
  });
  t.ok(Math.abs(Date.parse(encounter.period?.start ?? '') - Date.now()) < 60_000, 'period.start is now');
  t.equal((await h.storage.read(systemContext(BASE_URL), 'Appointment', 'a1'))?.resource?.status, 'arrived', 'stored');
  t.equal(part('queue-position').valueInteger, 0, 'first in line');
  t.equal(part('late'), undefined, 'not late');

  const form = part('questionnaire-response')?.resource;
  t.equal(form?.questionnaire, 'http://concord.example/fhir/Questionnaire/intake|1', 'the Schedule’s own form wins over its service’s');
  t.equal(form?.subject?.reference, 'Patient/p1');
  t.ok(JSON.stringify(form).includes('Rivera'), 'populated for the patient');
});

t.test('retries return the same Encounter; ten in parallel make one', async (t) => {
  const h = await start(t, [appointment('a1', 'booked', 'slot1'), appointment('a2', 'booked', 'slot4')]);
  const operator = await h.token({ scope: 'system/*.cruds' });
  const first = await checkIn(h, operator, 'a1');
  const again = await checkIn(h, operator, 'a1');
  t.equal(again.status, 200);
  t.equal(again.part('encounter').resource.id, first.part('encounter').resource.id, 'the same Encounter');
  t.equal((await encountersOf(h, 'a1')).length, 1);

  const racing = await Promise.all(Array.from({ length: 10 }, () => checkIn(h, operator, 'a2')));
  t.same(racing.map((r) => r.status), Array(10).fill(200), 'every retry answers 200');
  t.equal(new Set(racing.map((r) => r.part('encounter').resource.id)).size, 1, 'all name one Encounter');
  t.equal((await encountersOf(h, 'a2')).length, 1, 'exactly one Encounter stored');
});

t.test('only a booked (or already arrived) appointment checks in', async (t) => {
  const h = await start(t, [
    appointment('cancelled', 'cancelled', 'slot5'),
    appointment('noshow', 'noshow', 'slot6'),
    appointment('proposed', 'proposed', 'slot7'),
    appointment('tomorrow', 'booked', 'slot8', 'p1', { start: hoursFromNow(30), end: hoursFromNow(31) }),
    appointment('over', 'booked', 'slot4', 'p2', { start: hoursFromNow(-3), end: hoursFromNow(-2) }),
  ]);
  const operator = await h.token({ scope: 'system/*.cruds' });
  for (const id of ['cancelled', 'noshow', 'proposed']) {
    const { status, body } = await checkIn(h, operator, id);
    t.equal(status, 409, `${id}: 409`);
    t.equal(body.resourceType, 'OperationOutcome');
    t.equal((await encountersOf(h, id)).length, 0, `${id}: nothing written`);
  }
  t.equal((await checkIn(h, operator, 'tomorrow')).status, 200, 'before the appointment day is allowed');
  const late = await checkIn(h, operator, 'over');
  t.equal(late.status, 200);
  t.equal(late.part('late')?.valueBoolean, true, 'after its end: late');
  t.equal((await checkIn(h, operator, 'nope')).status, 404, 'unknown appointment');
});

t.test('class overrides AMB; the queue counts who arrived first; a service names the form', async (t) => {
  const h = await start(t, [appointment('a1', 'booked', 'slot1'), appointment('a2', 'booked', 'slot2', 'p2'), appointment('a3', 'booked', 'slot3', 'p2')]);
  const operator = await h.token({ scope: 'system/*.cruds' });
  const first = await checkIn(h, operator, 'a1');
  const second = await checkIn(h, operator, 'a2', [{ name: 'class', valueCoding: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR' } }]);
  t.equal(first.part('queue-position').valueInteger, 0);
  t.equal(second.part('queue-position').valueInteger, 1, 'one patient ahead');
  t.equal(second.part('encounter').resource.class.code, 'VR', 'the class given');
  t.equal(second.part('questionnaire-response')?.resource.questionnaire, 'http://concord.example/fhir/Questionnaire/short|1', 'the HealthcareService’s form when the Schedule names none');
  t.equal((await checkIn(h, operator, 'a3')).part('questionnaire-response'), undefined, 'no form named: none');
  t.equal((await checkIn(h, operator, 'a1', [{ name: 'class', valueString: 'AMB' }])).status, 400, 'class must be a Coding');
});

t.test('it needs the rights to update the Appointment and create the Encounter', async (t) => {
  const h = await start(t, [appointment('a1', 'booked', 'slot1')]);
  const noEncounter = await h.token({ scope: 'system/Appointment.ru system/Encounter.rs' });
  const noUpdate = await h.token({ scope: 'system/Appointment.r system/Encounter.c' });
  t.equal((await checkIn(h, noEncounter, 'a1')).status, 403, 'no Encounter create');
  t.equal((await checkIn(h, noUpdate, 'a1')).status, 403, 'no Appointment update');
  t.equal((await encountersOf(h, 'a1')).length, 0, 'nothing written');
  const gp = await h.token({ scope: 'user/Appointment.ru user/Encounter.crs user/Questionnaire.r user/Patient.r', fhirUser: 'Practitioner/gp' });
  const asGp = await checkIn(h, gp, 'a1');
  t.equal(asGp.status, 200, 'the treating practitioner with both');
  t.ok(asGp.part('questionnaire-response'), 'the form, read with the caller’s read rights (admission checked an update)');
  t.equal(asGp.part('questionnaire-response').resource.item.find((i: { linkId: string }) => i.linkId === 'vitals'), undefined, 'no Observation scope: no weight in the form');

  await h.storage.update(systemContext(BASE_URL), appointment('a2', 'booked', 'slot4') as unknown as AnyResource);
  const noForm = await h.token({ scope: 'user/Appointment.ru user/Encounter.crs user/Patient.r', fhirUser: 'Practitioner/gp' });
  const without = await checkIn(h, noForm, 'a2');
  t.equal(without.status, 200, 'a form the caller may not read does not undo the check-in');
  t.equal(without.part('encounter').resource.status, 'arrived');
  t.match(without.part('issues')?.resource, { resourceType: 'OperationOutcome', issue: [{ severity: 'warning' }] }, 'it is reported as issues');
});
