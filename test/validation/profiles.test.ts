import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createValidator } from '../../src/validation/validator';
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

/** Profiles written as differentials, in a profiles folder of their own. */
function folderValidator(...profiles: Record<string, unknown>[]) {
  const dir = mkdtempSync(join(tmpdir(), 'concord-profiles-'));
  profiles.forEach((p, i) => writeFileSync(join(dir, `p${i}.json`), JSON.stringify(p)));
  return createValidator({ profilesDir: dir });
}

const SLICED_PATIENT = {
  resourceType: 'StructureDefinition',
  url: 'http://example.org/StructureDefinition/sliced-patient',
  name: 'SlicedPatient',
  type: 'Patient',
  derivation: 'constraint',
  baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
  differential: {
    element: [
      { id: 'Patient.identifier', path: 'Patient.identifier', slicing: { discriminator: [{ type: 'pattern', path: '$this' }], rules: 'open' } },
      { id: 'Patient.identifier:mrn', path: 'Patient.identifier', sliceName: 'mrn', min: 1, max: '1', patternIdentifier: { system: 'urn:example:mrn' } },
      { id: 'Patient.extension', path: 'Patient.extension', slicing: { discriminator: [{ type: 'value', path: 'url' }], rules: 'open' } },
      { id: 'Patient.extension:birthPlace', path: 'Patient.extension', sliceName: 'birthPlace', min: 1, max: '1', type: [{ code: 'Extension', profile: ['http://hl7.org/fhir/StructureDefinition/patient-birthPlace'] }] },
      { id: 'Patient.contact', path: 'Patient.contact', slicing: { discriminator: [{ type: 'exists', path: 'organization' }], rules: 'open' } },
      { id: 'Patient.contact:employer', path: 'Patient.contact', sliceName: 'employer', min: 0, max: '1' },
      { id: 'Patient.contact:employer.organization', path: 'Patient.contact.organization', min: 1 },
    ],
  },
};

function slicedPatient(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    meta: { profile: [SLICED_PATIENT.url] },
    identifier: [{ system: 'urn:example:other', value: '1' }, { system: 'urn:example:mrn', value: '42' }],
    extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city: 'Ghent' } }],
    ...overrides,
  };
}

t.test('slicing in a profile of the folder: pattern, value (extension url) and exists discriminators', async (t) => {
  const v = folderValidator(SLICED_PATIENT);
  t.same(errorKeys(slicedPatient(), v), [], 'conforms');
  t.same(errorKeys(slicedPatient({ identifier: [{ system: 'urn:example:other', value: '1' }] }), v), ['required@Patient.identifier'], 'the mrn slice (pattern) is missing');
  t.same(errorKeys(slicedPatient({ extension: [{ url: 'http://example.org/other', valueString: 'x' }] }), v), ['required@Patient.extension'], 'the birthPlace extension (by url) is missing');
  const employer = { organization: { reference: 'Organization/o1' } };
  t.same(errorKeys(slicedPatient({ contact: [employer, { name: { family: 'Doe' } }] }), v), [], 'one contact with an organization, one without');
  t.same(errorKeys(slicedPatient({ contact: [employer, employer] }), v), ['structure@Patient.contact'], 'two contacts in the employer slice (exists) of max 1');
});

t.test('a differential profile is checked with the known profile it derives from', async (t) => {
  const v = folderValidator({
    resourceType: 'StructureDefinition',
    url: 'http://example.org/StructureDefinition/noted-vitals',
    name: 'NotedVitals',
    type: 'Observation',
    derivation: 'constraint',
    baseDefinition: 'http://hl7.org/fhir/StructureDefinition/vitalsigns',
    differential: { element: [{ id: 'Observation.note', path: 'Observation.note', min: 1 }] },
  });
  const observation = {
    resourceType: 'Observation',
    meta: { profile: ['http://example.org/StructureDefinition/noted-vitals'] },
    status: 'final',
    code: { text: 'pulse' },
    subject: { reference: 'Patient/p1' },
    effectiveDateTime: '2024-01-02',
    valueQuantity: { value: 60 },
  };
  t.same(errorKeys(observation, v), ['required@Observation.note', 'required@Observation.category', 'required@Observation.category'], 'the own note rule, then those of vitalsigns');
});
