/**
 * Who may write a patient's Consents (docs/access-control.md, "Writing Consents"): the patient, and a
 * Practitioner (or PractitionerRole) treating them whose token has
 * `user/Consent.cu`; the operator; nobody else, payers never. An update or
 * delete must be allowed for the patient of the stored version as well as of
 * the new one, so a Consent cannot be moved to (or taken from) a patient the
 * writer may not act for. Called by the write interactions before they store.
 */
import type { Consent } from 'fhir/r4';
import type { RequestContext, UserPrincipal } from '../../context';
import { FhirError } from '../../errors';
import type { AnyResource } from '../../fhir/types';
import type { StorageOps } from '../../storage/port';
import { localReference } from './provision-static';
import { mayActFor } from './acting-for';
import { readCurrent } from './storage-queries';

const forbidden = (why: string) => FhirError.of(403, 'forbidden', `This Consent may not be written: ${why}`);

function patientOf(consent: AnyResource | undefined, baseUrl: string): string | undefined {
  const ref = localReference((consent as Consent | undefined)?.patient?.reference, baseUrl);
  return ref?.startsWith('Patient/') ? ref.slice('Patient/'.length) : undefined;
}

/** `user/Consent.cu` (or `user/*.cu`, or several user scopes that together grant c and u). */
function hasUserConsentWrite(principal: UserPrincipal): boolean {
  const granted = new Set(
    principal.token.scopes
      .filter((s) => s.context === 'user' && (s.resourceType === 'Consent' || s.resourceType === '*') && s.where === undefined)
      .flatMap((s) => [...s.permissions]),
  );
  return granted.has('c') && granted.has('u');
}

export async function assertConsentWriteAllowed(ops: StorageOps, ctx: RequestContext, resourceType: string, id: string, written?: AnyResource): Promise<void> {
  if (resourceType !== 'Consent' || ctx.principal.kind === 'operator') return;
  const principal = ctx.principal;
  const stored = await readCurrent(ops, ctx, `Consent/${id}`);
  const patients = [patientOf(stored, ctx.baseUrl), patientOf(written, ctx.baseUrl)].filter((p): p is string => p !== undefined);
  if (written && patientOf(written, ctx.baseUrl) === undefined) throw forbidden('it names no patient of this server');
  const practitioner = principal.actorType === 'Practitioner' || principal.actorType === 'PractitionerRole';
  if (principal.actorType !== 'Patient' && !practitioner) throw forbidden('only the patient and their treating practitioners write Consents');
  if (practitioner && !hasUserConsentWrite(principal)) throw forbidden('a practitioner needs user/Consent.cu');
  if (await mayActFor(ops, ctx, patients, 'every')) return;
  throw forbidden(practitioner ? 'the practitioner has no treatment relationship with the patient' : 'a patient writes only their own Consents');
}
