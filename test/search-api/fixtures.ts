/**
 * The hand-made fixture set of the search suite. Every value is chosen so
 * that a search rule selects a set of ids that can be worked out by hand from
 * the spec; the expected ids in the tests are written that way, never copied
 * from a run. Written in this order with PUT, then `deleted` are deleted.
 *
 * Patients (birthDate, gender, names):
 *   pat-peter    1974-12-25  male    Chalmers, Peter James; MRN 1001 (type MR); Acme; GP prac-1; active
 *   pat-jose     1980        male    Núñez, José; São Paulo; MRN 1002
 *   pat-anna     1980-06     female  Smith-Jones, Anna + Andersson; MRN 1003; urn:other|X,1 and a|b$c
 *   pat-nobirth  -           -       Doe (missing birthDate and gender)
 *   pat-link     1990-01-01  other   Linked; link → pat-peter
 *   pat-updated  2000-01-01  female  Oldname in version 1, Newname in version 2
 *   pat-deleted  1974-12-25  male    Chalmers (deleted)
 */
import type { AnyResource } from '../../src/fhir/types';
import { BASE_URL } from './helpers';

export const MRN = 'urn:example:mrn';
export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

const patients: AnyResource[] = [
  {
    resourceType: 'Patient',
    id: 'pat-peter',
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Peter James Chalmers</div>' },
    active: true,
    identifier: [{ type: { coding: [{ system: V2_0203, code: 'MR' }] }, system: MRN, value: '1001' }],
    name: [{ family: 'Chalmers', given: ['Peter', 'James'] }],
    gender: 'male',
    birthDate: '1974-12-25',
    communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en' }] } }],
    generalPractitioner: [{ reference: 'Practitioner/prac-1' }],
    managingOrganization: { reference: 'Organization/org-1' },
  },
  {
    resourceType: 'Patient',
    id: 'pat-jose',
    identifier: [{ system: MRN, value: '1002' }],
    name: [{ family: 'Núñez', given: ['José'] }],
    gender: 'male',
    birthDate: '1980',
    address: [{ city: 'São Paulo', country: 'BR' }],
  },
  {
    resourceType: 'Patient',
    id: 'pat-anna',
    identifier: [
      { system: MRN, value: '1003' },
      { system: 'urn:other', value: 'X,1' },
      { system: 'urn:other', value: 'a|b$c' },
    ],
    name: [{ family: 'Smith-Jones', given: ['Anna'] }, { family: 'Andersson' }],
    gender: 'female',
    birthDate: '1980-06',
  },
  { resourceType: 'Patient', id: 'pat-nobirth', name: [{ family: 'Doe' }] },
  {
    resourceType: 'Patient',
    id: 'pat-link',
    name: [{ family: 'Linked' }],
    gender: 'other',
    birthDate: '1990-01-01',
    link: [{ other: { reference: 'Patient/pat-peter' }, type: 'seealso' }],
  },
  { resourceType: 'Patient', id: 'pat-updated', name: [{ family: 'Oldname' }], gender: 'female', birthDate: '2000-01-01' },
  { resourceType: 'Patient', id: 'pat-updated', name: [{ family: 'Newname' }], gender: 'female', birthDate: '2000-01-01' },
  { resourceType: 'Patient', id: 'pat-deleted', name: [{ family: 'Chalmers' }], gender: 'male', birthDate: '1974-12-25' },
];

const others: AnyResource[] = [
  { resourceType: 'Organization', id: 'org-1', name: 'Acme Clinic' },
  { resourceType: 'Practitioner', id: 'prac-1', identifier: [{ system: 'urn:npi', value: '555' }], name: [{ family: 'Careful' }] },
  {
    resourceType: 'Encounter',
    id: 'enc-1',
    status: 'finished',
    class: { system: ACT_CODE, code: 'AMB' },
    subject: { reference: 'Patient/pat-peter' },
    participant: [{ individual: { reference: 'Practitioner/prac-1' } }],
    period: { start: '2020-01-10T09:00:00Z', end: '2020-01-10T10:00:00Z' },
  },
  {
    // Open-ended: still in progress.
    resourceType: 'Encounter',
    id: 'enc-2',
    status: 'in-progress',
    class: { system: ACT_CODE, code: 'IMP' },
    subject: { reference: 'Patient/pat-peter' },
    period: { start: '2020-03-01T08:00:00Z' },
  },
  {
    resourceType: 'Encounter',
    id: 'enc-3',
    status: 'finished',
    class: { system: ACT_CODE, code: 'EMER' },
    subject: { reference: 'Patient/pat-jose' },
    period: { start: '2019-12-31T23:00:00Z', end: '2020-01-01T01:00:00Z' },
  },
  {
    resourceType: 'Encounter',
    id: 'enc-4',
    status: 'cancelled',
    class: { system: ACT_CODE, code: 'AMB' },
    subject: { reference: 'Patient/pat-anna' },
    period: { start: '2021-05-01', end: '2021-05-31' },
  },
  {
    resourceType: 'Observation',
    id: 'obs-1',
    status: 'final',
    code: { coding: [{ system: LOINC, code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: 'Patient/pat-peter' },
    encounter: { reference: 'Encounter/enc-1' },
    effectiveDateTime: '2020-01-10',
    valueQuantity: { value: 72, unit: 'beats/minute', system: UCUM, code: '/min' },
  },
  {
    // An absolute reference to this server: the same patient as `Patient/pat-peter`.
    resourceType: 'Observation',
    id: 'obs-2',
    status: 'final',
    code: { coding: [{ system: LOINC, code: '29463-7', display: 'Body weight' }] },
    subject: { reference: `${BASE_URL}/Patient/pat-peter` },
    effectiveDateTime: '2020-02',
    valueQuantity: { value: 80.5, unit: 'kg', system: UCUM, code: 'kg' },
  },
  {
    resourceType: 'Observation',
    id: 'obs-3',
    status: 'amended',
    code: { coding: [{ system: LOINC, code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: 'Patient/pat-jose' },
    encounter: { reference: 'Encounter/enc-3' },
    effectiveDateTime: '2020-01-01',
    valueQuantity: { value: 100, unit: 'beats/minute', system: UCUM, code: '/min' },
  },
  {
    resourceType: 'Observation',
    id: 'obs-4',
    status: 'final',
    code: { coding: [{ system: LOINC, code: '85354-9', display: 'Blood pressure panel' }] },
    subject: { reference: 'Patient/pat-anna' },
    effectiveDateTime: '2021-05-02',
    component: [
      { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: 120, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' } },
      { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: { value: 80, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' } },
    ],
  },
  {
    // No subject, a code with text only, a logical (identifier-only) performer.
    resourceType: 'Observation',
    id: 'obs-5',
    status: 'preliminary',
    code: { text: 'Free text finding' },
    performer: [{ identifier: { system: 'urn:npi', value: '555' } }],
  },
  {
    resourceType: 'RiskAssessment',
    id: 'risk-1',
    status: 'final',
    subject: { reference: 'Patient/pat-jose' },
    prediction: [{ probabilityDecimal: 0.3 }],
  },
  { resourceType: 'ValueSet', id: 'vs-1', status: 'active', url: 'http://example.org/fhir/ValueSet/colors' },
];

export const searchFixtures: AnyResource[] = [...patients, ...others];
export const searchDeletions: Array<[string, string]> = [['Patient', 'pat-deleted']];

/** The current patients, sorted by id. */
export const ALL_PATIENTS = ['pat-anna', 'pat-jose', 'pat-link', 'pat-nobirth', 'pat-peter', 'pat-updated'];
