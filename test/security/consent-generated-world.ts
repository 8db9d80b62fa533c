/**
 * A seeded random world for the consent property test: patients, their
 * clinicians, payers, clinical resources with labels and dates, and
 * Consents combining every kind of condition. Also an oracle for the base
 * policy's facts computed straight from the resources, independently of the
 * queries the consent layer makes.
 */
import type { Consent, ConsentProvision } from 'fhir/r4';
import type { AnyResource } from '../../src/fhir/types';
import { seededRandom } from '../../scripts/seeded-random';

export const BASE = 'http://localhost:8080/fhir';

const CONF = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const LABELS = [undefined, undefined, { system: CONF, code: 'N' }, { system: CONF, code: 'R' }, { system: ACT, code: 'HIV' }, { system: ACT, code: 'PSY' }];
const CODES = [{ system: 'http://loinc.org', code: '1234-5' }, { system: 'http://loinc.org', code: '9999-9' }, { system: 'http://snomed.info/sct', code: '185349003' }];
const DATES = ['2019-03-01', '2020-06-15', '2021-01-10T10:00:00Z', '2022-11-30', '2023-05-05'];
const PERIODS = [{ start: '2020-01-01', end: '2020-12-31' }, { start: '2021-01-01' }, { end: '2019-12-31' }, { start: '2019-01-01', end: '2022-12-31' }];
const CLASSES = ['Encounter', 'Observation', 'Claim', 'Patient', 'Coverage', 'Appointment'];
const PURPOSES = ['TREAT', 'HPAYMT', 'HRESCH', 'ETREAT'];
const ACTIONS = ['access', 'use', 'disclose', 'correct', 'collect'];

export interface World {
  resources: AnyResource[];
  patients: string[];
  /** fhirUser references to ask as. */
  actors: string[];
}

