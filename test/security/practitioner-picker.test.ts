/**
 * A Practitioner user's patient picker (`launch/patient`): a name search
 * that lists only the patients the consent rules let the practitioner see,
 * filtered and audited as a search of Patients is, and a choice the server
 * checks again. Over HTTP, consent layer on.
 */
import t from 'tap';
import type { SecureHarness } from './auth-kit';
import { authorizeUrl, Browser, decodeJwtPayload, exchange, PASSWORDS, pkcePair, redirectParameters, startAuthServerWorld } from './authorization-kit';

const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const consent = (id: string, patient: string, extra: Record<string, unknown>) => ({
  resourceType: 'Consent',
  id,
  status: 'active',
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
  category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
  patient: { reference: `Patient/${patient}` },
  dateTime: '2024-01-01',
  ...extra,
});

async function world(t: { teardown(fn: () => unknown): void }) {
  const w = await startAuthServerWorld({ consent: true });
  t.teardown(w.h.close);
  const put = async (resource: Record<string, unknown>) => {
    const response = await w.h.as(w.operator, { method: 'PUT', url: `/fhir/${resource.resourceType}/${resource.id}`, payload: resource });
    if (response.statusCode >= 300) throw new Error(response.body);
  };
  return { ...w, put };
}

/** paul (Practitioner/d1) asks for a patient context: the picker page after sign-in and approval. */
async function openPicker(h: SecureHarness, scope = 'openid fhirUser launch/patient patient/*.rs') {
  const browser = new Browser(h);
  const { verifier, challenge } = pkcePair();
  await browser.get(authorizeUrl({ code_challenge: challenge, scope }));
  const approval = await browser.post('/auth/login', [['username', 'paul'], ['password', PASSWORDS.paul]]);
  const offered = [...approval.body.matchAll(/name="scope" value="([^"]*)"/g)].map((match) => match[1] ?? '');
  const picker = await browser.post('/auth/approve', [...offered.map((value): [string, string] => ['scope', value]), ['decision', 'allow']]);
  return { browser, verifier, picker };
}

const listed = (body: string) => [...body.matchAll(/name="patient" value="([^"]*)"[^>]*><label for="patient-\d+">([^<]*)<\/label>/g)].map((match) => `${match[1]}:${match[2]}`);

