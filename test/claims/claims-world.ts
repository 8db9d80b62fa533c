import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import type { AccessPartSource } from '../../src/security/access-filter';
import { consentAccessSource } from '../../src/security/consent/consent-source';
import { BASE_URL, startSecureHarness, type SecureHarness, type SecureOptions } from '../security/auth-kit';

export const ORG_TYPE = 'http://terminology.hl7.org/CodeSystem/organization-type';
export const MRN = 'urn:example:mrn';
export const CLAIM_IDS = 'urn:example:claims';

const org = (id: string, code: string) => ({
  resourceType: 'Organization',
  id,
  name: id,
  identifier: [{ system: 'urn:example:org', value: id }],
  type: [{ coding: [{ system: ORG_TYPE, code }] }],
});

/** A clinic, its practitioner (by role), two payers, a patient with a Coverage of payer-a, and an Encounter at the clinic. */
export const CLAIMS_WORLD: Array<Record<string, unknown>> = [
  org('clinic', 'prov'),
  org('clinic-2', 'prov'),
  org('payer-a', 'pay'),
  org('payer-b', 'pay'),
  { resourceType: 'Practitioner', id: 'dr', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '111' }] },
  { resourceType: 'Practitioner', id: 'other' },
  {
    resourceType: 'PractitionerRole',
    id: 'dr-at-clinic',
    active: true,
    practitioner: { reference: 'Practitioner/dr' },
    organization: { reference: 'Organization/clinic' },
  },
  {
    resourceType: 'Patient',
    id: 'pat',
    identifier: [{ system: MRN, value: 'pat' }],
    name: [{ family: 'Doe', given: ['Jane'] }],
    gender: 'female',
    birthDate: '1980-02-03',
  },
  { resourceType: 'Patient', id: 'pat-2', identifier: [{ system: MRN, value: 'pat-2' }] },
  {
    resourceType: 'Coverage',
    id: 'cov-a',
    status: 'active',
    identifier: [{ system: 'urn:example:member', value: 'M-1' }],
    subscriberId: 'S-1',
    beneficiary: { reference: 'Patient/pat' },
    payor: [{ reference: 'Organization/payer-a' }],
    period: { start: '2024-01-01', end: '2026-12-31' },
  },
  { resourceType: 'Coverage', id: 'cov-old', status: 'cancelled', beneficiary: { reference: 'Patient/pat' }, payor: [{ reference: 'Organization/payer-a' }] },
  { resourceType: 'Coverage', id: 'cov-2', status: 'active', beneficiary: { reference: 'Patient/pat-2' }, payor: [{ reference: 'Organization/payer-a' }] },
  {
    resourceType: 'Coverage',
    id: 'cov-b',
    status: 'active',
    beneficiary: { reference: 'Patient/pat' },
    payor: [{ reference: 'Organization/payer-b' }],
    period: { start: '2025-01-01' },
  },
  { resourceType: 'Condition', id: 'dx', subject: { reference: 'Patient/pat' }, code: { text: 'Sprain' } },
  {
    resourceType: 'Encounter',
    id: 'enc',
    status: 'finished',
    class: { code: 'AMB' },
    subject: { reference: 'Patient/pat' },
    serviceProvider: { reference: 'Organization/clinic' },
  },
];

/** A valid professional claim by the clinic for pat, to payer-a; `extra` replaces top-level elements. */
export function claim(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'Claim',
    identifier: [{ system: CLAIM_IDS, value: 'c-1' }],
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: { reference: 'Patient/pat' },
    created: '2025-03-01',
    billablePeriod: { start: '2025-02-28', end: '2025-02-28' },
    insurer: { reference: 'Organization/payer-a' },
    provider: { reference: 'Organization/clinic' },
    priority: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }] },
    diagnosis: [{ sequence: 1, diagnosisReference: { reference: 'Condition/dx' } }],
    insurance: [{ sequence: 1, focal: true, coverage: { reference: 'Coverage/cov-a' } }],
    item: [
      { sequence: 1, diagnosisSequence: [1], productOrService: { text: 'Visit' }, net: { value: 120, currency: 'USD' } },
      { sequence: 2, productOrService: { text: 'X-ray' }, net: { value: 80.5, currency: 'USD' } },
    ],
    ...extra,
  };
}

export interface ClaimsWorld {
  h: SecureHarness;
  tokens: Record<'clinic' | 'dr' | 'clinic2' | 'payerA' | 'payerB' | 'patient' | 'outsider' | 'operator', string>;
  submit(token: string, body: unknown): ReturnType<SecureHarness['as']>;
}

/** The world stored, the consent layer on, and a token for every actor. */
export async function startClaimsWorld(t: { teardown(fn: () => unknown): void }, options: SecureOptions = {}): Promise<ClaimsWorld> {
  const layer: { source?: AccessPartSource } = {};
  const h = await startSecureHarness({ ...options, accessSources: [(request) => layer.source?.(request)] });
  t.teardown(() => h.close());
  layer.source = consentAccessSource(h.storage, BASE_URL);
  for (const resource of CLAIMS_WORLD) await h.storage.create(systemContext(BASE_URL), resource as AnyResource);
  const providerScopes = 'user/Claim.crs user/ClaimResponse.rs';
  const payerScopes = 'system/Claim.rs system/ClaimResponse.cruds system/Coverage.rs system/Patient.rs';
  const tokens = {
    clinic: await h.token({ fhirUser: 'Organization/clinic', scope: providerScopes }),
    dr: await h.token({ fhirUser: 'Practitioner/dr', scope: providerScopes }),
    clinic2: await h.token({ fhirUser: 'Organization/clinic-2', scope: providerScopes }),
    payerA: await h.token({ fhirUser: 'Organization/payer-a', scope: payerScopes, client_id: 'payer-a-client' }),
    payerB: await h.token({ fhirUser: 'Organization/payer-b', scope: payerScopes, client_id: 'payer-b-client' }),
    patient: await h.token({ fhirUser: 'Patient/pat', patient: 'pat', scope: 'patient/Claim.rs patient/ClaimResponse.rs' }),
    outsider: await h.token({ fhirUser: 'Practitioner/other', scope: providerScopes }),
    operator: await h.token({ scope: 'system/*.cruds' }),
  };
  return { h, tokens, submit: (token, body) => h.as(token, { method: 'POST', url: '/fhir/Claim/$submit', payload: body }) };
}
