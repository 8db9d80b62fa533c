/**
 * `POST /Appointment/[id]/$check-in` (a Concord operation; docs/forms.md):
 * in one unit of work the Appointment goes from `booked` to `arrived` and its
 * Encounter is created; the answer adds the patient's place in the
 * practitioner's queue and, when the Schedule (or a HealthcareService among
 * its actors) names an intake Questionnaire, that form populated for the
 * patient with the new Encounter as launch context.
 *
 * Idempotent: the unit is serialised per Appointment (a guard key), and an
 * Appointment already `arrived` answers the Encounter made for it, so ten
 * racing retries make one Encounter.
 */
import type { Appointment, Coding, Encounter, Parameters, ParametersParameter, Reference, Resource } from 'fhir/r4';
import { systemContext, type RequestContext } from '../context';
import { conflict, FhirError, operationOutcome } from '../errors';
import type { AnyResource } from '../fhir/types';
import { servicesInUnit } from '../interactions/bundle-services';
import { readResource } from '../interactions/read';
import { search } from '../interactions/search';
import type { Services } from '../interactions/services';
import { createResource, updateResource } from '../interactions/write';
import { authorize } from '../security/scopes/authorize';
import type { OperationDescriptor, OperationParameter } from './descriptor';
import { checkParameters, valueOf } from './parameters';
import { populateQuestionnaire } from './populate';

/** The extension (valueCanonical) on a Schedule or HealthcareService naming the intake Questionnaire. */
export const INTAKE_QUESTIONNAIRE_EXTENSION = 'http://concord.example/fhir/StructureDefinition/intake-questionnaire';

const CHECK_IN_PARAMETERS: readonly OperationParameter[] = [
  { name: 'class', type: 'Coding', min: 0, max: 1, documentation: 'The Encounter class; AMB (ambulatory) when absent' },
];

const AMBULATORY: Coding = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' };

/** The statuses a check-in refuses (appointmentstatus): nothing was booked, or it will not happen. */
const REFUSED = new Set(['proposed', 'pending', 'cancelled', 'noshow', 'entered-in-error', 'fulfilled', 'waitlist']);
const ALREADY_IN = new Set(['arrived', 'checked-in']);

const actorsOf = (appointment: Appointment, type: string): Reference[] =>
  (appointment.participant ?? [])
    .map((participant) => participant.actor)
    .filter((actor): actor is Reference => actor?.reference?.startsWith(`${type}/`) === true);

function encounterFor(appointment: Appointment, encounterClass: Coding, now: Date): Encounter {
  const [patient] = actorsOf(appointment, 'Patient');
  if (!patient) throw conflict(`Appointment/${appointment.id ?? ''} has no Patient participant to check in`);
  const clinicians = [...actorsOf(appointment, 'Practitioner'), ...actorsOf(appointment, 'PractitionerRole')];
  const locations = actorsOf(appointment, 'Location');
  const [serviceType] = appointment.serviceType ?? [];
  return {
    resourceType: 'Encounter',
    status: 'arrived',
    class: encounterClass,
    subject: { reference: patient.reference },
    appointment: [{ reference: `Appointment/${appointment.id ?? ''}` }],
    period: { start: now.toISOString() },
    ...(clinicians.length > 0 ? { participant: clinicians.map((individual) => ({ individual: { reference: individual.reference } })) } : {}),
    ...(locations.length > 0 ? { location: locations.map((location) => ({ location: { reference: location.reference } })) } : {}),
    ...(appointment.basedOn ? { basedOn: appointment.basedOn } : {}),
    ...(serviceType ? { serviceType } : {}),
  };
}

interface CheckedIn {
  appointment: Appointment;
  encounter: Encounter;
}

async function encounterOfAppointment(services: Services, ctx: RequestContext, id: string): Promise<Encounter | undefined> {
  const bundle = await search(services, ctx, 'Encounter', [['appointment', `Appointment/${id}`], ['_count', '1']], { strict: true });
  return bundle.entry?.find((entry) => entry.search?.mode === 'match')?.resource as Encounter | undefined;
}

