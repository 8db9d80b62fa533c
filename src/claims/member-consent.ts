/**
 * The member's Consent of `Patient/$member-match` (HRex 1.1.0, hrex-consent),
 * checked and turned into the Consent Concord stores and enforces with its
 * consent engine (docs/access-control.md): a permit for the requesting payer
 * only, to read (`access`), within the period the member gave; `regular`
 * leaves sensitive-labelled data out (the engine's step 5), `sensitive`
 * names every sensitive label so that it is disclosed too.
 */
import type { Consent, ConsentProvisionActor } from 'fhir/r4';
import { unprocessable } from '../errors';
import { ACT_CODE_SYSTEM, CONSENT_ACTION_SYSTEM, CONSENT_SCOPE_SYSTEM, localReference, SENSITIVE_LABELS } from '../security/consent';

const POLICY_BASE = 'http://hl7.org/fhir/us/davinci-hrex/StructureDefinition-hrex-consent.html';
export const REGULAR_POLICY = `${POLICY_BASE}#regular`;
export const SENSITIVE_POLICY = `${POLICY_BASE}#sensitive`;

const invalid = (diagnostics: string, expression: string) => unprocessable([{ severity: 'error', code: 'invalid', diagnostics, expression: [expression] }]);

export interface MemberConsent {
  consent: Consent;
  /** The requesting payer the Consent names (`Organization/x`). */
  recipient: string;
  sensitive: boolean;
}

/** The actors naming a local Organization: the payers, the old one (source) and the new one (recipient). */
function organizationActors(consent: Consent, baseUrl: string): Array<{ actor: ConsentProvisionActor; ref: string }> {
  return (consent.provision?.actor ?? []).flatMap((actor) => {
    const ref = localReference(actor.reference?.reference, baseUrl);
    return ref?.startsWith('Organization/') ? [{ actor, ref }] : [];
  });
}

/**
 * The shape HRex requires, read before any matching: a policy of regular or
 * sensitive, a provision period, and an actor naming the requesting payer
 * (`recipient`: the actor with role IRCP, else the one naming the caller). Input errors only: nothing stored is revealed.
 */
export function readMemberConsent(consent: Consent, baseUrl: string, isCaller: (ref: string) => boolean): MemberConsent {
  const policies = (consent.policy ?? []).map((p) => p.uri);
  const sensitive = policies.includes(SENSITIVE_POLICY);
  if (!sensitive && !policies.includes(REGULAR_POLICY)) throw invalid(`Consent.policy must be ${REGULAR_POLICY} or ${SENSITIVE_POLICY}`, 'Consent.policy');
  if (!consent.provision?.period) throw invalid('Consent.provision.period is required (hrex-consent)', 'Consent.provision.period');
  const actors = organizationActors(consent, baseUrl);
  // The recipient is the actor with role IRCP; without roles, the one naming the caller. The other is the source (the old payer).
  const named = actors.find(({ actor }) => (actor.role?.coding ?? []).some((c) => c.code === 'IRCP')) ?? actors.find(({ ref }) => isCaller(ref));
  if (!named) throw invalid('Consent.provision.actor must name the requesting payer (an Organization on this server)', 'Consent.provision.actor');
  return { consent, recipient: named.ref, sensitive };
}

/** The Consent to store for the matched patient: active, theirs, a read permit for the recipient alone. */
export function consentToStore({ consent, recipient, sensitive }: MemberConsent, patientId: string, now: Date): Consent {
  const { id: _id, meta: _meta, ...sent } = consent;
  const patient = { reference: `Patient/${patientId}` };
  return {
    ...sent,
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: CONSENT_SCOPE_SYSTEM, code: 'patient-privacy' }] },
    category: sent.category?.length ? sent.category : [{ coding: [{ system: ACT_CODE_SYSTEM, code: 'IDSCL' }] }],
    patient,
    performer: [patient],
    dateTime: sent.dateTime ?? now.toISOString(),
    provision: {
      type: 'permit',
      period: consent.provision!.period!,
      // Only the requesting payer: an actor naming the old payer (the source) would open the record to it too.
      actor: [
        { role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: recipient } },
      ],
      action: [{ coding: [{ system: CONSENT_ACTION_SYSTEM, code: 'access' }] }],
      ...(sensitive ? { provision: [{ type: 'permit', securityLabel: SENSITIVE_LABELS.map((l) => ({ system: l.system, code: l.code })) }] } : {}),
    },
  };
}
