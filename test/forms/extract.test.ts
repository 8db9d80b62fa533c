/**
 * `QuestionnaireResponse/$extract` round trip over HTTP: populate, answer,
 * extract, post, populate again; the same extraction posted twice creates
 * nothing new; and the read rights it needs.
 */
import t from 'tap';
import type { Bundle, QuestionnaireResponse, QuestionnaireResponseItem } from 'fhir/r4';
import { systemContext } from '../../src/context';
import { BASE_URL, type SecureHarness } from '../security/auth-kit';
import { startConsentHarness, world } from './world';

const start = (t: { teardown(fn: () => unknown): void }): Promise<SecureHarness> => startConsentHarness(t, BASE_URL, world());

async function populated(h: SecureHarness, token: string): Promise<QuestionnaireResponse> {
  const res = await h.as(token, {
    method: 'POST',
    url: '/fhir/Questionnaire/intake/$populate',
    payload: { resourceType: 'Parameters', parameter: [{ name: 'subject', valueReference: { reference: 'Patient/p1' } }] },
  });
  return JSON.parse(res.body).parameter[0].resource;
}

/** Sets the answer of every item with `linkId` (nested ones included). */
function answer(items: QuestionnaireResponseItem[] | undefined, linkId: string, value: Record<string, unknown>): void {
  for (const item of items ?? []) {
    if (item.linkId === linkId) item.answer = [value];
    answer(item.item, linkId, value);
  }
}

async function count(h: SecureHarness, type: string): Promise<number> {
  const result = await h.storage.search(systemContext(BASE_URL), { types: [type], where: [], sort: [], count: 1000, offset: 0, total: 'accurate' });
  return result.total ?? result.records.length;
}

const answerOf = (response: QuestionnaireResponse, linkId: string): unknown => {
  let found: unknown;
  const walk = (items: QuestionnaireResponseItem[] | undefined) => {
    for (const item of items ?? []) {
      if (item.linkId === linkId && found === undefined) found = item.answer?.[0];
      walk(item.item);
    }
  };
  walk(response.item);
  return found;
};