/** The unit of work: the Appointment's status decides, the Encounter is made once. */
async function checkInUnit(services: Services, ctx: RequestContext, id: string, encounterClass: Coding): Promise<CheckedIn> {
  return services.storage.unitOfWork(
    async (tx) => {
      const unit = servicesInUnit(services, tx);
      const appointment = (await readResource(unit, ctx, 'Appointment', id)).resource as unknown as Appointment;
      const status = appointment.status;
      if (REFUSED.has(status)) throw conflict(`An Appointment with status ${status} cannot be checked in`);
      const existing = ALREADY_IN.has(status) ? await encounterOfAppointment(unit, ctx, id) : undefined;
      if (existing) return { appointment, encounter: existing };
      const created = await createResource(unit, ctx, 'Encounter', encounterFor(appointment, encounterClass, ctx.now));
      const encounter = created.record.resource as unknown as Encounter;
      if (ALREADY_IN.has(status)) return { appointment, encounter };
      const updated = await updateResource(unit, ctx, 'Appointment', id, { ...appointment, status: 'arrived' });
      return { appointment: updated.record.resource as unknown as Appointment, encounter };
    },
    { guard: `check-in:Appointment/${id}` },
  );
}

/** Midnight of the day `now` falls on, in the server's time zone (`TZ`), and of the next day. */
function today(now: Date): { start: Date; end: Date } {
  const start = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  return { start, end: new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1) };
}

/**
 * How many Encounters `arrived` today for the same practitioner are ahead of
 * this one (by `period.start`, then id). Counted as the server: the caller
 * learns a number, never whose Encounters they are.
 */
async function queuePosition(services: Services, ctx: RequestContext, encounter: Encounter): Promise<number | undefined> {
  const practitioner = encounter.participant?.find((p) => p.individual?.reference?.startsWith('Practitioner/'))?.individual?.reference;
  if (!practitioner || !encounter.period?.start) return undefined;
  const { start, end } = today(ctx.now);
  const server = systemContext(ctx.baseUrl, ctx.requestId);
  const bundle = await search(services, server, 'Encounter', [['status', 'arrived'], ['participant', practitioner], ['date', `ge${start.toISOString()}`], ['_count', '1000']], { strict: true });
  const queue = (bundle.entry ?? [])
    .filter((entry) => entry.search?.mode === 'match')
    .map((entry) => entry.resource as Encounter)
    .filter((e) => {
      const at = Date.parse(e.period?.start ?? '');
      return at >= start.getTime() && at < end.getTime();
    })
    .sort((a, b) => (a.period?.start ?? '').localeCompare(b.period?.start ?? '') || (a.id ?? '').localeCompare(b.id ?? ''));
  const mine = queue.findIndex((e) => e.id === encounter.id);
  return mine < 0 ? undefined : mine;
}

/** The intake form's canonical: the Schedule's extension, else that of a HealthcareService among its actors. */
async function intakeCanonical(services: Services, ctx: RequestContext, appointment: Appointment): Promise<string | undefined> {
  // Slots, Schedules and HealthcareServices are the clinic's configuration, not patient data: read as the server.
  const server = systemContext(ctx.baseUrl, ctx.requestId);
  const read = async (reference: string | undefined): Promise<AnyResource | undefined> => {
    const match = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(reference ?? '');
    return match ? (await services.storage.read(server, match[1] ?? '', match[2] ?? ''))?.resource : undefined;
  };
  const canonicalOf = (resource: AnyResource | undefined) =>
    (resource?.extension as Array<{ url?: string; valueCanonical?: string }> | undefined)?.find((e) => e.url === INTAKE_QUESTIONNAIRE_EXTENSION)?.valueCanonical;
  for (const slot of appointment.slot ?? []) {
    const schedule = await read(((await read(slot.reference))?.schedule as Reference | undefined)?.reference);
    const own = canonicalOf(schedule);
    if (own) return own;
    for (const actor of (schedule?.actor as Reference[] | undefined) ?? []) {
      if (!actor.reference?.startsWith('HealthcareService/')) continue;
      const service = canonicalOf(await read(actor.reference));
      if (service) return service;
    }
  }
  return undefined;
}

