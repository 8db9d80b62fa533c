/**
 * `GET|POST /Appointment/$find` (IHE ITI Scheduling, the R4 successor of
 * Argonaut Scheduling): the free time of active Schedules inside a window,
 * as proposed Appointments built from free Slots. Nothing is stored.
 *
 * Concord's choices where the profile is silent (docs/scheduling.md):
 * `start`/`end` are required and at most 31 days apart; a Slot is offered
 * when it starts at or after both `start` and now, and before `end`; the
 * filters of one name are ORed and different names ANDed; a Slot's own
 * serviceType/specialty, when it has one, is matched, else its Schedule's;
 * answers are sorted by start (then Slot id). Exclusions (a Slot held by an
 * active Appointment, time the named practitioner or patient has booked)
 * are decided over every Appointment, but the answer carries only free
 * time: never another patient's Appointment.
 */
import { randomUUID } from 'node:crypto';
import type { Appointment, AppointmentParticipant, Bundle, CodeableConcept, Reference, Schedule, Slot } from 'fhir/r4';
import { systemContext, type RequestContext } from '../context';
import { badRequest } from '../errors';
import type { Services } from '../interactions/services';
import { localKey, overlaps, intervalOf, type Interval } from '../scheduling/appointment-state';
import { activeAppointmentsOf, activeHoldersOf, searchAll, searchPages } from '../scheduling/queries';
import { authorize } from '../security/scopes/authorize';
import type { OperationDescriptor, OperationParameter } from './descriptor';
import { checkParameters, valueOf, type ParameterParts } from './parameters';
import { assertMayScheduleFor } from './scheduling-access';

export const FIND_PARAMETERS: readonly OperationParameter[] = [
  { name: 'start', type: 'dateTime', min: 1, max: 1, documentation: 'Start of the window (inclusive)' },
  { name: 'end', type: 'dateTime', min: 1, max: 1, documentation: 'End of the window (exclusive); at most 31 days after start' },
  { name: 'practitioner', type: 'reference', min: 0, max: '*', documentation: 'Practitioner or PractitionerRole among the Schedule actors' },
  { name: 'specialty', type: 'string', min: 0, max: '*', documentation: 'Token (system|code or code)' },
  { name: 'service-type', type: 'string', min: 0, max: '*', documentation: 'Token (system|code or code)' },
  { name: 'location-reference', type: 'reference', min: 0, max: '*', documentation: 'Location among the Schedule actors' },
  { name: 'patient-reference', type: 'reference', min: 0, max: 1, documentation: 'The patient: their booked time is excluded and they are a participant of each answer' },
  { name: '_count', type: 'positiveInt', min: 0, max: 1, documentation: 'At most this many answers (default 50, at most 500)' },
];

const MAX_WINDOW_MS = 31 * 24 * 3600 * 1000;
const DEFAULT_COUNT = 50;
const MAX_COUNT = 500;

interface Token {
  system?: string;
  code: string;
}

interface FindRequest {
  window: Interval;
  practitioners: string[];
  locations: string[];
  specialties: Token[];
  serviceTypes: Token[];
  patient?: string;
  count: number;
}

function instant(parts: ParameterParts, name: string): number {
  const value = valueOf<string>(parts, name, 'valueDateTime');
  const time = value === undefined ? NaN : Date.parse(value);
  if (Number.isNaN(time)) throw badRequest(`$find: "${name}" must be a dateTime`, [name]);
  return time;
}

function references(parts: ParameterParts, name: string, types: readonly string[], baseUrl: string): string[] {
  return (parts.get(name) ?? []).map((part) => {
    const key = localKey((part.valueReference as Reference | undefined)?.reference, baseUrl);
    if (!key || !types.includes(key.type)) throw badRequest(`$find: "${name}" must reference a ${types.join(' or ')} on this server`, [name]);
    return key.key;
  });
}

function tokens(parts: ParameterParts, name: string): Token[] {
  return (parts.get(name) ?? []).map((part) => {
    const text = part.valueString as string;
    const bar = text.indexOf('|');
    return bar < 0 ? { code: text } : { ...(bar > 0 ? { system: text.slice(0, bar) } : {}), code: text.slice(bar + 1) };
  });
}

