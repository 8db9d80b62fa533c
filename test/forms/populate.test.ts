/**
 * `Questionnaire/$populate` over HTTP with real tokens: every population
 * mechanism on the intake form, the consent cases, the limits, and the audit.
 */
import t from 'tap';
import type { QuestionnaireResponse, QuestionnaireResponseItem } from 'fhir/r4';
import { BASE_URL, type SecureHarness } from '../security/auth-kit';
import { INTAKE, startConsentHarness, world } from './world';

const start = (t: { teardown(fn: () => unknown): void }): Promise<SecureHarness> => startConsentHarness(t, BASE_URL, world());

const subject = (id = 'p1') => ({ name: 'subject', valueReference: { reference: `Patient/${id}` } });
const byCanonical = { name: 'canonical', valueUri: 'http://concord.example/fhir/Questionnaire/intake|1' };

interface Populated {
  status: number;
  response: QuestionnaireResponse;
  issues: Array<{ diagnostics?: string; expression?: string[] }>;
}

async function populate(h: SecureHarness, token: string, parameter: unknown[], url = '/fhir/Questionnaire/$populate'): Promise<Populated> {
  const res = await h.as(token, { method: 'POST', url, payload: { resourceType: 'Parameters', parameter } });
  const body = JSON.parse(res.body);
  if (res.statusCode !== 200) return { status: res.statusCode, response: body, issues: [] };
  const part = (name: string) => body.parameter.find((p: { name: string }) => p.name === name)?.resource;
  return { status: res.statusCode, response: part('response'), issues: part('issues')?.issue ?? [] };
}

/** Every item of a response, nested ones included, by linkId (repeated groups give several). */
function items(response: QuestionnaireResponse): Map<string, QuestionnaireResponseItem[]> {
  const found = new Map<string, QuestionnaireResponseItem[]>();
  const walk = (list: QuestionnaireResponseItem[] | undefined) => {
    for (const item of list ?? []) {
      found.set(item.linkId, [...(found.get(item.linkId) ?? []), item]);
      walk(item.item);
      for (const answer of item.answer ?? []) walk(answer.item);
    }
  };
  walk(response.item);
  return found;
}

const answerOf = (response: QuestionnaireResponse, linkId: string) => items(response).get(linkId)?.[0]?.answer?.[0];

t.test('the operator populates every mechanism of the intake form', async (t) => {
  const h = await start(t);
  const operator = await h.token({ scope: 'system/*.rs' });
  const { status, response, issues } = await populate(h, operator, [byCanonical, subject(), { name: 'context', part: [{ name: 'name', valueString: 'encounter' }, { name: 'content', valueReference: { reference: 'Encounter/e1' } }] }]);
  t.equal(status, 200);
  t.same(issues, [], 'nothing failed');
  t.match(response, { resourceType: 'QuestionnaireResponse', status: 'in-progress', questionnaire: 'http://concord.example/fhir/Questionnaire/intake|1', subject: { reference: 'Patient/p1' } });
  t.ok(Date.parse(response.authored ?? '') > Date.now() - 60_000, 'authored now');
  t.same(answerOf(response, 'given'), { valueString: 'Ana' }, '%patient: the official name, first given');
  t.same(answerOf(response, 'family'), { valueString: 'Rivera' });
  t.same(answerOf(response, 'birth-date'), { valueDate: '1980-04-02' });
  t.same(answerOf(response, 'gender'), { valueCoding: { system: 'http://hl7.org/fhir/administrative-gender', code: 'female', display: 'Female' } }, 'a code answers with its answerOption');
  t.same(answerOf(response, 'phone'), { valueString: '555-0100' });

  const allergies = items(response).get('allergy') ?? [];
  t.equal(allergies.length, 3, 'one repetition per active allergy of p1 (the inactive one and p2’s left out; the SUD-labelled one is visible to the operator)');
  const substances = (items(response).get('allergy-substance') ?? []).map((item) => item.answer?.[0]?.valueCoding?.display ?? item.answer?.[0]?.valueString);
  t.same(substances.sort(), ['Cashew nuts', 'Naltrexone', 'Penicillin'], 'codings as open-choice answers');
  t.same(answerOf(response, 'allergy-note'), { valueString: 'Hives' }, 'each repetition sees its own row');

  const meds = (items(response).get('medication-name') ?? []).map((item) => item.answer?.[0]?.valueString).sort();
  t.same(meds, ['Lisinopril 10 mg', 'Metformin 500 mg'], 'an x-fhir-query itemPopulationContext: active statements only');

  t.same(answerOf(response, 'weight'), { valueQuantity: { value: 72.5, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } }, 'the latest final weight in the period, not the preliminary, focused or older ones');
  t.same(answerOf(response, 'systolic'), { valueDecimal: 128 }, 'a component of the blood-pressure panel');
  t.same(answerOf(response, 'diastolic'), { valueDecimal: 82 });
  t.same(answerOf(response, 'insurer'), { valueString: 'Acme Health' }, 'an x-fhir-query variable');
  t.same(answerOf(response, 'smoker'), { valueBoolean: false }, 'initial[x] as the default');
});

