/**
 * The consent layer through HTTP with real signed tokens: reads, searches,
 * totals, break-the-glass, Consent/$evaluate, Patient/$everything, Consent
 * writes and the CapabilityStatement.
 */
import t from 'tap';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import type { AccessPartSource } from '../../src/security/access-filter';
import { consentAccessSource } from '../../src/security/consent/consent-source';
import { BASE_URL, startSecureHarness, type SecureHarness } from './auth-kit';

const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const PRIVACY = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] };
const LOINC_CATEGORY = [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }];

const WORLD: Array<Record<string, unknown>> = [
  { resourceType: 'Practitioner', id: 'gp' },
  { resourceType: 'Practitioner', id: 'other' },
  { resourceType: 'Organization', id: 'payer', type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'pay' }] }] },
  { resourceType: 'Patient', id: 'p', generalPractitioner: [{ reference: 'Practitioner/gp' }] },
  { resourceType: 'Patient', id: 'q' },
  { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p' }, participant: [{ individual: { reference: 'Practitioner/gp' } }] },
  { resourceType: 'Encounter', id: 'e2', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p' }, meta: { security: [{ system: ACT, code: 'HIV' }] } },
  { resourceType: 'Encounter', id: 'e3', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/q' } },
];

async function start(t: { teardown(fn: () => unknown): void }): Promise<SecureHarness> {
  let source: AccessPartSource | undefined;
  const h = await startSecureHarness({ accessSources: [(request) => source?.(request)] });
  source = consentAccessSource(h.storage, BASE_URL);
  t.teardown(() => h.close());
  const ctx = systemContext(BASE_URL);
  for (const resource of WORLD) await h.storage.create(ctx, resource as AnyResource);
  return h;
}

const ids = (body: string) => ((JSON.parse(body).entry ?? []) as Array<{ resource: { id: string } }>).map((e) => e.resource.id).sort();

t.test('reads and searches see what consent permits; hidden reads are 404; break-the-glass is flagged', async (t) => {
  const h = await start(t);
  const gp = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/gp' });
  const other = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/other' });
  const emergency = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/other', purpose_of_use: 'ETREAT' });

  const gpSearch = await h.as(gp, { url: '/fhir/Encounter?_total=accurate' });
  t.same(ids(gpSearch.body), ['e1'], 'treating GP: the patient’s Encounter, not the HIV-labelled one, not another patient’s');
  t.equal(JSON.parse(gpSearch.body).total, 1, 'the total counts the same world');
  t.equal(gpSearch.headers['x-break-glass'], undefined, 'no break-the-glass header on an ordinary request');
  t.equal((await h.as(gp, { url: '/fhir/Encounter/e2' })).statusCode, 404, 'sensitive: 404 as if absent');
  t.equal((await h.as(gp, { url: '/fhir/Encounter/e2/_history' })).statusCode, 404, 'history of a hidden resource: 404');
  t.equal((await h.as(other, { url: '/fhir/Encounter/e1' })).statusCode, 404, 'unrelated practitioner: 404');
  t.same(ids((await h.as(other, { url: '/fhir/Encounter' })).body), [], 'unrelated practitioner: empty search');

  const glass = await h.as(emergency, { url: '/fhir/Encounter' });
  t.same(ids(glass.body), ['e1', 'e2', 'e3'], 'break-the-glass opens everything');
  t.equal(glass.headers['x-break-glass'], 'true');
  const missing = await h.as(emergency, { url: '/fhir/Encounter/none' });
  t.equal(missing.statusCode, 404);
  t.equal(missing.headers['x-break-glass'], undefined, 'not on a response break-the-glass did not honour');
});

t.test('a new Consent takes effect on the very next request', async (t) => {
  const h = await start(t);
  const gp = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/gp' });
  const patient = await h.token({ scope: 'patient/*.cruds', fhirUser: 'Patient/p', patient: 'p' });
  t.same(ids((await h.as(gp, { url: '/fhir/Encounter' })).body), ['e1']);
  const lockbox = { resourceType: 'Consent', status: 'active', scope: PRIVACY, category: LOINC_CATEGORY, patient: { reference: 'Patient/p' }, dateTime: '2020-01-01', policyRule: { coding: [{ system: ACT, code: 'OPTOUT' }] } };
  const created = await h.as(patient, { method: 'POST', url: '/fhir/Consent', payload: lockbox });
  t.equal(created.statusCode, 201, 'the patient writes their own Consent');
  t.same(ids((await h.as(gp, { url: '/fhir/Encounter' })).body), [], 'the lockbox hides the record from the GP at once');
  t.same(ids((await h.as(patient, { url: '/fhir/Encounter' })).body), ['e1', 'e2'], 'the patient still sees everything of theirs');
});

t.test('Consent/$evaluate explains, and only to those who may ask', async (t) => {
  const h = await start(t);
  const ask = (token: string, resource: string, actor = 'Practitioner/gp') =>
    h.as(token, {
      method: 'POST',
      url: '/fhir/Consent/$evaluate',
      payload: { resourceType: 'Parameters', parameter: [{ name: 'actor', valueReference: { reference: actor } }, { name: 'purpose', valueCode: 'TREAT' }, { name: 'resource', valueReference: { reference: resource } }] },
    });
  const patient = await h.token({ scope: 'patient/*.rs', fhirUser: 'Patient/p', patient: 'p' });
  const gp = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/gp' });
  const other = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/other' });
  const part = (body: string, name: string) => (JSON.parse(body).parameter as Array<Record<string, unknown>>).find((p) => p.name === name);

  const permit = await ask(patient, 'Encounter/e1');
  t.equal(permit.statusCode, 200);
  t.match(part(permit.body, 'decision'), { valueCode: 'permit' });
  t.match(part(permit.body, 'basis'), { valueString: 'treatment-relationship' });
  const sensitive = await ask(gp, 'Encounter/e2');
  t.match(part(sensitive.body, 'decision'), { valueCode: 'deny' }, 'the treating GP may ask; the answer explains the withholding');
  t.match(part(sensitive.body, 'basis'), { valueString: 'sensitive-data' });
  t.equal((await ask(other, 'Encounter/e1')).statusCode, 403, 'an unrelated practitioner may not ask');
  t.equal((await ask(other, 'Encounter/nothing')).statusCode, 403, 'nor learn what does not exist');
  t.equal((await ask(await h.token({ scope: 'patient/*.rs', fhirUser: 'Patient/q', patient: 'q' }), 'Encounter/e1')).statusCode, 403, 'nor another patient');
});

t.test('Patient/$everything: the visible part of the compartment and what it references', async (t) => {
  const h = await start(t);
  const gp = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/gp' });
  const everything = await h.as(gp, { url: '/fhir/Patient/p/$everything' });
  t.equal(everything.statusCode, 200);
  t.same(ids(everything.body), ['e1', 'gp', 'p'], 'the Patient, the visible Encounter and the Practitioner it references; not the HIV Encounter');
  t.equal((await h.as(gp, { url: '/fhir/Patient/q/$everything' })).statusCode, 404, 'a patient the GP may not see: 404');
  t.equal((await h.as(gp, { url: '/fhir/Patient/p/$everything?name=x' })).statusCode, 400, 'an unknown parameter is refused');
  const typed = await h.as(gp, { url: '/fhir/Patient/p/$everything?_type=Encounter' });
  t.same(ids(typed.body), ['e1', 'gp', 'p'], '_type narrows the compartment (the Patient comes back as referenced by the Encounter)');
  const readOnly = await h.token({ scope: 'user/*.r', fhirUser: 'Practitioner/gp' });
  t.equal((await h.as(readOnly, { url: '/fhir/Patient/p/$everything' })).statusCode, 403, 'needs s as well as r');
});

t.test('Consent writes: the patient, and a treating practitioner with user/Consent.cu; nobody else', async (t) => {
  const h = await start(t);
  const consent = (patient: string) => ({ resourceType: 'Consent', status: 'active', scope: PRIVACY, category: LOINC_CATEGORY, patient: { reference: `Patient/${patient}` }, policyRule: { coding: [{ system: ACT, code: 'OPTIN' }] } });
  const write = async (claims: Parameters<SecureHarness['token']>[0], patient: string) =>
    (await h.as(await h.token(claims), { method: 'POST', url: '/fhir/Consent', payload: consent(patient) })).statusCode;
  t.equal(await write({ scope: 'user/Consent.cu', fhirUser: 'Practitioner/gp' }, 'p'), 201, 'treating practitioner with user/Consent.cu');
  t.equal(await write({ scope: 'user/Consent.c', fhirUser: 'Practitioner/gp' }, 'p'), 403, 'without u');
  t.equal(await write({ scope: 'user/Consent.cu', fhirUser: 'Practitioner/gp' }, 'q'), 403, 'a patient the practitioner does not treat');
  t.equal(await write({ scope: 'user/Consent.cu', fhirUser: 'Practitioner/other' }, 'p'), 403, 'an unrelated practitioner');
  t.equal(await write({ scope: 'user/Consent.cu', fhirUser: 'Organization/payer' }, 'p'), 403, 'a payer, always');
  t.equal(await write({ scope: 'patient/Consent.cu', fhirUser: 'Patient/p', patient: 'p' }, 'p'), 201, 'the patient');
  const stored = await h.storage.create(systemContext(BASE_URL), { ...consent('p'), id: 'c-of-p' } as AnyResource);
  const moved = await h.as(await h.token({ scope: 'user/Consent.cu', fhirUser: 'Practitioner/gp' }), { method: 'PUT', url: `/fhir/Consent/${stored.id}`, payload: { ...consent('q'), id: stored.id } });
  t.equal(moved.statusCode, 403, 'a Consent cannot be moved to a patient the writer may not act for');
});

t.test('the CapabilityStatement lists the operations', async (t) => {
  const h = await start(t);
  const statement = JSON.parse((await h.request({ url: '/fhir/metadata' })).body);
  const ops = (type: string) => statement.rest[0].resource.find((r: { type: string }) => r.type === type).operation.map((o: { name: string }) => o.name);
  t.ok(ops('Consent').includes('evaluate'));
  t.ok(ops('Patient').includes('everything'));
  t.notOk(ops('Encounter').includes('evaluate'));
});