export function generateWorld(seed: number, now: Date): World {
  const r = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const chance = (p: number) => r() < p;
  const resources: AnyResource[] = [];
  const add = (res: Record<string, unknown>) => resources.push(res as AnyResource);
  const patients = ['p1', 'p2', 'p3', 'p4', 'p5'];
  const practitioners = ['d1', 'd2', 'd3'];
  const orgs = ['hosp', 'clinic'];
  const providers = [...practitioners.map((d) => `Practitioner/${d}`), ...orgs.map((o) => `Organization/${o}`), 'PractitionerRole/role2'];
  const meta = () => {
    const label = pick(LABELS);
    return label ? { meta: { security: [label] } } : {};
  };
  const ref = (reference: string) => ({ reference });

  add({ resourceType: 'Organization', id: 'hosp', type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov' }] }] });
  add({ resourceType: 'Organization', id: 'clinic', type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov' }] }] });
  add({ resourceType: 'Organization', id: 'payer', type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'pay' }] }] });
  add({ resourceType: 'Organization', id: 'payer2', type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'pay' }] }] });
  for (const d of practitioners) add({ resourceType: 'Practitioner', id: d });
  add({ resourceType: 'PractitionerRole', id: 'role2', practitioner: ref('Practitioner/d2'), organization: ref(`Organization/${pick(orgs)}`) });
  add({ resourceType: 'PractitionerRole', id: 'role-old', active: false, practitioner: ref('Practitioner/d3'), organization: ref('Organization/hosp') });
  add({ resourceType: 'RelatedPerson', id: 'mum', patient: ref('Patient/p1') });

  for (const p of patients) {
    add({
      resourceType: 'Patient', id: p, ...meta(),
      ...(chance(0.3) ? { generalPractitioner: [ref(pick(providers))] } : {}),
      ...(chance(0.2) ? { managingOrganization: ref(`Organization/${pick(orgs)}`) } : {}),
    });
    for (let i = 0; i < 3; i++) {
      add({
        resourceType: 'Encounter', id: `${p}-enc${i}`, status: 'finished', class: { code: 'AMB' }, ...meta(),
        subject: ref(`Patient/${p}`),
        type: [{ coding: [pick(CODES)] }],
        ...(chance(0.7) ? { period: { start: pick(DATES) } } : {}),
        ...(chance(0.4) ? { participant: [{ individual: ref(pick([...practitioners.map((d) => `Practitioner/${d}`), 'PractitionerRole/role2'])) }] } : {}),
        ...(chance(0.3) ? { serviceProvider: ref(`Organization/${pick(orgs)}`) } : {}),
      });
      add({
        resourceType: 'Observation', id: `${p}-obs${i}`, status: 'final', code: { coding: [pick(CODES)] }, ...meta(),
        subject: ref(`Patient/${p}`), ...(chance(0.8) ? { effectiveDateTime: pick(DATES) } : {}),
        ...(chance(0.3) ? { encounter: ref(`Encounter/${p}-enc0`) } : {}),
      });
    }
    if (chance(0.4)) {
      add({ resourceType: 'ServiceRequest', id: `${p}-ref`, status: 'active', intent: 'order', subject: ref(`Patient/${p}`), performer: [ref(pick(providers))], authoredOn: pick(DATES), ...meta() });
    }
    const payer = pick(['Organization/payer', 'Organization/payer2']);
    if (chance(0.6)) add({ resourceType: 'Coverage', id: `${p}-cov`, status: 'active', beneficiary: ref(`Patient/${p}`), payor: [ref(payer)], ...meta() });
    for (let i = 0; i < 2; i++) {
      const viaCoverage = chance(0.5) && resources.some((x) => x.id === `${p}-cov`);
      add({
        resourceType: 'Claim', id: `${p}-claim${i}`, status: 'active', use: 'claim', created: pick(DATES), ...meta(),
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
        patient: ref(`Patient/${p}`), provider: ref('Organization/hosp'), priority: { coding: [{ code: 'normal' }] },
        insurer: ref(viaCoverage ? 'Organization/payer2' : pick(['Organization/payer', 'Organization/payer2'])),
        insurance: [{ sequence: 1, focal: true, coverage: ref(viaCoverage ? `Coverage/${p}-cov` : 'Coverage/none') }],
      });
    }
    for (let i = 0; i < Math.floor(r() * 3); i++) add({ ...randomConsent(`${p}-consent${i}`, p, now, r) });
  }
  // Shared resources: an Appointment of two patients, with a clinician.
  add({
    resourceType: 'Appointment', id: 'appt-shared', status: 'booked', start: `${pick(DATES)}`, ...meta(),
    participant: [ref('Patient/p1'), ref('Patient/p2'), ref(pick(providers))].map((actor) => ({ actor, status: 'accepted' })),
  });
  add({ resourceType: 'Appointment', id: 'appt-p3', status: 'booked', participant: [{ actor: ref('Patient/p3'), status: 'accepted' }, { actor: ref(pick(providers)), status: 'accepted' }] });
  // A compartment resource about no existing patient, and one about nobody.
  add({ resourceType: 'Observation', id: 'ghost-obs', status: 'final', code: { coding: [CODES[0]] }, subject: ref('Patient/ghost') });
  add({ resourceType: 'Observation', id: 'device-obs', status: 'final', code: { coding: [CODES[0]] }, subject: ref('Device/x') });

  const actors = [
    ...practitioners.map((d) => `Practitioner/${d}`),
    'PractitionerRole/role2',
    'Organization/hosp',
    'Organization/payer',
    'Organization/payer2',
    'Patient/p1',
    'RelatedPerson/mum',
  ];
  return { resources, patients, actors };

  function randomConsent(id: string, patient: string, at: Date, rand: () => number): Consent {
    const year = at.getUTCFullYear();
    const actorRef = () => ref(pick([...providers, 'RelatedPerson/mum', 'Organization/payer', 'Patient/p1']));
    const provision = (depth: number): ConsentProvision => {
      const p: ConsentProvision = { type: pick(['permit', 'deny'] as const) };
      if (chance(0.4)) p.actor = [{ role: { coding: [{ code: 'PRCP' }] }, reference: actorRef() }];
      if (chance(0.2)) p.action = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: pick(ACTIONS) }] }];
      if (chance(0.2)) p.purpose = [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: pick(PURPOSES) }];
      if (chance(0.25)) p.securityLabel = [pick(LABELS.filter((l) => l !== undefined))!];
      if (chance(0.3)) p.class = [{ system: 'http://hl7.org/fhir/resource-types', code: pick(CLASSES) }];
      if (chance(0.2)) p.code = [{ coding: [pick(CODES)] }];
      if (chance(0.2)) p.dataPeriod = pick(PERIODS);
      if (chance(0.15)) p.data = [{ meaning: pick(['instance', 'related'] as const), reference: ref(pick([`Encounter/${patient}-enc0`, `Observation/${patient}-obs1`, `Patient/${patient}`])) }];
      if (depth > 0 && chance(0.3)) p.period = pick([{ start: `${year - 1}-01-01` }, { start: `${year + 1}-01-01` }, { end: `${year - 2}-01-01` }]);
      if (depth < 2 && chance(0.5)) p.provision = Array.from({ length: 1 + Math.floor(rand() * 2) }, () => provision(depth + 1));
      return p;
    };
    const consent: Consent = {
      resourceType: 'Consent', id,
      status: pick(['active', 'active', 'active', 'inactive', 'proposed'] as const),
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: chance(0.9) ? 'patient-privacy' : 'research' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: ref(`Patient/${patient}`),
    };
    if (chance(0.8)) consent.dateTime = pick([`${year - 3}-02-01`, `${year - 1}-07-01T12:00:00Z`, `${year + 1}-01-01`]);
    const rule = pick(['OPTIN', 'OPTOUT', 'OPTIN', undefined]);
    if (rule) consent.policyRule = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: rule }] };
    if (chance(0.8)) {
      consent.provision = provision(0);
      if (chance(0.2)) consent.provision.period = pick([{ start: `${year - 1}-01-01` }, { end: `${year - 1}-01-01` }]);
    }
    return consent;
  }
}

