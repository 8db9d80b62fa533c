/**
 * Who may schedule for whom (docs/scheduling.md, "Security and audit"):
 * `$hold` and `$book` for the Appointment's patients, `$find` for its
 * `patient-reference`.
 *
 * - the operator and a `system/` client (a scheduling desk): anyone;
 * - a patient (a `Patient` fhirUser, or a token whose right to create
 *   Appointments comes from `patient/` scopes only): its own patient only,
 *   and it must be a participant;
 * - a practitioner (Practitioner or PractitionerRole): the patients it may
 *   see under the consent rules, which is where a treatment relationship
 *   and a referral (a ServiceRequest of the patient naming it as performer,
 *   the request a referral's Appointment is `basedOn`) open a patient, and
 *   where a patient's opt-out closes it. Without a consent layer, the treatment relationship
 *   alone (`mayActFor`);
 * - anyone else: nobody.
 *
 * A refusal is 403: the caller named the patient, so nothing is revealed.
 */
import type { Appointment } from 'fhir/r4';
import type { RequestContext, UserPrincipal } from '../context';
import { FhirError } from '../errors';
import type { Services } from '../interactions/services';
import { localKey } from '../scheduling/appointment-state';
import { mayActFor } from '../security/consent';

/** The Patient participants of an Appointment (ids). */
export function patientsOf(appointment: Appointment, baseUrl: string): string[] {
  return (appointment.participant ?? []).map((participant) => localKey(participant.actor?.reference, baseUrl)).flatMap((key) => (key?.type === 'Patient' ? [key.id] : []));
}

/** True when the caller's right to create Appointments comes from `patient/` scopes alone: it acts for its launch patient only. */
function patientScoped(principal: UserPrincipal): boolean {
  return !principal.token.scopes.some((scope) => scope.context !== 'patient' && (scope.resourceType === 'Appointment' || scope.resourceType === '*') && scope.permissions.has('c'));
}

/** The patient a patient-scoped caller acts for: its launch context, else its own Patient fhirUser. */
function ownPatient(principal: UserPrincipal): string | undefined {
  if (principal.patient !== undefined) return principal.patient;
  return principal.fhirUser.startsWith('Patient/') ? principal.fhirUser.slice('Patient/'.length) : undefined;
}

/** Every patient is one the practitioner sees under the consent layer's read filter (no scopes), or treats when there is none. */
async function practitionerSees(services: Services, ctx: RequestContext, patients: readonly string[]): Promise<boolean> {
  const consent = await ctx.consentFor?.('r');
  if (!consent) return mayActFor(services.storage, ctx, patients, 'every');
  const found = await services.storage.exists({ ...ctx, access: consent }, patients.map((id) => ({ resourceType: 'Patient', id })));
  return patients.every((id) => found.has(`Patient/${id}`));
}

export async function mayScheduleFor(services: Services, ctx: RequestContext, patients: readonly string[]): Promise<boolean> {
  const principal = ctx.principal;
  if (principal.kind === 'operator') return true;
  if (principal.actorType === 'Patient' || patientScoped(principal)) {
    const own = ownPatient(principal);
    return own !== undefined && patients.length > 0 && patients.every((id) => id === own);
  }
  if (principal.actorType !== 'Practitioner' && principal.actorType !== 'PractitionerRole') return false;
  return practitionerSees(services, ctx, patients);
}

export async function assertMayScheduleFor(services: Services, ctx: RequestContext, patients: readonly string[], what: string): Promise<void> {
  if (!(await mayScheduleFor(services, ctx, patients))) throw FhirError.of(403, 'forbidden', `${what}: the caller may not schedule for this patient`);
}