t.test('instance level, questionnaire inline and by reference give the same form', async (t) => {
  const h = await start(t);
  const operator = await h.token({ scope: 'system/*.rs' });
  const a = await populate(h, operator, [subject()], '/fhir/Questionnaire/intake/$populate');
  const b = await populate(h, operator, [{ name: 'questionnaire', resource: INTAKE }, subject()]);
  const c = await populate(h, operator, [{ name: 'questionnaireRef', valueReference: { reference: 'Questionnaire/intake' } }, subject()]);
  for (const x of [a, b, c]) t.equal(x.status, 200);
  const strip = (r: QuestionnaireResponse) => ({ ...r, authored: undefined });
  t.same(strip(b.response), strip(a.response));
  t.same(strip(c.response), strip(a.response));
  t.equal((await populate(h, operator, [subject()], '/fhir/Questionnaire/nope/$populate')).status, 404, 'unknown questionnaire');
  t.equal((await populate(h, operator, [{ name: 'canonical', valueUri: 'http://nowhere/q' }, subject()])).status, 404, 'unknown canonical');
  t.equal((await populate(h, operator, [subject()])).status, 400, 'no questionnaire named');
  t.equal((await populate(h, operator, [byCanonical])).status, 400, 'subject is required');
  t.equal((await populate(h, operator, [byCanonical, { name: 'subject', valueString: 'p1' }])).status, 400, 'subject of the wrong type');
});

t.test('consent: the form holds only what the caller may see', async (t) => {
  const h = await start(t);
  const gp = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/gp' });
  const stranger = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/stranger' });
  const daughter = await h.token({ scope: 'user/*.rs', fhirUser: 'RelatedPerson/daughter', purpose_of_use: 'FAMRQT' });

  const treating = await populate(h, gp, [byCanonical, subject()]);
  t.equal(treating.status, 200);
  t.equal((items(treating.response).get('allergy') ?? []).length, 2, 'treating GP: the SUD-labelled allergy is withheld');
  t.same(answerOf(treating.response, 'weight')?.valueQuantity?.value, 72.5);

  const family = await populate(h, daughter, [byCanonical, subject()]);
  t.equal(family.status, 200);
  t.equal((items(family.response).get('allergy') ?? []).length, 2, 'the daughter’s Consent does not name the SUD label: withheld');
  t.same(answerOf(family.response, 'given'), { valueString: 'Ana' }, 'what her Consent opens is there');

  const outsider = await populate(h, stranger, [byCanonical, subject()]);
  t.equal(outsider.status, 200, 'a hidden subject is not a 404');
  const linkIds = [...items(outsider.response).keys()];
  t.same(linkIds, ['smoker'], 'nothing of the patient: only the form’s own default');
  t.notOk(outsider.issues.some((issue) => /Rivera|Ana|p1/.test(issue.diagnostics ?? '')), 'the issues do not name the data either');

  const scoped = await h.token({ scope: 'user/Questionnaire.r user/Patient.r', fhirUser: 'Practitioner/gp' });
  const narrow = await populate(h, scoped, [byCanonical, subject()]);
  t.equal(narrow.status, 200);
  t.same(answerOf(narrow.response, 'given'), { valueString: 'Ana' }, 'the Patient scope reads the patient');
  t.notOk(items(narrow.response).has('allergy'), 'no AllergyIntolerance scope: no allergies');
  t.notOk(items(narrow.response).has('weight'), 'no Observation scope: no weight');

  const noRead = await h.token({ scope: 'user/Patient.rs', fhirUser: 'Practitioner/gp' });
  t.equal((await populate(h, noRead, [byCanonical, subject()])).status, 403, 'needs read rights on Questionnaire');
});

