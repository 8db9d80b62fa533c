/**
 * A small record for the forms tests: patient p1 with allergies, medications,
 * weights, a blood-pressure panel and a coverage; another patient p2; a
 * treating GP, an unrelated practitioner and p1's daughter with a Consent.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Questionnaire } from 'fhir/r4';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import type { AccessPartSource } from '../../src/security/access-filter';
import { consentAccessSource } from '../../src/security/consent/consent-source';
import { startSecureHarness, type SecureHarness } from '../security/auth-kit';

export const INTAKE = JSON.parse(readFileSync(join(__dirname, '../fixtures/forms/intake-questionnaire.json'), 'utf8')) as Questionnaire;

const LOINC = 'http://loinc.org';
const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const CLINICAL = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] };
const INACTIVE = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'inactive' }] };
const VITALS = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }];

/** An ISO instant `days` days before now. */
export const daysAgo = (days: number): string => new Date(Date.now() - days * 86_400_000).toISOString();

const weight = (id: string, value: number, effective: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  category: VITALS,
  code: { coding: [{ system: LOINC, code: '29463-7' }] },
  subject: { reference: 'Patient/p1' },
  effectiveDateTime: effective,
  valueQuantity: { value, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  ...extra,
});

export function world(): AnyResource[] {
  return [
    { resourceType: 'Practitioner', id: 'gp', name: [{ family: 'Lee' }] },
    { resourceType: 'Practitioner', id: 'stranger' },
    { resourceType: 'Organization', id: 'insurer', name: 'Acme Health' },
    {
      resourceType: 'Patient',
      id: 'p1',
      name: [{ use: 'official', family: 'Rivera', given: ['Ana', 'Maria'] }, { use: 'nickname', given: ['Annie'] }],
      birthDate: '1980-04-02',
      gender: 'female',
      telecom: [{ system: 'phone', value: '555-0100' }],
      generalPractitioner: [{ reference: 'Practitioner/gp' }],
    },
    { resourceType: 'Patient', id: 'p2', name: [{ family: 'Other' }], gender: 'male' },
    { resourceType: 'RelatedPerson', id: 'daughter', patient: { reference: 'Patient/p1' } },
    {
      resourceType: 'Encounter',
      id: 'e1',
      status: 'in-progress',
      class: { system: ACT, code: 'AMB' },
      subject: { reference: 'Patient/p1' },
      participant: [{ individual: { reference: 'Practitioner/gp' } }],
    },
    { resourceType: 'AllergyIntolerance', id: 'a1', clinicalStatus: CLINICAL, patient: { reference: 'Patient/p1' }, code: { coding: [{ system: 'http://snomed.info/sct', code: '91936005', display: 'Penicillin' }] }, reaction: [{ description: 'Hives', manifestation: [{ text: 'Hives' }] }] },
    { resourceType: 'AllergyIntolerance', id: 'a2', clinicalStatus: CLINICAL, patient: { reference: 'Patient/p1' }, code: { coding: [{ system: 'http://snomed.info/sct', code: '227493005', display: 'Cashew nuts' }] } },
    { resourceType: 'AllergyIntolerance', id: 'a3', clinicalStatus: INACTIVE, patient: { reference: 'Patient/p1' }, code: { coding: [{ system: 'http://snomed.info/sct', code: '300916003', display: 'Latex' }] } },
    // Labelled substance use: hidden from the daughter, whose Consent does not name the label.
    { resourceType: 'AllergyIntolerance', id: 'a4', meta: { security: [{ system: ACT, code: 'SUD' }] }, clinicalStatus: CLINICAL, patient: { reference: 'Patient/p1' }, code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '7243', display: 'Naltrexone' }] } },
    { resourceType: 'AllergyIntolerance', id: 'a9', clinicalStatus: CLINICAL, patient: { reference: 'Patient/p2' }, code: { text: 'Eggs' } },
    { resourceType: 'MedicationStatement', id: 'm1', status: 'active', subject: { reference: 'Patient/p1' }, medicationCodeableConcept: { text: 'Metformin 500 mg' } },
    { resourceType: 'MedicationStatement', id: 'm2', status: 'active', subject: { reference: 'Patient/p1' }, medicationCodeableConcept: { text: 'Lisinopril 10 mg' } },
    { resourceType: 'MedicationStatement', id: 'm3', status: 'stopped', subject: { reference: 'Patient/p1' }, medicationCodeableConcept: { text: 'Ibuprofen' } },
    weight('w-old', 70, daysAgo(200)),
    weight('w-new', 72.5, daysAgo(10)),
    // Newer, but not final, about another focus, or outside the one-year period: never taken.
    weight('w-prelim', 90, daysAgo(2), { status: 'preliminary' }),
    weight('w-focus', 91, daysAgo(1), { focus: [{ reference: 'Patient/p2' }] }),
    weight('w-ancient', 60, daysAgo(900)),
    {
      resourceType: 'Observation',
      id: 'bp',
      status: 'final',
      category: VITALS,
      code: { coding: [{ system: LOINC, code: '85354-9' }] },
      subject: { reference: 'Patient/p1' },
      effectiveDateTime: daysAgo(5),
      component: [
        { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: 128, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
        { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: { value: 82, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
      ],
    },
    { resourceType: 'Coverage', id: 'cov', status: 'active', beneficiary: { reference: 'Patient/p1' }, payor: [{ reference: 'Organization/insurer', display: 'Acme Health' }] },
    {
      resourceType: 'Consent',
      id: 'c-daughter',
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: 'Patient/p1' },
      dateTime: '2026-01-01',
      // Not OPTIN, whose default would open the record to any treating practitioner (docs/access-control.md).
      policyRule: { coding: [{ system: ACT, code: 'OPTINR' }] },
      provision: {
        type: 'permit',
        actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: 'RelatedPerson/daughter' } }],
      },
    },
    { ...INTAKE },
  ] as AnyResource[];
}


/** A server with real tokens and the consent layer, holding `resources` (stored as the operator). */
export async function startConsentHarness(t: { teardown(fn: () => unknown): void }, baseUrl: string, resources: readonly unknown[]): Promise<SecureHarness> {
  let source: AccessPartSource | undefined;
  const h = await startSecureHarness({ accessSources: [(request) => source?.(request)] });
  source = consentAccessSource(h.storage, baseUrl);
  t.teardown(() => h.close());
  const ctx = systemContext(baseUrl);
  for (const resource of resources) await h.storage.update(ctx, resource as AnyResource);
  return h;
}
