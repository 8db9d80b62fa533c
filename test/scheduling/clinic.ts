/**
 * A small clinic for the scheduling tests: two practitioners with a
 * Schedule each, a room and a building, two patients, and 15-minute Slots
 * from a fixed day, loaded through a transaction on a harness server.
 */
import type { Harness } from '../http/harness';
import { fhirJson } from '../http/harness';

export const DAY = '2030-03-04';
export const at = (hhmm: string) => `${DAY}T${hhmm}:00.000Z`;

/** `slot-<schedule>-<hhmm>`: 15 minutes from hhmm, of Schedule sched-<n>. */
export const slotId = (schedule: number, hhmm: string) => `slot-${schedule}-${hhmm.replace(':', '')}`;

const plus15 = (hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  const total = h * 60 + m + 15;
  return `${String(Math.floor(total / 60)).padStart(2, '0')}:${String(total % 60).padStart(2, '0')}`;
};

export const SLOT_TIMES = ['09:00', '09:15', '09:30', '09:45'];

function put(resource: Record<string, unknown>) {
  return { resource, request: { method: 'PUT', url: `${String(resource.resourceType)}/${String(resource.id)}` } };
}

export function clinicResources(schedules = 2, times = SLOT_TIMES): Array<Record<string, unknown>> {
  const resources: Array<Record<string, unknown>> = [
    { resourceType: 'Patient', id: 'p1', gender: 'female', birthDate: '1970-01-01' },
    { resourceType: 'Patient', id: 'p2', gender: 'male', birthDate: '1980-01-01' },
    { resourceType: 'Location', id: 'room-1', name: 'Room 1', physicalType: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/location-physical-type', code: 'ro' }] } },
    { resourceType: 'Location', id: 'building', name: 'Main building', physicalType: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/location-physical-type', code: 'bu' }] } },
  ];
  for (let n = 1; n <= schedules; n++) {
    resources.push({ resourceType: 'Practitioner', id: `pr${n}`, name: [{ family: `Doctor${n}` }] });
    resources.push({
      resourceType: 'Schedule',
      id: `sched-${n}`,
      active: true,
      actor: [{ reference: `Practitioner/pr${n}` }, { reference: 'Location/building' }],
      serviceType: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/service-type', code: n % 2 === 1 ? '124' : '57' }] }],
      specialty: [{ coding: [{ system: 'http://snomed.info/sct', code: n % 2 === 1 ? '394814009' : '394802001' }] }],
    });
    for (const time of times) {
      resources.push({
        resourceType: 'Slot',
        id: slotId(n, time),
        schedule: { reference: `Schedule/sched-${n}` },
        status: 'free',
        start: at(time),
        end: at(plus15(time)),
      });
    }
  }
  return resources;
}

export async function loadClinic(h: Harness, schedules = 2, times = SLOT_TIMES): Promise<void> {
  const response = await h.request({
    method: 'POST',
    url: '/fhir',
    headers: fhirJson,
    payload: { resourceType: 'Bundle', type: 'transaction', entry: clinicResources(schedules, times).map(put) },
  });
  if (response.statusCode !== 200) throw new Error(`loading the clinic failed: ${response.body}`);
}

export interface AppointmentSpec {
  id?: string;
  status?: string;
  slots?: string[];
  patient?: string;
  practitioner?: string;
  location?: string;
  start?: string;
  end?: string;
  declined?: string[];
  extension?: Array<Record<string, unknown>>;
}

/** An Appointment of one patient with one practitioner over the given Slots (times from the first and last). */
export function appointment(spec: AppointmentSpec): Record<string, unknown> {
  const actors = [spec.patient ?? 'Patient/p1', spec.practitioner ?? 'Practitioner/pr1', ...(spec.location ? [spec.location] : [])];
  return {
    resourceType: 'Appointment',
    ...(spec.id && { id: spec.id }),
    status: spec.status ?? 'booked',
    ...(spec.slots && { slot: spec.slots.map((id) => ({ reference: `Slot/${id}` })) }),
    start: spec.start ?? at('09:00'),
    end: spec.end ?? at('09:15'),
    participant: actors.map((reference) => ({ actor: { reference }, status: spec.declined?.includes(reference) ? 'declined' : 'accepted' })),
    ...(spec.extension && { extension: spec.extension }),
  };
}

export async function slotStatus(h: Harness, id: string): Promise<string> {
  const response = await h.request({ method: 'GET', url: `/fhir/Slot/${id}` });
  return (response.json() as { status: string }).status;
}

/** How many Appointments are stored (any status). */
export async function appointmentCount(h: Harness, criteria = ''): Promise<number> {
  const response = await h.request({ method: 'GET', url: `/fhir/Appointment?_summary=count${criteria}` });
  return (response.json() as { total: number }).total;
}

export const postAppointment = (h: Harness, spec: AppointmentSpec) =>
  h.request({ method: 'POST', url: '/fhir/Appointment', headers: fhirJson, payload: appointment(spec) });
