/**
 * The search benchmark's data set: deterministic, so two runs (and the query
 * generators, which re-derive a patient's facts instead of keeping 1M
 * resources in memory) agree on every value.
 *
 * Shape: a few hundred shared organizations and practitioners, then ~100
 * resources per patient (the patient, encounters, appointments, service
 * requests, claims, a consent, observations), referencing each other as a
 * clinical record does.
 */
import { seededRandom } from '../seeded-random';

export const MRN_SYSTEM = 'http://hospital.example.org/fhir/sid/mrn';
const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const DAY_MS = 86_400_000;
/** Encounters (and everything hanging off them) fall in these twenty years. */
const CARE_START = Date.UTC(2005, 0, 1);
const CARE_DAYS = 20 * 365;

const FAMILIES = [
  'García', 'Müller', 'Núñez', 'Nguyễn', 'Østergaard', 'Håkansson', 'Dvořák', 'Łukasiewicz', 'Çelik', 'Şahin',
  'Lefèvre', 'Gómez', 'Björk', 'Jürgensen', 'Peña', 'Kovačević', 'Ó Briain', 'Sørensen', 'Fernández', 'Bräuer',
  'Smith', 'Jones', 'Williams', 'Brown', 'Taylor', 'Okafor', 'Adeyemi', 'Mensah', 'Haddad', 'Khalil',
  'Kowalski', 'Nowak', 'Novák', 'Horváth', 'Rossi', 'Russo', 'Bianchi', 'Dubois', 'Moreau', 'Laurent',
  'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker', 'Hoffmann', 'Yamamoto', 'Tanaka',
  'Suzuki', 'Watanabe', 'Kim', 'Lee', 'Park', 'Chen', 'Wang', 'Li', 'Zhang', 'Liu',
  'Singh', 'Patel', 'Sharma', 'Gupta', 'Kumar', 'Silva', 'Santos', 'Oliveira', 'Pereira', 'Costa',
  'Ivanov', 'Petrov', 'Popescu', 'Ionescu', 'Papadopoulos', 'Johansson', 'Andersson', 'Nielsen', 'Hansen', 'Virtanen',
  'Murphy', "O'Brien", 'Walsh', 'MacDonald', 'Campbell', 'Hernández', 'López', 'Martínez', 'Rodríguez', 'Sánchez',
  'Pérez', 'Ramírez', 'Cruz', 'Flores', 'Díaz', 'Reyes', 'Morales', 'Jiménez', 'Álvarez', 'Ruiz',
];
const GIVEN = [
  'José', 'Zoë', 'Renée', 'Chloé', 'Jürgen', 'Łucja', 'Søren', 'Inés', 'Émile', 'Ana',
  'Peter', 'Mary', 'Ahmed', 'Fatima', 'Wei', 'Yuki', 'Olusegun', 'Amara', 'Lars', 'Ingrid',
  'François', 'Hélène', 'Miguel', 'Lucía', 'Björn', 'Åsa', 'Dmitri', 'Olga', 'Priya', 'Arjun',
];
const GENDERS = ['female', 'male', 'female', 'male', 'other', 'unknown'] as const;
const CITIES = ['Lyon', 'München', 'Kraków', 'São Paulo', 'Zürich', 'Århus', 'Boston', 'Lagos', 'Osaka', 'Québec'];

