import type { Patient, RelatedPerson } from 'fhir/r4';
import { systemContext } from '../../context';
import type { Storage } from '../../storage/port';
import type { PatientChoice } from './pages';
import { parseFhirUser } from './principal';

/** One identity a user may act as, and the patient it acts for. */
export interface Identity extends PatientChoice {
  fhirUser: string;
}

/** The name a person reads in a picker: the official name, else the first, else `fallback`. */
export function nameOf(patient: Patient | undefined, fallback: string): string {
  const name = patient?.name?.find((candidate) => candidate.use === 'official') ?? patient?.name?.[0];
  const text = name?.text ?? [...(name?.given ?? []), name?.family].filter(Boolean).join(' ');
  return text || fallback;
}

/**
 * The patients a user may open with `launch/patient`: a Patient user their
 * own record; a RelatedPerson user the patient of each of their RelatedPerson
 * identities (one RelatedPerson per patient, as FHIR models it), the token
 * then acting as the RelatedPerson of the chosen patient. The lookups run as
 * the server: the identities are the account's own, set by the operator.
 */
export async function identitiesOf(fhirUsers: readonly string[], storage: Storage, baseUrl: string): Promise<Identity[]> {
  const ctx = systemContext(baseUrl, 'auth');
  const identities: Identity[] = [];
  for (const fhirUser of fhirUsers) {
    const actor = parseFhirUser(fhirUser);
    if (actor?.actorType === 'Patient') {
      const patient = (await storage.read(ctx, 'Patient', actor.id))?.resource as Patient | undefined;
      identities.push({ fhirUser, patient: actor.id, name: nameOf(patient, fhirUser) });
    } else if (actor?.actorType === 'RelatedPerson') {
      const related = (await storage.read(ctx, 'RelatedPerson', actor.id))?.resource as RelatedPerson | undefined;
      const patientId = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(related?.patient?.reference ?? '')?.[1];
      if (!patientId || related?.active === false) continue;
      const patient = (await storage.read(ctx, 'Patient', patientId))?.resource as Patient | undefined;
      identities.push({ fhirUser, patient: patientId, name: nameOf(patient, `Patient/${patientId}`) });
    }
  }
  return identities;
}
