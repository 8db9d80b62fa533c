import t from 'tap';
import type { Consent } from 'fhir/r4';
import { consentAccessPart } from '../../src/security/consent/consent-access';
import type { ConsentWorld } from '../../src/security/consent/consent-world';

const BASE = 'http://127.0.0.1:8080/fhir';
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

const consent = (patient: string, policy: 'OPTIN' | 'OPTOUT'): Consent =>
  ({
    resourceType: 'Consent', id: `c-${patient}`, status: 'active', dateTime: '2020-01-01',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patient}` },
    policyRule: { coding: [{ system: ACT_CODE, code: policy }] },
  }) as Consent;

/** How often each patient reference appears in the compiled condition: what the storage tests on every row. */
function mentions(conditions: unknown, patient: string): number {
  return JSON.stringify(conditions).split(`"Patient/${patient}"`).length - 1;
}

t.test('a practitioner treating with purpose TREAT: each patient is named once in the filter, vetoes implied by every opener left out', async (t) => {
  const world: ConsentWorld = {
    env: {
      actor: { reference: 'Practitioner/doc', kind: 'Practitioner', identities: new Set(['Practitioner/doc']), providerOrganization: false, payer: false },
      purpose: 'TREAT', action: 'access', now: Date.parse('2024-06-01T00:00:00Z'), baseUrl: BASE,
    },
    consents: new Map([
      ['in1', [consent('in1', 'OPTIN')]],
      ['in2', [consent('in2', 'OPTIN')]],
      ['out1', [consent('out1', 'OPTOUT')]],
    ]),
    base: { treated: new Set(['t1', 't2', 'in1', 'out1']) },
    changesAt: Infinity,
  };
  const conditions = consentAccessPart(world).conditionsFor('Encounter');
  // OPTIN permits treatment unless the resource is sensitive; every way in already requires "not sensitive", so its veto is implied.
  t.equal(mentions(conditions, 'in1'), 1, 'an OPTIN patient: opened once, no separate veto');
  t.equal(mentions(conditions, 'in2'), 1);
  t.equal(mentions(conditions, 't1'), 1, 'a treated patient without Consent: opened once');
  // An OPTOUT must still veto resources that another patient's rules open (an Appointment of two patients).
  t.equal(mentions(conditions, 'out1'), 1, 'an OPTOUT patient: named by its veto');
  t.equal(mentions(conditions, 'nobody'), 0);
  const text = JSON.stringify(conditions);
  t.equal(text.split('"code":"patient"').length - 1, 2, 'one test of the patient parameter opens (treated and OPTIN patients merged), one vetoes');
});
