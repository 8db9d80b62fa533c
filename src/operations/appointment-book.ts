/**
 * `POST /Appointment/$hold` and `POST /Appointment/$book` (IHE ITI
 * Scheduling). Both write through the ordinary create and update
 * interactions, so scopes, the consent write rule, validation, referential
 * integrity, the booking rule (src/scheduling/booking-rule.ts: a Slot taken
 * or a participant busy is 409 and nothing is written) and audit apply as
 * to any write.
 *
 * - `$hold` stores a proposed Appointment as `pending` with Concord's
 *   expiry extension (HOLD_EXPIRES_URL, SCHEDULING_HOLD_SECONDS ahead); its
 *   Slots become busy-tentative. From the expiry on, the hold blocks nothing.
 * - `$book` stores a proposed Appointment, or turns a pending one (a hold:
 *   by resource with its id, or by reference) into `booked`, in one unit of
 *   work with its idempotency check (src/scheduling/idempotency.ts).
 *   A hold that lapsed and was swept is booked anew.
 */
import type { Appointment, Bundle, Extension, Reference, Slot } from 'fhir/r4';
import { systemContext, type RequestContext } from '../context';
import { badRequest, conflict, FhirError, notFound } from '../errors';
import type { AnyResource } from '../fhir/types';
import { servicesInUnit } from '../interactions/bundle-services';
import type { Services } from '../interactions/services';
import { createResource, updateResource, type WriteOutcome } from '../interactions/write';
import { HOLD_EXPIRES_URL, localKey, slotReferences } from '../scheduling/appointment-state';
import { idempotencyKey, IDEMPOTENCY_SYSTEM, keyDigest, keyIdentifier, priorBooking, sameBooking } from '../scheduling/idempotency';
import type { Scheduling } from '../scheduling/install';
import type { OperationDescriptor, OperationParameter } from './descriptor';
import { checkParameters, valueOf } from './parameters';
import { assertMayScheduleFor, patientsOf } from './scheduling-access';

const HOLD_PARAMETERS: readonly OperationParameter[] = [
  { name: 'appointment-resource', type: 'Resource', resourceType: 'Appointment', min: 1, max: 1, documentation: 'A proposed Appointment, as $find returns it' },
];

const BOOK_PARAMETERS: readonly OperationParameter[] = [
  { name: 'appointment-resource', type: 'Resource', resourceType: 'Appointment', min: 0, max: 1, documentation: 'A proposed Appointment, or a pending one (a hold, with its id)' },
  { name: 'appointment-reference', type: 'reference', min: 0, max: 1, documentation: 'A pending Appointment (a hold)' },
  { name: 'comment', type: 'string', min: 0, max: 1, documentation: 'Stored as Appointment.comment' },
];

/** The scheduling installed by buildServer; without the booking rule (standalone MongoDB) nothing may be booked: 501. */
function schedulingOf(services: Services): Scheduling {
  const scheduling = services.scheduling;
  if (!scheduling?.enforced) {
    throw FhirError.of(501, 'not-supported', 'Booking needs the booking rule, which this storage cannot run (MongoDB must be a replica set)');
  }
  return scheduling;
}

/** The request's context with the scheduling clock's "now" (one clock for holds, expiry and the rule). */
const atSchedulingTime = (ctx: RequestContext, scheduling: Scheduling): RequestContext => ({ ...ctx, now: scheduling.clock() });

function withoutHold(appointment: Appointment): Appointment {
  const { id: _id, meta: _meta, extension, ...rest } = appointment;
  const kept = (extension ?? []).filter((e) => e.url !== HOLD_EXPIRES_URL);
  return { ...rest, ...(kept.length > 0 ? { extension: kept } : {}) } as Appointment;
}

function assertHasSlots(appointment: Appointment, ctx: RequestContext, operation: string): void {
  if (slotReferences(appointment, ctx.baseUrl).length === 0) throw badRequest(`${operation}: the Appointment must name at least one Slot on this server`, ['Appointment.slot']);
}