const OBSERVATION_CODES = [
  { code: '8867-4', display: 'Heart rate', category: 'vital-signs', unit: '/min', low: 50, span: 70 },
  { code: '9279-1', display: 'Respiratory rate', category: 'vital-signs', unit: '/min', low: 10, span: 14 },
  { code: '8310-5', display: 'Body temperature', category: 'vital-signs', unit: 'Cel', low: 36, span: 3 },
  { code: '29463-7', display: 'Body weight', category: 'vital-signs', unit: 'kg', low: 40, span: 80 },
  { code: '8302-2', display: 'Body height', category: 'vital-signs', unit: 'cm', low: 150, span: 45 },
  { code: '2339-0', display: 'Glucose [Mass/volume] in Blood', category: 'laboratory', unit: 'mg/dL', low: 70, span: 110 },
  { code: '718-7', display: 'Hemoglobin [Mass/volume] in Blood', category: 'laboratory', unit: 'g/dL', low: 10, span: 8 },
  { code: '2093-3', display: 'Cholesterol [Mass/volume] in Serum or Plasma', category: 'laboratory', unit: 'mg/dL', low: 120, span: 160 },
  { code: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood', category: 'laboratory', unit: '%', low: 4, span: 6 },
  { code: '72166-2', display: 'Tobacco smoking status', category: 'social-history' },
];
export const OBSERVATION_CATEGORIES = ['vital-signs', 'laboratory', 'social-history'];
const ENCOUNTER_TYPES = [
  { code: '185349003', display: 'Encounter for check up' },
  { code: '185345009', display: 'Encounter for symptom' },
  { code: '50849002', display: 'Emergency room admission' },
  { code: '390906007', display: 'Follow-up encounter' },
];
const PROCEDURES = [
  { code: '73761001', display: 'Colonoscopy' },
  { code: '399208008', display: 'Plain chest X-ray' },
  { code: '252160004', display: 'Standard chest X-ray' },
  { code: '241615005', display: 'Magnetic resonance imaging of knee' },
];

/** Resources per patient, the patient included. */
const PER_PATIENT = { encounters: 20, appointments: 8, serviceRequests: 8, claims: 12, consents: 1, observations: 50 };
export const RESOURCES_PER_PATIENT = 1 + Object.values(PER_PATIENT).reduce((a, b) => a + b, 0);

export interface DatasetShape {
  patients: number;
  insurers: number;
  providers: number;
  practitioners: number;
  /** Every resource the data set holds. */
  total: number;
}

/** Sizes the data set so that it holds about `resources` resources. */
export function datasetShape(resources: number): DatasetShape {
  const patients = Math.max(1, Math.round(resources / (RESOURCES_PER_PATIENT + 0.1)));
  const insurers = 20;
  const providers = Math.max(5, Math.round(patients / 50));
  const practitioners = Math.max(10, Math.round(patients / 20));
  return { patients, insurers, providers, practitioners, total: insurers + providers + practitioners + patients * RESOURCES_PER_PATIENT };
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
export const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const isoSecond = (ms: number): string => `${new Date(ms).toISOString().slice(0, 19)}Z`;

/** What the query generators need to know about one patient, re-derived from its index alone. */
export interface PatientFacts {
  index: number;
  id: string;
  mrn: string;
  family: string;
  given: string[];
  gender: (typeof GENDERS)[number];
  birthDate: string;
  /** Epoch ms of each encounter's start, ascending. */
  encounterStarts: number[];
}

export function patientFacts(index: number): PatientFacts {
  const random = seededRandom(0x9e3779b9 ^ Math.imul(index + 1, 0x85ebca6b));
  // Birth dates spread over nine decades, 1930 to 2019.
  const birth = Date.UTC(1930, 0, 1) + Math.floor(random() * 90 * 365) * DAY_MS;
  const firstVisit = CARE_START + Math.floor(random() * CARE_DAYS * 0.5) * DAY_MS;
  const encounterStarts = Array.from({ length: PER_PATIENT.encounters }, () => {
    const day = firstVisit + Math.floor(random() * (CARE_START + CARE_DAYS * DAY_MS - firstVisit) / DAY_MS) * DAY_MS;
    return day + (8 + Math.floor(random() * 9)) * 3_600_000 + Math.floor(random() * 4) * 900_000;
  }).sort((a, b) => a - b);
  return {
    index,
    id: `pat-${index}`,
    mrn: `MRN-${String(index).padStart(8, '0')}`,
    family: pick(random, FAMILIES),
    given: [pick(random, GIVEN), pick(random, GIVEN)],
    gender: pick(random, GENDERS),
    birthDate: isoDay(birth),
    encounterStarts,
  };
}

type Resource = Record<string, unknown> & { resourceType: string; id: string };
const ref = (reference: string) => ({ reference });
const coding = (system: string, code: string, display?: string) => ({ coding: [{ system, code, ...(display ? { display } : {}) }] });

function sharedResources(shape: DatasetShape): Resource[] {
  const insurers = Array.from({ length: shape.insurers }, (_, i) => ({
    resourceType: 'Organization', id: `ins-${i}`, active: true, name: `Caisse Mutuelle ${i} Assurance Santé`,
    type: [coding('http://terminology.hl7.org/CodeSystem/organization-type', 'ins', 'Insurance Company')],
  }));
  const providers = Array.from({ length: shape.providers }, (_, i) => ({
    resourceType: 'Organization', id: `org-${i}`, active: true, name: `Clinique ${CITIES[i % CITIES.length]} ${i}`,
    type: [coding('http://terminology.hl7.org/CodeSystem/organization-type', 'prov', 'Healthcare Provider')],
    address: [{ city: CITIES[i % CITIES.length] }],
  }));
  const practitioners = Array.from({ length: shape.practitioners }, (_, i) => ({
    resourceType: 'Practitioner', id: `prac-${i}`, active: true,
    identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: String(1_000_000_000 + i) }],
    name: [{ family: FAMILIES[(i * 7) % FAMILIES.length], given: [GIVEN[i % GIVEN.length]], prefix: ['Dr'] }],
  }));
  return [...insurers, ...providers, ...practitioners];
}

