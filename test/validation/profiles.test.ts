import t from 'tap';
import { errorKeys, validator } from './helpers';

const PROFILE = 'http://concord.example/fhir/StructureDefinition/concord-consent';

function consent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'Consent',
    meta: { profile: [PROFILE] },
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy', display: 'Privacy Consent' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: 'Patient/example' },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type: 'deny', period: { start: '2024-01-01' } },
    ...overrides,
  };
}

t.test('a conforming consent passes', async (t) => {
  t.same(validator.validate(consent()), []);
});

t.test('each rule of the Concord consent profile', async (t) => {
  const { patient: _p, ...withoutPatient } = consent();
  t.same(errorKeys(withoutPatient), ['required@Consent.patient'], 'patient is required');
  t.same(errorKeys(consent({ scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'research' }] } })), ['value@Consent.scope'], 'scope must be patient-privacy');
  t.same(errorKeys(consent({ scope: { coding: [{ system: 'http://example.org/other', code: 'patient-privacy' }] } })), ['value@Consent.scope'], 'in the consentscope system');
  const { provision: _v, ...withoutProvision } = consent();
  t.same(errorKeys(withoutProvision), ['required@Consent.provision'], 'provision is required');
  t.same(errorKeys(consent({ provision: { period: { start: '2024-01-01' } } })), ['required@Consent.provision.type'], 'provision.type is required');
  t.same(errorKeys(consent({ provision: { type: 'permit' } })), ['required@Consent.provision.period'], 'provision.period is required');
  t.same(errorKeys(consent({ provision: { type: 'permit', period: { end: '2025-01-01' } } })), ['invariant@Consent.provision.period'], 'ccon-1: the period has a start');
});

t.test('the profile applies only to resources that claim it', async (t) => {
  const { meta: _m, patient: _p, ...unprofiled } = consent();
  t.same(errorKeys(unprofiled), [], 'the base spec does not require patient');
});

t.test('claimed profiles the server does not know are a warning', async (t) => {
  const issues = validator.validate(consent({ meta: { profile: ['http://example.org/StructureDefinition/other'] } }));
  t.match(issues, [{ severity: 'warning', code: 'not-supported', expression: ['Consent.meta.profile[0]'] }]);
  t.equal(issues.length, 1);
});

t.test('a profile of another type cannot be claimed', async (t) => {
  t.same(errorKeys({ resourceType: 'Patient', meta: { profile: [PROFILE] } }), ['invalid@Patient.meta.profile[0]']);
});

t.test('a versioned canonical names the same profile', async (t) => {
  const { patient: _p, ...withoutPatient } = consent({ meta: { profile: [`${PROFILE}|0.1.0`] } });
  t.same(errorKeys(withoutPatient), ['required@Consent.patient']);
});
