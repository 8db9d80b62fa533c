/**
 * The caller as the consent layer sees it: who (fhirUser), in which roles and
 * organizations, and what kind of actor that makes it. Built once per request
 * by resolve-actor.ts; pure data from here on.
 */

export type ActorKind = 'Patient' | 'RelatedPerson' | 'Practitioner' | 'PractitionerRole' | 'Organization' | 'Device' | 'Other';

export interface ConsentActor {
  /** The fhirUser, relative (`Practitioner/123`). */
  reference: string;
  kind: ActorKind;
  /**
   * Every reference that counts as this actor in `Consent.provision.actor` and
   * in a treatment relationship: the fhirUser, a Practitioner's active
   * PractitionerRoles and their organizations (a PractitionerRole's own
   * practitioner and organization), and the organization a client acts for.
   */
  identities: ReadonlySet<string>;
  /** An Organization whose type has code `prov` (organization-type). */
  providerOrganization: boolean;
  /** An Organization whose type has code `pay`. */
  payer: boolean;
}

export function actorKind(reference: string): ActorKind {
  const type = reference.split('/')[0] ?? '';
  const kinds: readonly ActorKind[] = ['Patient', 'RelatedPerson', 'Practitioner', 'PractitionerRole', 'Organization', 'Device'];
  return (kinds as readonly string[]).includes(type) ? (type as ActorKind) : 'Other';
}

/** Practitioners, their roles and provider organizations: those that treat (OPTIN, treatment relationship). */
export function isProvider(actor: ConsentActor): boolean {
  return actor.kind === 'Practitioner' || actor.kind === 'PractitionerRole' || (actor.kind === 'Organization' && actor.providerOrganization);
}

/** Break-the-glass is for clinicians only: an organization cannot claim an emergency. */
export function canBreakGlass(actor: Pick<ConsentActor, 'kind'>): boolean {
  return actor.kind === 'Practitioner' || actor.kind === 'PractitionerRole';
}

/** The Patient id when the actor is a patient. */
export function actorPatientId(actor: ConsentActor): string | undefined {
  return actor.kind === 'Patient' ? actor.reference.slice('Patient/'.length) : undefined;
}

/**
 * The purpose assumed when a token names none (docs/access-control.md, "The decision"): the patient
 * asks for themself, a family member for the family, a clinician or provider
 * treats, a payer is paid.
 */
export function defaultPurpose(actor: ConsentActor): string {
  switch (actor.kind) {
    case 'Patient':
      return 'PATRQT';
    case 'RelatedPerson':
      return 'FAMRQT';
    case 'Organization':
      return actor.payer ? 'HPAYMT' : 'TREAT';
    default:
      return 'TREAT';
  }
}
