/** decision.ts, rule by rule: each test would fail if its rule were missing or wrong. */
import t from 'tap';
import type { Consent, ConsentProvision } from 'fhir/r4';
import type { AnyResource } from '../../src/fhir/types';
import { createIndexer } from '../../src/search/indexer';
import type { ConsentActor } from '../../src/security/consent/actor';
import { decide, type BaseFacts, type Decision } from '../../src/security/consent/decision';
import type { EvaluationEnv } from '../../src/security/consent/evaluation-env';
import { patientsOf } from '../../src/security/consent/patients-of';

const BASE_URL = 'http://localhost:8080/fhir';
const NOW = Date.parse('2024-06-01T12:00:00Z');
const indexer = createIndexer({ baseUrl: BASE_URL });
const CONF = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const LOINC = 'http://loinc.org';

function actor(reference: string, extra: Partial<ConsentActor> = {}): ConsentActor {
  const kind = reference.split('/')[0] as ConsentActor['kind'];
  return { reference, kind, providerOrganization: false, payer: false, ...extra, identities: new Set([reference, ...(extra.identities ?? [])]) };
}
const DOC = actor('Practitioner/doc', { identities: new Set(['Organization/hosp']) });
const OTHER_DOC = actor('Practitioner/other');
const PAYER = actor('Organization/payer', { payer: true });

function env(a: ConsentActor = DOC, purpose = 'TREAT', action: EvaluationEnv['action'] = 'access'): EvaluationEnv {
  return { actor: a, purpose, action, now: NOW, baseUrl: BASE_URL };
}

function encounter(extra: Record<string, unknown> = {}): AnyResource {
  return {
    resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p' },
    period: { start: '2021-03-01', end: '2021-03-02' }, type: [{ coding: [{ system: LOINC, code: '1234-5' }] }], ...extra,
  } as AnyResource;
}
const labelled = (system: string, code: string) => encounter({ meta: { security: [{ system, code }] } });

const related = { treatmentRelationship: true, payerLinked: false };
const unrelated = { treatmentRelationship: false, payerLinked: false };

let ids = 0;
function consent(provision?: ConsentProvision, extra: Partial<Consent> = {}): Consent {
  return {
    resourceType: 'Consent', id: `c${++ids}`, status: 'active', patient: { reference: 'Patient/p' },
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: LOINC, code: '59284-0' }] }],
    dateTime: '2024-01-01',
    policyRule: { coding: [{ system: ACT, code: 'OPTIN' }] },
    ...(provision ? { provision } : {}),
    ...extra,
  };
}

function run(resource: AnyResource, consents: Consent[], base: BaseFacts = related, e: EvaluationEnv = env()): Decision {
  const facts = { resourceType: resource.resourceType, id: resource.id!, entries: indexer(resource) };
  return decide(e, facts, patientsOf(facts).map((patientId) => ({ patientId, consents, base })));
}
const verdict = (...args: Parameters<typeof run>) => run(...args).decision;
const actorIs = (ref: string) => [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: ref } }];

t.test('step 1: the patient always sees their own record, whatever their Consents say', async (t) => {
  const d = run(encounter(), [consent(undefined, { policyRule: { coding: [{ system: ACT, code: 'OPTOUT' }] } })], unrelated, env(actor('Patient/p'), 'PATRQT'));
  t.match(d, { decision: 'permit', basis: { rule: 'patient-self' } });
  t.equal(verdict(encounter(), [], unrelated, env(actor('Patient/q'), 'PATRQT')), 'deny', 'another patient is not P');
});

t.test('step 2: break-the-glass is ETREAT by a Practitioner or PractitionerRole, flagged', async (t) => {
  const lockbox = [consent(undefined, { policyRule: { coding: [{ system: ACT, code: 'OPTOUT' }] } })];
  t.match(run(labelled(CONF, 'V'), lockbox, unrelated, env(OTHER_DOC, 'ETREAT')), { decision: 'permit', breakGlass: true, basis: { rule: 'break-the-glass' } });
  t.match(run(encounter(), lockbox, unrelated, env(actor('PractitionerRole/r'), 'ETREAT')), { decision: 'permit', breakGlass: true });
  t.match(run(encounter(), lockbox, unrelated, env(actor('Organization/hosp', { providerOrganization: true }), 'ETREAT')), { decision: 'deny', breakGlass: false }, 'an organization cannot');
  t.match(run(encounter(), lockbox, unrelated, env(actor('RelatedPerson/mum'), 'ETREAT')), { decision: 'deny', breakGlass: false });
});