function parseFind(body: unknown, baseUrl: string): FindRequest {
  const parts = checkParameters('$find', FIND_PARAMETERS, body);
  const start = instant(parts, 'start');
  const end = instant(parts, 'end');
  if (end <= start) throw badRequest('$find: "end" must be after "start"', ['end']);
  if (end - start > MAX_WINDOW_MS) throw badRequest('$find: "start" and "end" may be at most 31 days apart', ['end']);
  const patient = references(parts, 'patient-reference', ['Patient'], baseUrl)[0];
  return {
    window: { start, end },
    practitioners: references(parts, 'practitioner', ['Practitioner', 'PractitionerRole'], baseUrl),
    locations: references(parts, 'location-reference', ['Location'], baseUrl),
    specialties: tokens(parts, 'specialty'),
    serviceTypes: tokens(parts, 'service-type'),
    ...(patient && { patient }),
    count: Math.min(valueOf<number>(parts, '_count', 'valuePositiveInt', 'valueInteger') ?? DEFAULT_COUNT, MAX_COUNT),
  };
}

const matchesAny = (wanted: readonly Token[], concepts: readonly CodeableConcept[] | undefined) =>
  wanted.length === 0 ||
  (concepts ?? []).some((concept) => (concept.coding ?? []).some((coding) => wanted.some((token) => token.code === coding.code && (token.system === undefined || token.system === coding.system))));

/** The active Schedules with the named actors (each name's list ORed, the names ANDed). */
async function schedulesFor(services: Services, ctx: RequestContext, request: FindRequest): Promise<Map<string, Schedule>> {
  const criteria: Array<[string, string]> = [['active:not', 'false']];
  if (request.practitioners.length > 0) criteria.push(['actor', request.practitioners.join(',')]);
  if (request.locations.length > 0) criteria.push(['actor', request.locations.join(',')]);
  const records = await searchAll(services.storage, ctx, 'Schedule', criteria);
  return new Map(records.map((record) => [record.id, record.resource as unknown as Schedule]));
}

/** What a Slot is of, for the filters: its own serviceType/specialty, else its Schedule's. */
function offered(slot: Slot, schedule: Schedule, request: FindRequest): boolean {
  const serviceType = slot.serviceType?.length ? slot.serviceType : schedule.serviceType;
  const specialty = slot.specialty?.length ? slot.specialty : schedule.specialty;
  return matchesAny(request.serviceTypes, serviceType) && matchesAny(request.specialties, specialty);
}

function proposal(slot: Slot & { id: string }, schedule: Schedule, patient: string | undefined): Appointment {
  const participant: AppointmentParticipant[] = schedule.actor.map((actor) => ({ actor: { reference: actor.reference! }, required: 'required', status: 'needs-action' }));
  if (patient) participant.push({ actor: { reference: patient }, required: 'required', status: 'needs-action' });
  const serviceType = slot.serviceType?.length ? slot.serviceType : schedule.serviceType;
  const specialty = slot.specialty?.length ? slot.specialty : schedule.specialty;
  return {
    resourceType: 'Appointment',
    status: 'proposed',
    ...(serviceType?.length ? { serviceType } : {}),
    ...(specialty?.length ? { specialty } : {}),
    ...(slot.appointmentType ? { appointmentType: slot.appointmentType } : {}),
    start: slot.start,
    end: slot.end,
    slot: [{ reference: `Slot/${slot.id}` }],
    participant,
  };
}

/** The time the named practitioners and patient already have booked inside the window (decided over every Appointment, never shown). */
async function bookedTime(services: Services, ctx: RequestContext, request: FindRequest, window: Interval): Promise<Interval[]> {
  const everyone = { ...systemContext(ctx.baseUrl, ctx.requestId), now: ctx.now };
  const actors = [...request.practitioners, ...(request.patient ? [request.patient] : [])];
  const intervals: Interval[] = [];
  for (const appointment of await activeAppointmentsOf(services.storage, everyone, actors, window)) {
    // Counted when one of the actors takes part in it (has not declined it).
    const counts = appointment.participant.some((p) => p.actor?.reference !== undefined && actors.includes(p.actor.reference) && p.status !== 'declined');
    const interval = intervalOf(appointment);
    if (counts && interval) intervals.push(interval);
  }
  return intervals;
}