t.test('the picker lists only the patients consent lets the practitioner see; the choice becomes the token patient', async (t) => {
  const { h, put, operator } = await world(t);
  await put({ resourceType: 'Patient', id: 'p1', name: [{ given: ['Alice'], family: 'Moreau' }], generalPractitioner: [{ reference: 'Practitioner/d1' }] });
  // p2 (Bruno Moreau): no relationship with d1, no Consent.
  await put({ resourceType: 'Patient', id: 'p3', name: [{ given: ['Carla'], family: 'Diaz' }] });
  await put(consent('c3', 'p3', { policyRule: { coding: [{ system: ACT, code: 'OPTIN' }] }, provision: { type: 'permit', actor: [{ role: { coding: [{ code: 'IRCP' }] }, reference: { reference: 'Practitioner/d1' } }] } }));
  await put({ resourceType: 'Patient', id: 'p4', name: [{ given: ['Dora'], family: 'Moreau' }], generalPractitioner: [{ reference: 'Practitioner/d1' }] });
  await put(consent('c4', 'p4', { policyRule: { coding: [{ system: ACT, code: 'OPTOUT' }] } }));

  const { browser, verifier, picker } = await openPicker(h);
  t.equal(picker.statusCode, 200, picker.body.slice(0, 300));
  t.match(picker.body, /<label for="search">Patient name<\/label><input id="search" name="search"/, 'a search field');
  t.match(picker.body, /<button type="submit">Continue<\/button>/);
  t.equal(picker.headers['x-frame-options'], 'DENY');
  t.same(listed(picker.body), ['p3:Carla Diaz', 'p1:Alice Moreau'], 'treated (p1) and consented (p3); not the stranger (p2) nor the lockbox (p4)');
  const hidden: Array<[string, string]> = [['csrf', browser.field('csrf') ?? ''], ['request', browser.field('request') ?? '']];
  const byName = await browser.post('/auth/pick', [...hidden, ['search', 'moreau']]);
  t.same(listed(byName.body), ['p1:Alice Moreau'], 'a name search, still filtered');
  const none = await browser.post('/auth/pick', [...hidden, ['search', 'Bruno']]);
  t.same(listed(none.body), [], 'a hidden patient is not found by name');
  t.match(none.body, /No patient you may see matches/);
  t.notMatch(none.body, /Continue/);
  for (const forged of ['p2', 'p4', 'nobody', '../x']) {
    t.equal((await browser.post('/auth/pick', [...hidden, ['patient', forged]])).statusCode, 400, `a patient not listed (${forged}) cannot be chosen`);
  }
  const chosen = await browser.post('/auth/pick', [...hidden, ['patient', 'p1']]);
  t.equal(chosen.statusCode, 302);
  const token = (await exchange(h, redirectParameters(chosen).get('code') ?? '', verifier)).json();
  t.equal(token.patient, 'p1', 'the token response names the chosen patient');
  t.match(decodeJwtPayload(token.access_token), { fhirUser: 'Practitioner/d1', patient: 'p1' });
  t.equal((await h.as(token.access_token, { url: '/fhir/Patient/p1' })).statusCode, 200);
  t.equal((await h.as(token.access_token, { url: '/fhir/Patient/p3' })).statusCode, 404, 'patient/ scopes stay in the chosen patient');

  await h.app.auditTrail.flush();
  const events = (await h.as(operator, { url: '/fhir/AuditEvent?agent=Practitioner/d1&_count=100' })).json();
  const searched = (events.entry ?? [])
    .map((entry: { resource: { subtype?: Array<{ code: string }>; entity?: Array<{ what?: { reference?: string } }> } }) => entry.resource)
    .filter((event: { subtype?: Array<{ code: string }> }) => event.subtype?.[0]?.code === 'search-type');
  const patientsSeen = searched.flatMap((event: { entity?: Array<{ what?: { reference?: string } }> }) => (event.entity ?? []).map((entity) => entity.what?.reference));
  t.ok(patientsSeen.includes('Patient/p1') && patientsSeen.includes('Patient/p3'), 'each listing is audited per patient listed');
  t.notOk(patientsSeen.includes('Patient/p2') || patientsSeen.includes('Patient/p4'), 'hidden patients appear in no event');
});

t.test('the picker shows a page of patients and says when more match', async (t) => {
  const { h, put } = await world(t);
  for (let index = 0; index < 22; index++) {
    await put({ resourceType: 'Patient', id: `q${index}`, name: [{ family: `Zed${String(index).padStart(2, '0')}` }], generalPractitioner: [{ reference: 'Practitioner/d1' }] });
  }
  const { browser, picker } = await openPicker(h);
  t.equal(listed(picker.body).length, 20, 'twenty at once');
  t.match(picker.body, /More patients match/);
  const narrowed = await browser.post('/auth/pick', [['search', 'Zed2']]);
  t.same(listed(narrowed.body), ['q20:Zed20', 'q21:Zed21']);
  t.notMatch(narrowed.body, /More patients match/);
});

t.test('a practitioner without a patient context gets user/ scopes and no picker', async (t) => {
  const { h } = await world(t);
  const browser = new Browser(h);
  const { verifier, challenge } = pkcePair();
  await browser.get(authorizeUrl({ code_challenge: challenge, scope: 'openid fhirUser user/*.rs' }));
  await browser.post('/auth/login', [['username', 'paul'], ['password', PASSWORDS.paul]]);
  const done = await browser.post('/auth/approve', [['scope', 'openid'], ['scope', 'fhirUser'], ['scope', 'user/*.rs'], ['decision', 'allow']]);
  t.equal(done.statusCode, 302);
  const token = (await exchange(h, redirectParameters(done).get('code') ?? '', verifier)).json();
  t.notOk(token.patient);
  t.equal(decodeJwtPayload(token.access_token).fhirUser, 'Practitioner/d1');
});