t.test('step 3: which Consents count', async (t) => {
  const denyAll = (extra: Partial<Consent>) => consent({ type: 'deny' }, extra);
  t.match(run(encounter(), [denyAll({})]), { decision: 'deny', basis: { consent: `Consent/c${ids}` } }, 'an active privacy Consent decides');
  t.equal(verdict(encounter(), [denyAll({ status: 'inactive' })]), 'permit', 'inactive: ignored, the base policy decides');
  t.equal(verdict(encounter(), [denyAll({ status: 'proposed' })]), 'permit', 'proposed: ignored');
  t.equal(verdict(encounter(), [denyAll({ dateTime: '2024-07-01' })]), 'permit', 'dated in the future: ignored');
  t.equal(verdict(encounter(), [denyAll({ scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'research' }] } })]), 'permit', 'not patient-privacy: ignored');
  t.equal(verdict(encounter(), [consent({ type: 'deny', period: { end: '2024-05-31' } })]), 'permit', 'expired (root period over): ignored');
  t.equal(verdict(encounter(), [consent({ type: 'deny', period: { start: '2024-07-01' } })]), 'permit', 'root period not begun: ignored');
  t.equal(verdict(encounter(), [consent({ type: 'deny', period: { start: '2024-01-01', end: '2024-12-31' } })]), 'deny', 'root period covering now: counts');
});

t.test('step 3: newest first, the first applicable decides', async (t) => {
  const older = consent({ type: 'deny' }, { dateTime: '2023-01-01' });
  const newer = consent({ type: 'permit' }, { dateTime: '2024-02-01' });
  t.match(run(encounter(), [older, newer], unrelated), { decision: 'permit', basis: { consent: `Consent/${newer.id}` } });
  t.match(run(encounter(), [newer, older].reverse(), unrelated), { decision: 'permit' }, 'the order given does not matter');
  const notApplicable = consent({ type: 'permit', actor: actorIs('Practitioner/someone-else') }, { dateTime: '2024-03-01', policyRule: { coding: [{ system: ACT, code: 'OTHER' }] } });
  t.match(run(encounter(), [older, notApplicable], unrelated), { decision: 'deny', basis: { consent: `Consent/${older.id}` } }, 'a not-applicable newer Consent passes on');
  const undated = consent({ type: 'permit' }, { dateTime: undefined, meta: { lastUpdated: '2024-05-01T00:00:00Z' } });
  t.match(run(encounter(), [older, undated], unrelated), { basis: { consent: `Consent/${undated.id}` } }, 'no dateTime: dated by meta.lastUpdated');
  const sameDay = consent({ type: 'deny' }, { dateTime: '2024-02-01', meta: { lastUpdated: '2024-02-03T00:00:00Z' } });
  t.match(run(encounter(), [newer, sameDay], unrelated), { basis: { consent: `Consent/${sameDay.id}` } }, 'same dateTime: the later lastUpdated first');
});