/** The caller may search Slots and Schedules (scopes), and see the patient it names (consent): 403 otherwise. */
async function assertMayFind(services: Services, ctx: RequestContext, request: FindRequest): Promise<void> {
  authorize(ctx.principal, ['Slot', 'Schedule'], ['s']);
  if (request.patient) await assertMayScheduleFor(services, ctx, [request.patient.slice('Patient/'.length)], '$find with patient-reference');
}

export async function findAppointments(services: Services, requestCtx: RequestContext, body: unknown): Promise<Bundle> {
  // The scheduling clock's "now": the one holds lapse by (tests move it).
  const ctx = services.scheduling ? { ...requestCtx, now: services.scheduling.clock() } : requestCtx;
  const request = parseFind(body, ctx.baseUrl);
  await assertMayFind(services, ctx, request);
  // Slots that have already started are never offered.
  const window = { start: Math.max(request.window.start, ctx.now.getTime()), end: request.window.end };
  const entries: Appointment[] = [];
  const schedules = window.start < window.end ? await schedulesFor(services, ctx, request) : new Map<string, Schedule>();
  if (schedules.size > 0) {
    const everyone = { ...systemContext(ctx.baseUrl, ctx.requestId), now: ctx.now };
    const booked = await bookedTime(services, ctx, request, window);
    const scheduleOf = (slot: Slot) => schedules.get(localKey(slot.schedule.reference, ctx.baseUrl)?.id ?? '');
    // The Schedules drive the query (an equality); the window's tests come before the status's, so that
    // SQLite, which tests in the order written, probes the status only of Slots inside the window.
    const pages = searchPages(services.storage, ctx, 'Slot', [
      ['start', `ge${new Date(window.start).toISOString()}`],
      ['start', `lt${new Date(window.end).toISOString()}`],
      ['schedule', [...schedules.keys()].map((id) => `Schedule/${id}`).join(',')],
      // busy-tentative: a lapsed hold not yet swept blocks nothing (the holders are checked below).
      ['status', 'free,busy-tentative'],
      ['_sort', 'start'],
    ], Math.max(request.count * 2, 50));
    for await (const page of pages) {
      const candidates = page
        .map((record) => record.resource as unknown as Slot & { id: string })
        .filter((slot) => {
          const interval = intervalOf(slot);
          const schedule = scheduleOf(slot);
          return interval && schedule && interval.start >= window.start && interval.start < window.end && offered(slot, schedule, request) && !booked.some((b) => overlaps(b, interval));
        });
      const held = new Set(
        (await activeHoldersOf(services.storage, everyone, candidates.map((slot) => `Slot/${slot.id}`))).flatMap((appointment) =>
          (appointment.slot ?? []).map((slot) => localKey(slot.reference, ctx.baseUrl)?.key),
        ),
      );
      for (const slot of candidates) {
        if (entries.length < request.count && !held.has(`Slot/${slot.id}`)) entries.push(proposal(slot, scheduleOf(slot)!, request.patient));
      }
      if (entries.length >= request.count) break;
    }
  }
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: entries.length,
    entry: entries.map((resource) => ({ fullUrl: `urn:uuid:${randomUUID()}`, resource, search: { mode: 'match' } })),
  };
}

/** `Appointment/$find`: reads only; scopes on Slot and Schedule are checked by the handler (any grant on Appointment reaches it). */
export const findOperation: OperationDescriptor = {
  code: 'find',
  definition: 'https://profiles.ihe.net/ITI/SCHED/OperationDefinition/appointment-find',
  documentation:
    'Free time as proposed Appointments (not stored), from free Slots of active Schedules starting in [start, end) and not before now; start and end required, at most 31 days apart. Needs search rights on Slot and Schedule.',
  resourceTypes: ['Appointment'],
  affectsState: false,
  get: ['type'],
  post: ['type'],
  permissions: { type: [] },
  parameters: FIND_PARAMETERS,
  handler: async (services, ctx, { parameters }) => ({ body: await findAppointments(services, ctx, parameters) }),
};