t.test('populate, answer, extract, post, populate again', async (t) => {
  const h = await start(t);
  const operator = await h.token({ scope: 'system/*.cruds' });
  const form = await populated(h, operator);
  answer(form.item, 'weight', { valueQuantity: { value: 75, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } });
  answer(form.item, 'phone', { valueString: '555-0199' });
  form.item?.push({ linkId: 'new-allergy', item: [{ linkId: 'new-allergy-substance', answer: [{ valueString: 'Bee venom' }] }] });
  form.item?.push({ linkId: 'new-allergy', item: [{ linkId: 'new-allergy-substance', answer: [{ valueString: 'Shellfish' }] }] });
  const stored = await h.as(operator, { method: 'PUT', url: '/fhir/QuestionnaireResponse/qr1', payload: { ...form, id: 'qr1', status: 'completed', author: { reference: 'Patient/p1' } } });
  t.equal(stored.statusCode, 201, 'the answered form is stored');

  const extracted = await h.as(operator, { method: 'POST', url: '/fhir/QuestionnaireResponse/qr1/$extract', payload: { resourceType: 'Parameters' } });
  t.equal(extracted.statusCode, 200);
  const bundle = JSON.parse(extracted.body) as Bundle;
  t.equal(bundle.type, 'transaction', 'a transaction Bundle, not stored');
  t.equal(await count(h, 'Provenance'), 0, 'nothing stored by $extract itself');

  const byType = (type: string) => (bundle.entry ?? []).filter((entry) => entry.resource?.resourceType === type);
  const observations = byType('Observation');
  t.equal(observations.length, 1, 'one Observation: the only observationExtract item');
  t.match(observations[0], {
    resource: {
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
      valueQuantity: { value: 75 },
      subject: { reference: 'Patient/p1' },
      performer: [{ reference: 'Patient/p1' }],
      derivedFrom: [{ reference: 'QuestionnaireResponse/qr1' }],
      identifier: [{ system: 'http://concord.example/fhir/sid/extracted', value: 'qr1/weight/0' }],
    },
    request: { method: 'POST', url: 'Observation', ifNoneExist: 'identifier=http%3A%2F%2Fconcord.example%2Ffhir%2Fsid%2Fextracted%7Cqr1%2Fweight%2F0' },
  });
  t.equal((observations[0]?.resource as { effectiveDateTime?: string }).effectiveDateTime, form.authored, 'effective = authored');

  const allergies = byType('AllergyIntolerance');
  t.equal(allergies.length, 2, 'one AllergyIntolerance per repetition of the extraction group');
  t.match(allergies.map((entry) => entry.resource), [
    { patient: { reference: 'Patient/p1' }, code: { text: 'Bee venom' }, clinicalStatus: { coding: [{ code: 'active' }] }, identifier: [{ value: 'qr1/new-allergy/0' }] },
    { code: { text: 'Shellfish' }, identifier: [{ value: 'qr1/new-allergy/1' }] },
  ]);

  const patch = (bundle.entry ?? []).find((entry) => entry.request?.method === 'PATCH');
  t.equal(patch?.request?.url, 'Patient/p1', 'the subject’s own element is a PATCH');
  const operations = JSON.parse(Buffer.from(String((patch?.resource as { data?: string }).data), 'base64').toString());
  t.same(operations, [{ op: 'replace', path: '/telecom', value: [{ system: 'phone', value: '555-0100' }, { system: 'phone', value: '555-0199' }] }], 'it keeps the existing phone and adds the answered one');

  const provenance = byType('Provenance')[0];
  t.match(provenance, { resource: { entity: [{ role: 'source', what: { reference: 'QuestionnaireResponse/qr1' } }] }, request: { ifNoneExist: 'entity=QuestionnaireResponse%2Fqr1' } });
  t.equal((provenance?.resource as unknown as { target: unknown[] }).target.length, 4, 'every extracted resource and the subject are its targets');

  const posted = await h.as(operator, { method: 'POST', url: '/fhir', payload: bundle });
  t.equal(posted.statusCode, 200, 'the extraction posts as a transaction');
  const counts = { obs: await count(h, 'Observation'), allergies: await count(h, 'AllergyIntolerance'), provenance: await count(h, 'Provenance') };
  t.equal(counts.provenance, 1);

  const again = await populated(h, operator);
  t.same(answerOf(again, 'weight'), { valueQuantity: { value: 75, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' } }, 'the new weight comes back');
  const substances = JSON.stringify(again.item);
  t.ok(substances.includes('Bee venom') && substances.includes('Shellfish'), 'the new allergies come back');
  const patient = (await h.storage.read(systemContext(BASE_URL), 'Patient', 'p1'))?.resource as unknown as { telecom: unknown[] };
  t.equal(patient.telecom.length, 2, 'the patient has both phones');

  const twice = await h.as(operator, { method: 'POST', url: '/fhir', payload: bundle });
  t.equal(twice.statusCode, 200, 'posting the same extraction again succeeds');
  t.same({ obs: await count(h, 'Observation'), allergies: await count(h, 'AllergyIntolerance'), provenance: await count(h, 'Provenance') }, counts, 'and creates nothing new');
  t.equal(((await h.storage.read(systemContext(BASE_URL), 'Patient', 'p1'))?.resource as unknown as { telecom: unknown[] }).telecom.length, 2, 'nor a second copy of the phone');

  const reextracted = JSON.parse((await h.as(operator, { method: 'POST', url: '/fhir/QuestionnaireResponse/qr1/$extract', payload: { resourceType: 'Parameters' } })).body) as Bundle;
  t.notOk(reextracted.entry?.some((entry) => entry.request?.method === 'PATCH'), 'extracting again: the phone is there, no PATCH');
});

t.test('$extract reads the response as the caller', async (t) => {
  const h = await start(t);
  const operator = await h.token({ scope: 'system/*.cruds' });
  const form = await populated(h, operator);
  await h.as(operator, { method: 'PUT', url: '/fhir/QuestionnaireResponse/qr1', payload: { ...form, id: 'qr1', status: 'completed' } });
  const noRead = await h.token({ scope: 'user/Patient.rs user/Questionnaire.rs', fhirUser: 'Practitioner/gp' });
  const stranger = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/stranger' });
  const gp = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/gp' });
  const call = (token: string, url = '/fhir/QuestionnaireResponse/qr1/$extract') => h.as(token, { method: 'POST', url, payload: { resourceType: 'Parameters' } });
  t.equal((await call(noRead)).statusCode, 403, 'no read right on QuestionnaireResponse');
  t.equal((await call(stranger)).statusCode, 404, 'a response the caller may not see is not known');
  t.equal((await call(gp)).statusCode, 200, 'the treating practitioner');
  t.equal((await call(operator, '/fhir/QuestionnaireResponse/nope/$extract')).statusCode, 404);
  const inline = await h.as(operator, { method: 'POST', url: '/fhir/QuestionnaireResponse/$extract', payload: { resourceType: 'Parameters', parameter: [{ name: 'questionnaire-response', resource: { ...form, id: 'qr1' } }] } });
  t.equal(inline.statusCode, 200, 'type level with the response inline');
  const noId = await h.as(operator, { method: 'POST', url: '/fhir/QuestionnaireResponse/$extract', payload: { resourceType: 'Parameters', parameter: [{ name: 'questionnaire-response', resource: form }] } });
  t.equal(noId.statusCode, 400, 'an inline response needs its id');
});