export async function holdAppointment(services: Services, ctx: RequestContext, body: unknown): Promise<Appointment> {
  const scheduling = schedulingOf(services);
  const at = atSchedulingTime(ctx, scheduling);
  const parts = checkParameters('$hold', HOLD_PARAMETERS, body);
  const proposed = valueOf<Appointment>(parts, 'appointment-resource', 'resource')!;
  if (proposed.status !== 'proposed') throw badRequest('$hold takes a proposed Appointment', ['Appointment.status']);
  assertHasSlots(proposed, at, '$hold');
  await assertMayScheduleFor(services, at, patientsOf(proposed, at.baseUrl), '$hold');
  const expiry: Extension = { url: HOLD_EXPIRES_URL, valueInstant: new Date(at.now.getTime() + scheduling.holdSeconds * 1000).toISOString() };
  const held = withoutHold(proposed);
  const outcome = await createResource(services, at, 'Appointment', { ...held, status: 'pending', extension: [...(held.extension ?? []), expiry] });
  return outcome.record.resource as unknown as Appointment;
}

interface BookRequest {
  /** What is to be booked (participants, slots, times). */
  requested: Appointment;
  /** The stored hold it books, if any. */
  hold?: Appointment & { id: string };
  comment?: string;
}

async function readAppointment(services: Services, ctx: RequestContext, id: string): Promise<(Appointment & { id: string }) | undefined> {
  const record = await services.storage.read(ctx, 'Appointment', id);
  return record && !record.deleted ? (record.resource as unknown as Appointment & { id: string }) : undefined;
}

async function parseBook(services: Services, ctx: RequestContext, body: unknown): Promise<BookRequest> {
  const parts = checkParameters('$book', BOOK_PARAMETERS, body);
  const resource = valueOf<Appointment>(parts, 'appointment-resource', 'resource');
  const reference = valueOf<Reference>(parts, 'appointment-reference', 'valueReference');
  const comment = valueOf<string>(parts, 'comment', 'valueString');
  if ((resource === undefined) === (reference === undefined)) throw badRequest('$book takes exactly one of appointment-resource and appointment-reference', ['Parameters']);
  if (reference) {
    const key = localKey(reference.reference, ctx.baseUrl);
    if (key?.type !== 'Appointment') throw badRequest('$book: appointment-reference must reference an Appointment on this server', ['appointment-reference']);
    const hold = await readAppointment(services, ctx, key.id);
    if (!hold) throw notFound(`${key.key} is not known`);
    return { requested: hold, hold, ...(comment !== undefined && { comment }) };
  }
  if (resource!.status !== 'proposed' && resource!.status !== 'pending') throw badRequest('$book takes a proposed or pending Appointment', ['Appointment.status']);
  const stored = resource!.id === undefined ? undefined : await readAppointment(services, ctx, resource!.id);
  return { requested: resource!, ...(stored?.status === 'pending' && { hold: stored }), ...(comment !== undefined && { comment }) };
}

/** The booked Appointment and its Slots as they are now (Slots are not patient data: read whatever the caller's filter). */
async function bookingBundle(services: Services, ctx: RequestContext, appointment: Appointment): Promise<Bundle> {
  const everyone = systemContext(ctx.baseUrl, ctx.requestId);
  const slots: Slot[] = [];
  for (const ref of slotReferences(appointment, ctx.baseUrl)) {
    const record = await services.storage.read(everyone, 'Slot', ref.slice('Slot/'.length));
    if (record?.resource && !record.deleted) slots.push(record.resource as unknown as Slot);
  }
  const entry = [appointment, ...slots].map((resource) => ({ fullUrl: `${ctx.baseUrl}/${resource.resourceType}/${resource.id!}`, resource }));
  return { resourceType: 'Bundle', type: 'collection', entry } as Bundle;
}

type Booked = { replay: true; appointment: Appointment } | { replay: false; outcome: WriteOutcome };