t.test('policyRule defaults', async (t) => {
  const optout = (p?: ConsentProvision) => consent(p, { policyRule: { coding: [{ system: ACT, code: 'OPTOUT' }] } });
  t.match(run(encounter(), [optout()]), { decision: 'deny', path: [] }, 'OPTOUT without provision: lockbox, even for a treating clinician');
  t.equal(verdict(encounter(), [optout({ type: 'permit', actor: actorIs('Practitioner/x') })]), 'deny', 'OPTOUT whose provision does not match: deny');
  t.equal(verdict(encounter(), [optout({ type: 'permit', actor: actorIs('Practitioner/doc') })]), 'permit', 'OPTOUT with a matching permit');
  t.equal(verdict(encounter(), [consent()], unrelated), 'permit', 'OPTIN: TREAT by a practitioner, even without a relationship');
  t.equal(verdict(encounter(), [consent()], unrelated, env(actor('Organization/hosp', { providerOrganization: true }))), 'permit', 'OPTIN: provider organization');
  t.match(run(encounter(), [consent()], { treatmentRelationship: false, payerLinked: true }, env(PAYER, 'HPAYMT')), { decision: 'permit', basis: { rule: 'payer-claims' } }, 'OPTIN does not apply to a payer: the base policy decides');
  t.match(run(encounter(), [consent()], unrelated, env(DOC, 'HRESCH')), { decision: 'deny', basis: { rule: 'no-relationship' } }, 'OPTIN: another purpose is not applicable');
  t.equal(verdict(encounter(), [consent(undefined, { policyRule: { coding: [{ system: ACT, code: 'OTHER' }] } })], unrelated), 'deny', 'another code: not applicable');
});