const refOf = (v: unknown) => (v as { reference?: string } | undefined)?.reference;

/** Treatment relationship straight from the resources (docs/access-control.md, "The decision", step 4). */
export function treats(world: World, patient: string, identities: ReadonlySet<string>): boolean {
  const named = (v: unknown) => identities.has(refOf(v) ?? '');
  const about = (res: AnyResource, field: string) => refOf(res[field]) === `Patient/${patient}`;
  return world.resources.some((res) => {
    const r = res as AnyResource & Record<string, any>;
    switch (res.resourceType) {
      case 'Patient':
        return res.id === patient && ((r.generalPractitioner ?? []).some(named) || named(r.managingOrganization));
      case 'Encounter':
        return about(res, 'subject') && ((r.participant ?? []).some((p: any) => named(p.individual)) || named(r.serviceProvider));
      case 'Appointment': {
        const actors = (r.participant ?? []).map((p: any) => p.actor);
        return actors.some((a: unknown) => refOf(a) === `Patient/${patient}`) && actors.some(named);
      }
      case 'ServiceRequest':
        return about(res, 'subject') && (r.performer ?? []).some(named);
      default:
        return false;
    }
  });
}

/** The payer rule straight from the resources: linked Claims, paid Coverages, and the patients of either. */
export function payerLinked(world: World, payer: string, res: AnyResource, patientsOf: (r: AnyResource) => string[]): boolean {
  const pays = (cov: AnyResource | undefined) => ((cov?.payor as unknown[] | undefined) ?? []).some((p) => refOf(p) === payer);
  const byRef = (ref: string | undefined) => world.resources.find((x) => `${x.resourceType}/${x.id}` === ref);
  const linked = (x: AnyResource): boolean => {
    if (x.resourceType === 'Coverage') return pays(x);
    if (x.resourceType !== 'Claim') return false;
    return refOf(x.insurer) === payer || ((x.insurance as any[]) ?? []).some((i) => pays(byRef(refOf(i.coverage))));
  };
  if (res.resourceType === 'Patient') return world.resources.some((x) => linked(x) && patientsOf(x).includes(res.id!));
  return linked(res);
}