export async function bookAppointment(services: Services, ctx: RequestContext, body: unknown, header: string | undefined): Promise<{ status: number; body: Bundle }> {
  const scheduling = schedulingOf(services);
  const at = atSchedulingTime(ctx, scheduling);
  const request = await parseBook(services, at, body);
  assertHasSlots(request.requested, at, '$book');
  await assertMayScheduleFor(services, at, patientsOf(request.requested, at.baseUrl), '$book');
  const key = idempotencyKey(header, request.requested);
  const digest = key === undefined ? undefined : keyDigest(at.principal, key);
  const booked = await services.storage.unitOfWork(async (tx): Promise<Booked> => {
    const inUnit = servicesInUnit(services, tx);
    if (digest !== undefined) {
      const prior = await priorBooking(tx, { ...systemContext(at.baseUrl, at.requestId), now: at.now }, digest);
      if (prior && sameBooking(prior, request.requested, at.baseUrl)) return { replay: true, appointment: prior };
      if (prior) throw conflict('The idempotency key was used for a different booking in the last 24 hours');
    }
    if (request.requested === request.hold && request.hold.status !== 'pending') throw conflict(`Appointment/${request.hold.id} is not a pending Appointment (a hold)`);
    const identifier = [...(request.requested.identifier ?? []).filter((id) => id.system !== IDEMPOTENCY_SYSTEM), ...(digest ? [keyIdentifier(digest, at.now)] : [])];
    const bookedBody: Appointment = {
      ...withoutHold(request.requested),
      status: 'booked',
      ...(request.comment !== undefined && { comment: request.comment }),
      ...(identifier.length > 0 && { identifier }),
    };
    const outcome = request.hold
      ? await updateResource(inUnit, at, 'Appointment', request.hold.id, { ...bookedBody, id: request.hold.id })
      : await createResource(inUnit, at, 'Appointment', bookedBody);
    return { replay: false, outcome };
  }, digest === undefined ? undefined : { guard: `Appointment?identifier=${IDEMPOTENCY_SYSTEM}|${digest}` });
  const appointment = booked.replay ? booked.appointment : (booked.outcome.record.resource as unknown as Appointment);
  return { status: booked.replay ? 200 : 201, body: await bookingBundle(services, at, appointment) };
}

const HOLD_DOCUMENTATION =
  `POST a Parameters with appointment-resource (a proposed Appointment, as $find returns it). Stores it as pending and marks its Slots busy-tentative; 409 when a Slot is taken or a participant busy. ` +
  `The answer (201) is the pending Appointment; extension ${HOLD_EXPIRES_URL} (valueInstant) is the instant the hold lapses (SCHEDULING_HOLD_SECONDS, default 600, after the hold). ` +
  'From then on it blocks nothing; within 30 s it is cancelled and its Slots freed.';

export const holdOperation: OperationDescriptor = {
  code: 'hold',
  definition: 'urn:concord:OperationDefinition:Appointment-hold',
  documentation: HOLD_DOCUMENTATION,
  resourceTypes: ['Appointment'],
  affectsState: true,
  get: [],
  post: ['type'],
  permissions: { type: ['c'] },
  parameters: HOLD_PARAMETERS,
  handler: async (services, ctx, { parameters }) => ({ status: 201, body: (await holdAppointment(services, ctx, parameters)) as unknown as AnyResource }),
};

export const bookOperation: OperationDescriptor = {
  code: 'book',
  definition: 'https://profiles.ihe.net/ITI/SCHED/OperationDefinition/appointment-book',
  documentation:
    'POST a Parameters with appointment-resource (proposed or pending) or appointment-reference (a pending hold), and optional comment. Books it (status booked, Slots busy) in one unit of work: 201 with a Bundle of the Appointment and its Slots; 409 (conflict) naming the Slot or participant otherwise. ' +
    'Idempotency: the Idempotency-Key header, else the Appointment identifier, per principal for 24 hours; the same booking again answers 200 with the first, a different one 409.',
  resourceTypes: ['Appointment'],
  affectsState: true,
  get: [],
  post: ['type'],
  permissions: { type: ['c'] },
  parameters: BOOK_PARAMETERS,
  handler: async (services, ctx, { parameters, idempotencyKey: header }) => bookAppointment(services, ctx, parameters, header),
};