t.test('provision conditions, each alone', async (t) => {
  const denyIf = (p: ConsentProvision) => verdict(encounter(), [consent({ type: 'deny', ...p })]);
  t.equal(denyIf({ actor: actorIs('Practitioner/doc') }), 'deny', 'actor: the fhirUser');
  t.equal(denyIf({ actor: actorIs(`${BASE_URL}/Organization/hosp`) }), 'deny', 'actor: the organization, absolute reference');
  t.equal(denyIf({ actor: actorIs('Practitioner/x') }), 'permit', 'actor: someone else');
  const action = (code: string) => ({ action: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code }] }] });
  for (const code of ['access', 'use', 'disclose']) t.equal(denyIf(action(code)), 'deny', `action ${code} covers reading`);
  t.equal(denyIf(action('correct')), 'permit', 'action correct does not cover reading');
  t.equal(verdict(encounter(), [consent({ type: 'deny', ...action('correct') })], related, env(DOC, 'TREAT', 'correct')), 'deny', 'correct covers writing');
  t.equal(denyIf({ purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' }] }), 'deny', 'purpose equal');
  t.equal(denyIf({ purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HPAYMT' }] }), 'permit', 'purpose different');
  t.equal(denyIf({ class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Encounter' }] }), 'deny', 'class: the type');
  t.equal(denyIf({ class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Observation' }] }), 'permit', 'class: another type');
  t.equal(denyIf({ code: [{ coding: [{ system: LOINC, code: '1234-5' }] }] }), 'deny', 'code: the type token');
  t.equal(denyIf({ code: [{ coding: [{ system: 'http://other', code: '1234-5' }] }] }), 'permit', 'code: other system');
  t.equal(denyIf({ dataPeriod: { start: '2021-01-01', end: '2021-12-31' } }), 'deny', 'dataPeriod containing the date');
  t.equal(denyIf({ dataPeriod: { start: '2022-01-01' } }), 'permit', 'dataPeriod not containing it');
  t.equal(denyIf({ dataPeriod: { start: '2021-03-02' } }), 'permit', 'dataPeriod overlapping only part of it');
  t.equal(verdict(encounter({ period: undefined }), [consent({ type: 'deny', dataPeriod: { start: '2000-01-01' } })]), 'permit', 'dataPeriod: no date, no match');
  t.equal(denyIf({ securityLabel: [{ system: CONF, code: 'N' }] }), 'permit', 'securityLabel absent on R');
  t.equal(verdict(labelled(CONF, 'N'), [consent({ type: 'deny', securityLabel: [{ system: CONF, code: 'N' }] })]), 'deny', 'deny by security label');
  t.equal(denyIf({ data: [{ meaning: 'instance', reference: { reference: 'Encounter/e1' } }] }), 'deny', 'data instance: R itself');
  t.equal(denyIf({ data: [{ meaning: 'instance', reference: { reference: 'Encounter/e2' } }] }), 'permit', 'data instance: another');
  const obs = { resourceType: 'Observation', id: 'o1', status: 'final', code: {}, subject: { reference: 'Patient/p' }, encounter: { reference: 'Encounter/e1' } } as AnyResource;
  t.equal(verdict(obs, [consent({ type: 'deny', data: [{ meaning: 'related', reference: { reference: 'Encounter/e1' } }] })]), 'deny', 'data related: R references it');
  t.equal(verdict(obs, [consent({ type: 'deny', data: [{ meaning: 'instance', reference: { reference: 'Encounter/e1' } }] })]), 'permit', 'data instance does not reach referrers');
  t.equal(denyIf({ actor: actorIs('Practitioner/doc'), class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Observation' }] }), 'permit', 'all conditions must match');
});

t.test('nested provisions', async (t) => {
  const permitDocDenyHiv: ConsentProvision = {
    type: 'permit', actor: actorIs('Practitioner/doc'),
    provision: [{ type: 'deny', code: [{ coding: [{ system: LOINC, code: '1234-5' }] }] }],
  };
  t.match(run(encounter(), [consent(permitDocDenyHiv)], unrelated), { decision: 'deny', path: ['Consent.provision', 'Consent.provision.provision[0]'] }, 'nested deny inside permit');
  t.match(run(encounter({ type: [] }), [consent(permitDocDenyHiv)], unrelated), { decision: 'permit', path: ['Consent.provision'] }, 'nested not matching: the root decides');
  const siblings: ConsentProvision = { type: 'deny', provision: [{ type: 'permit' }, { type: 'deny', class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Encounter' }] }] };
  t.match(run(encounter(), [consent(siblings)]), { decision: 'deny', path: ['Consent.provision', 'Consent.provision.provision[1]'] }, 'deny wins among siblings');
  const deeper: ConsentProvision = { type: 'permit', provision: [{ type: 'deny', provision: [{ type: 'permit', actor: actorIs('Practitioner/doc') }] }] };
  t.match(run(encounter(), [consent(deeper)], unrelated), { decision: 'permit', path: ['Consent.provision', 'Consent.provision.provision[0]', 'Consent.provision.provision[0].provision[0]'] }, 'recursively');
  t.equal(verdict(encounter(), [consent({ type: 'permit', provision: [{ type: 'deny', period: { start: '2025-01-01' } }] })], unrelated), 'permit', 'nested period in the future: no match');
  t.equal(verdict(encounter(), [consent({ type: 'permit', provision: [{ type: 'deny', period: { start: '2024-01-01' } }] })], unrelated), 'deny', 'nested period covering now: match');
  t.equal(verdict(encounter(), [consent({ type: 'permit', provision: [{ actor: actorIs('Practitioner/doc') }] })], unrelated), 'permit', 'a nested provision without type inherits');
});

t.test('step 4: base policy', async (t) => {
  t.match(run(encounter(), [], related), { decision: 'permit', basis: { rule: 'treatment-relationship' } });
  t.match(run(encounter(), [], unrelated), { decision: 'deny', basis: { rule: 'no-relationship' } }, 'an unrelated provider');
  t.equal(verdict(encounter(), [], related, env(DOC, 'HRESCH')), 'deny', 'treatment relationship but another purpose');
  t.equal(verdict(encounter(), [], related, env(actor('RelatedPerson/mum'), 'FAMRQT')), 'deny', 'a family member without a Consent');
  t.equal(verdict(encounter(), [], { treatmentRelationship: false, payerLinked: true }, env(PAYER, 'HPAYMT')), 'permit', 'payer: linked');
  t.equal(verdict(encounter(), [], { treatmentRelationship: false, payerLinked: false }, env(PAYER, 'HPAYMT')), 'deny', 'payer: not linked');
  t.equal(verdict(encounter(), [], { treatmentRelationship: true, payerLinked: true }, env(PAYER, 'TREAT')), 'deny', 'payer acting for another purpose');
});

t.test('step 5: sensitive data needs a permit naming the label or the resource', async (t) => {
  for (const [system, code] of [[CONF, 'R'], [CONF, 'V'], [ACT, 'HIV'], [ACT, 'PSY'], [ACT, 'SUD'], [ACT, 'ETH'], [ACT, 'SDV']] as const) {
    t.match(run(labelled(system, code), [], related), { decision: 'deny', basis: { rule: 'sensitive-data' }, withheld: { rule: 'treatment-relationship' } }, `${code}: base policy never discloses`);
  }
  t.equal(verdict(labelled(CONF, 'N'), [], related), 'permit', 'N is not sensitive');
  t.equal(verdict(labelled(ACT, 'HIV'), [consent({ type: 'permit' })], unrelated), 'deny', 'a blanket permit does not disclose');
  t.equal(verdict(labelled(ACT, 'HIV'), [consent()], unrelated), 'deny', 'nor does OPTIN');
  t.equal(verdict(labelled(ACT, 'HIV'), [consent({ type: 'permit', securityLabel: [{ system: ACT, code: 'HIV' }] })], unrelated), 'permit', 'a permit naming the label');
  t.equal(verdict(labelled(ACT, 'HIV'), [consent({ type: 'permit', securityLabel: [{ system: ACT, code: 'HIV' }, { system: ACT, code: 'PSY' }] })], unrelated), 'permit', 'naming it among others');
  t.equal(verdict(encounter({ meta: { security: [{ system: ACT, code: 'HIV' }, { system: CONF, code: 'R' }] } }), [consent({ type: 'permit', securityLabel: [{ system: ACT, code: 'HIV' }] })], unrelated), 'deny', 'every sensitive label must be named');
  t.equal(verdict(labelled(ACT, 'HIV'), [consent({ type: 'permit', data: [{ meaning: 'instance', reference: { reference: 'Encounter/e1' } }] })], unrelated), 'permit', 'a permit naming R');
  const nestedNaming: ConsentProvision = { type: 'deny', provision: [{ type: 'permit', actor: actorIs('Practitioner/doc'), securityLabel: [{ system: ACT, code: 'HIV' }] }] };
  t.equal(verdict(labelled(ACT, 'HIV'), [consent(nestedNaming)], unrelated), 'permit', 'a nested permit naming it');
  t.match(run(labelled(ACT, 'HIV'), [consent({ type: 'permit', actor: actorIs('Practitioner/doc') })], unrelated), { decision: 'deny', withheld: { consent: `Consent/c${ids}` } }, 'the withheld permit is reported');
  t.equal(verdict(labelled(ACT, 'HIV'), [], unrelated, env(actor('Patient/p'), 'PATRQT')), 'permit', 'never hidden from P');
});

t.test('resources of several patients, and of none', async (t) => {
  const appt = (actors: string[]) => ({ resourceType: 'Appointment', id: 'a', status: 'booked', participant: actors.map((reference) => ({ actor: { reference }, status: 'accepted' })) }) as AnyResource;
  const facts = (r: AnyResource) => ({ resourceType: r.resourceType, id: r.id!, entries: indexer(r) });
  const shared = appt(['Patient/p', 'Patient/q']);
  const lockbox = consent(undefined, { patient: { reference: 'Patient/q' }, policyRule: { coding: [{ system: ACT, code: 'OPTOUT' }] } });
  const cases = (qConsents: Consent[], pBase: BaseFacts, qBase: BaseFacts) => [
    { patientId: 'p', consents: [], base: pBase },
    { patientId: 'q', consents: qConsents, base: qBase },
  ];
  t.equal(decide(env(), facts(shared), cases([], related, unrelated)).decision, 'permit', 'one patient permits, the other has no Consent: disclosed');
  t.match(decide(env(), facts(shared), cases([lockbox], related, unrelated)), { decision: 'deny', patientId: 'q' }, "the other patient's Consent vetoes");
  t.equal(decide(env(), facts(shared), cases([], unrelated, unrelated)).decision, 'deny', 'nobody permits');
  t.match(run(encounter({ subject: { reference: 'Group/g' } }), [], related), { decision: 'deny', basis: { rule: 'no-patient' } }, 'no patient: nobody but break-the-glass');
});