t.test('a bad or endless expression is an issue of its item, never a 500 or a stall', async (t) => {
  const h = await start(t);
  const operator = await h.token({ scope: 'system/*.rs' });
  const initial = (expression: string, language = 'text/fhirpath') => [
    { url: 'http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-initialExpression', valueExpression: { language, expression } },
  ];
  const questionnaire = {
    resourceType: 'Questionnaire',
    status: 'active',
    item: [
      { linkId: 'syntax', type: 'string', extension: initial('%patient.name.(') },
      { linkId: 'endless', type: 'integer', extension: initial('(1 | 2 | 3).repeat(iif($this < 10000000, $this + 1, {})).count()') },
      { linkId: 'wrong-type', type: 'boolean', extension: initial('%patient.birthDate') },
      { linkId: 'bad-query', type: 'string', extension: initial('Patient?nonsense=1', 'application/x-fhir-query') },
      { linkId: 'fine', type: 'string', extension: initial('%patient.name.family.first()') },
    ],
  };
  const started = Date.now();
  const { status, response, issues } = await populate(h, operator, [{ name: 'questionnaire', resource: questionnaire }, subject()]);
  t.ok(Date.now() - started < 5_000, 'bounded');
  t.equal(status, 200);
  t.same(answerOf(response, 'fine'), { valueString: 'Rivera' }, 'the other items are still populated');
  for (const linkId of ['syntax', 'endless', 'wrong-type', 'bad-query']) {
    t.ok(
      issues.some((issue) => issue.expression?.[0] === `Questionnaire.repeat(item).where(linkId='${linkId}')`),
      `${linkId}: an issue naming the item`,
    );
  }
  t.match(issues.find((issue) => issue.expression?.[0]?.includes("'endless'"))?.diagnostics, /evaluation steps/);
});

t.test('the populate is audited with the patient’s entity', async (t) => {
  const h = await start(t);
  const gp = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/gp' });
  const operator = await h.token({ scope: 'system/*.rs' });
  t.equal((await populate(h, gp, [byCanonical, subject()])).status, 200);
  await h.app.auditTrail.flush();
  const log = JSON.parse((await h.as(operator, { url: '/fhir/AuditEvent?patient=Patient/p1&_count=100' })).body);
  const events = (log.entry ?? []).map((entry: { resource: Record<string, unknown> }) => entry.resource) as Array<{
    outcomeDesc?: string;
    agent: Array<{ who?: { reference?: string } }>;
    entity?: Array<{ what: { reference: string } }>;
  }>;
  const populateEvent = events.find((event) => event.outcomeDesc === 'operation $populate' && event.agent.some((a) => a.who?.reference === 'Practitioner/gp'));
  t.ok(populateEvent, 'an AuditEvent of the $populate by the GP, found by the patient');
  const entities = (populateEvent?.entity ?? []).map((entity) => entity.what.reference);
  t.ok(entities.includes('Patient/p1'), 'the patient’s entity');
  t.ok(entities.includes('Observation/w-new'), 'the resources the form was filled from');
});