/**
 * The intake form, populated for the patient with the Encounter as launch
 * context. The check-in has committed by now, so a form that cannot be
 * populated (not visible to the caller, unknown canonical) is reported as
 * `issues` beside the answer instead of failing a check-in that happened.
 */
async function intakeForm(services: Services, ctx: RequestContext, canonical: string, subject: Reference, encounter: Encounter, disclosed: Resource[]): Promise<ParametersParameter[]> {
  try {
    const populated = await populateQuestionnaire(services, ctx, undefined, {
      resourceType: 'Parameters',
      parameter: [
        { name: 'canonical', valueUri: canonical },
        { name: 'subject', valueReference: subject },
        { name: 'context', part: [{ name: 'name', valueString: 'encounter' }, { name: 'content', resource: encounter }] },
      ],
    });
    disclosed.push(...populated.disclosed);
    const response = populated.body.parameter?.find((p) => p.name === 'response')?.resource;
    return response ? [{ name: 'questionnaire-response', resource: response }] : [];
  } catch (error) {
    if (!(error instanceof FhirError)) throw error;
    return [{ name: 'issues', resource: operationOutcome(error.issues.map((issue) => ({ ...issue, severity: 'warning' }))) }];
  }
}

export async function checkIn(services: Services, ctx: RequestContext, id: string, body: unknown): Promise<{ body: Parameters; disclosed: Resource[] }> {
  const parts = checkParameters('$check-in', CHECK_IN_PARAMETERS, body ?? { resourceType: 'Parameters' });
  // Admission checked the Appointment update; the Encounter is a second write, with its own scope.
  authorize(ctx.principal, ['Encounter'], ['c']);
  const encounterClass = valueOf<Coding>(parts, 'class', 'valueCoding') ?? AMBULATORY;
  const { appointment, encounter } = await checkInUnit(services, ctx, id, encounterClass);

  const parameter: ParametersParameter[] = [
    { name: 'appointment', resource: appointment },
    { name: 'encounter', resource: encounter },
  ];
  const disclosed: Resource[] = [appointment, encounter];
  const position = await queuePosition(services, ctx, encounter);
  if (position !== undefined) parameter.push({ name: 'queue-position', valueInteger: position });
  if (appointment.end && ctx.now.getTime() > Date.parse(appointment.end)) parameter.push({ name: 'late', valueBoolean: true });

  const canonical = await intakeCanonical(services, ctx, appointment);
  const subject = encounter.subject;
  if (canonical && subject) parameter.push(...(await intakeForm(services, ctx, canonical, subject, encounter, disclosed)));
  return { body: { resourceType: 'Parameters', parameter }, disclosed };
}

/** Updates the Appointment (admission checks `u` on it) and creates the Encounter (checked in the handler). */
export const checkInOperation: OperationDescriptor = {
  code: 'check-in',
  definition: 'http://concord.example/fhir/OperationDefinition/Appointment-check-in',
  documentation:
    `Moves a booked Appointment to arrived and creates its Encounter (status arrived, class AMB unless the class parameter says otherwise) in one unit of work; idempotent. Answers Parameters appointment, encounter, queue-position (arrived Encounters of the same practitioner ahead today, 0 = first) and late (true after the appointment's end), plus questionnaire-response when the Schedule or one of its HealthcareServices names an intake Questionnaire with the extension ${INTAKE_QUESTIONNAIRE_EXTENSION} (valueCanonical; the Schedule's wins). 409 for a proposed, pending, cancelled or noshow Appointment.`,
  resourceTypes: ['Appointment'],
  affectsState: true,
  get: [],
  post: ['instance'],
  permissions: { instance: ['u'] },
  parameters: CHECK_IN_PARAMETERS,
  handler: async (services, ctx, { id, resource }) => checkIn(services, ctx, id ?? '', resource),
};