/** One patient's record: the Patient first, then the resources that point at it. */
function patientRecord(shape: DatasetShape, facts: PatientFacts): Resource[] {
  const random = seededRandom(0x5bd1e995 ^ Math.imul(facts.index + 1, 0xcc9e2d51));
  const patient = `Patient/${facts.id}`;
  const provider = () => `Organization/org-${Math.floor(random() * shape.providers)}`;
  const practitioner = () => `Practitioner/prac-${Math.floor(random() * shape.practitioners)}`;
  const insurer = `Organization/ins-${facts.index % shape.insurers}`;
  const encounterId = (k: number) => `enc-${facts.index}-${k}`;
  const resources: Resource[] = [{
    resourceType: 'Patient', id: facts.id,
    identifier: [{ use: 'usual', type: coding('http://terminology.hl7.org/CodeSystem/v2-0203', 'MR'), system: MRN_SYSTEM, value: facts.mrn }],
    active: true,
    name: [{ use: 'official', family: facts.family, given: facts.given }],
    telecom: [{ system: 'phone', value: `+33 4 ${String(10_000_000 + facts.index).slice(-8)}`, use: 'home' }],
    gender: facts.gender, birthDate: facts.birthDate,
    address: [{ use: 'home', line: [`${1 + (facts.index % 200)} rue de l'Église`], city: pick(random, CITIES), postalCode: String(10000 + (facts.index % 89999)) }],
    managingOrganization: ref(provider()),
  }];
  facts.encounterStarts.forEach((start, k) => {
    const type = pick(random, ENCOUNTER_TYPES);
    resources.push({
      resourceType: 'Encounter', id: encounterId(k), status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: type.code === '50849002' ? 'EMER' : 'AMB' },
      type: [coding(SNOMED, type.code, type.display)],
      subject: ref(patient),
      participant: [{ individual: ref(practitioner()) }],
      period: { start: isoSecond(start), end: isoSecond(start + (15 + Math.floor(random() * 90)) * 60_000) },
      serviceProvider: ref(provider()),
    });
  });
  const encounterOf = () => Math.floor(random() * PER_PATIENT.encounters);
  for (let k = 0; k < PER_PATIENT.appointments; k++) {
    const start = (facts.encounterStarts[encounterOf()] as number) - 7 * DAY_MS;
    resources.push({
      resourceType: 'Appointment', id: `apt-${facts.index}-${k}`, status: 'fulfilled',
      serviceType: [coding(SNOMED, '11429006', 'Consultation')],
      start: isoSecond(start), end: isoSecond(start + 30 * 60_000),
      participant: [{ actor: ref(patient), status: 'accepted' }, { actor: ref(practitioner()), status: 'accepted' }],
    });
  }
  for (let k = 0; k < PER_PATIENT.serviceRequests; k++) {
    const e = encounterOf();
    const procedure = pick(random, PROCEDURES);
    resources.push({
      resourceType: 'ServiceRequest', id: `sr-${facts.index}-${k}`, status: 'completed', intent: 'order',
      code: coding(SNOMED, procedure.code, procedure.display),
      subject: ref(patient), encounter: ref(`Encounter/${encounterId(e)}`),
      authoredOn: isoSecond(facts.encounterStarts[e] as number), requester: ref(practitioner()),
    });
  }
  for (let k = 0; k < PER_PATIENT.claims; k++) {
    const e = encounterOf();
    const amount = 50 + Math.floor(random() * 2000);
    resources.push({
      resourceType: 'Claim', id: `clm-${facts.index}-${k}`, status: 'active',
      type: coding('http://terminology.hl7.org/CodeSystem/claim-type', 'professional'), use: 'claim',
      patient: ref(patient), created: isoDay((facts.encounterStarts[e] as number) + DAY_MS),
      insurer: ref(insurer), provider: ref(provider()),
      priority: coding('http://terminology.hl7.org/CodeSystem/processpriority', 'normal'),
      insurance: [{ sequence: 1, focal: true, coverage: { display: `Contrat ${facts.mrn}` } }],
      item: [{ sequence: 1, productOrService: coding(SNOMED, '11429006', 'Consultation'), encounter: [ref(`Encounter/${encounterId(e)}`)], net: { value: amount, currency: 'EUR' } }],
      total: { value: amount, currency: 'EUR' },
    });
  }
  for (let k = 0; k < PER_PATIENT.consents; k++) {
    const from = facts.encounterStarts[0] as number;
    resources.push({
      resourceType: 'Consent', id: `cns-${facts.index}-${k}`, status: 'active',
      scope: coding('http://terminology.hl7.org/CodeSystem/consentscope', 'patient-privacy'),
      category: [coding(LOINC, '59284-0', 'Patient Consent')],
      patient: ref(patient), dateTime: isoSecond(from), organization: [ref(insurer)],
      policyRule: coding('http://terminology.hl7.org/CodeSystem/v3-ActCode', 'OPTIN'),
      provision: { type: 'permit', period: { start: isoDay(from), end: isoDay(from + 10 * 365 * DAY_MS) } },
    });
  }
  for (let k = 0; k < PER_PATIENT.observations; k++) {
    const e = encounterOf();
    const kind = pick(random, OBSERVATION_CODES);
    const value = kind.unit
      ? { valueQuantity: { value: Math.round((kind.low + random() * kind.span) * 10) / 10, unit: kind.unit, system: 'http://unitsofmeasure.org', code: kind.unit } }
      : { valueCodeableConcept: coding(SNOMED, '266919005', 'Never smoked tobacco') };
    resources.push({
      resourceType: 'Observation', id: `obs-${facts.index}-${k}`, status: 'final',
      category: [coding(OBSERVATION_CATEGORY, kind.category)],
      code: coding(LOINC, kind.code, kind.display),
      subject: ref(patient), encounter: ref(`Encounter/${encounterId(e)}`),
      effectiveDateTime: isoSecond(facts.encounterStarts[e] as number), ...value,
    });
  }
  return resources;
}

/** Every resource of the data set, in an order where a reference's target is written before it. */
export function* datasetResources(shape: DatasetShape): Generator<Resource> {
  yield* sharedResources(shape);
  for (let i = 0; i < shape.patients; i++) yield* patientRecord(shape, patientFacts(i));
}
