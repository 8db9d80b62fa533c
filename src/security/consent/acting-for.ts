/**
 * "May this principal act for these patients?": the one answer the consent
 * write rule (consent-write.ts) and `Consent/$evaluate` both ask. The
 * operator acts for everyone; a Patient user for themself; a Practitioner
 * (or PractitionerRole) for the patients they have a treatment relationship
 * with (relationships.ts); nobody else for anyone.
 */
import type { RequestContext } from '../../context';
import type { StorageOps } from '../../storage/port';
import { treatedPatients } from './relationships';
import { resolveActor } from './resolve-actor';

/** `every`: all of them (a write touches each); `some`: at least one (asking about a resource shared by several). */
export type Quantifier = 'every' | 'some';

export async function mayActFor(ops: StorageOps, ctx: RequestContext, patients: readonly string[], quantifier: Quantifier): Promise<boolean> {
  const principal = ctx.principal;
  if (principal.kind === 'operator') return true;
  const holds = (test: (patient: string) => boolean) => (quantifier === 'every' ? patients.every(test) : patients.some(test));
  if (principal.actorType === 'Patient') return holds((patient) => principal.fhirUser === `Patient/${patient}`);
  if (principal.actorType !== 'Practitioner' && principal.actorType !== 'PractitionerRole') return false;
  const actor = await resolveActor(ops, ctx, { fhirUser: principal.fhirUser });
  const treated = await treatedPatients(ops, ctx, actor.identities);
  return holds((patient) => treated.has(patient));
}
