/**
 * A Patient user's token confines every scope to the patient's own record:
 * `user/*.rs` (which a client allowed both kinds of scope can obtain from
 * the authorization server) reads no other patient's data, whatever the
 * other patients' Consents say. A RelatedPerson with `user/` scopes sees
 * what the patients' Consents allow, nothing more. Over HTTP, with tokens
 * from the authorization code flow.
 */
import t from 'tap';
import type { SecureHarness } from './auth-kit';
import { exchange, signInAndApprove, startAuthServerWorld } from './authorization-kit';

const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const PRIVACY = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] };
const LOINC_CATEGORY = [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }];

const observation = (id: string, patient: string) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { text: 'weight' },
  subject: { reference: `Patient/${patient}` },
});

/** A permit of `patient`'s record: to `actor`, or, without one, to anyone (a provision without actor matches every actor). */
const permit = (id: string, patient: string, actor?: string) => ({
  resourceType: 'Consent',
  id,
  status: 'active',
  scope: PRIVACY,
  category: LOINC_CATEGORY,
  patient: { reference: `Patient/${patient}` },
  dateTime: '2024-01-01',
  policyRule: { coding: [{ system: ACT, code: 'OPTIN' }] },
  provision: {
    type: 'permit',
    ...(actor ? { actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: actor } }] } : {}),
  },
});

async function tokenOf(h: SecureHarness, username: 'alice' | 'dana', scope: string, patient?: string): Promise<string> {
  const flow = await signInAndApprove(h, { username, parameters: { scope }, ...(patient ? { patient } : {}) });
  const response = await exchange(h, flow.code, flow.verifier);
  if (response.statusCode !== 200) throw new Error(response.body);
  const body = response.json();
  if (body.scope !== scope) throw new Error(`granted ${body.scope}`);
  return body.access_token;
}

const ids = (body: string) => ((JSON.parse(body).entry ?? []) as Array<{ resource: { resourceType: string; id: string } }>).map((e) => `${e.resource.resourceType}/${e.resource.id}`).sort();

for (const consent of [false, true]) {
  t.test(`a Patient user with user/ scopes sees only their own record (consent layer ${consent ? 'on' : 'off'})`, async (t) => {
    const { h, operator } = await startAuthServerWorld({ consent });
    t.teardown(h.close);
    const put = async (resource: { resourceType: string; id: string }) =>
      t.ok((await h.as(operator, { method: 'PUT', url: `/fhir/${resource.resourceType}/${resource.id}`, payload: resource })).statusCode < 300, `${resource.resourceType}/${resource.id}`);
    await put(observation('o1', 'p1'));
    await put(observation('o2', 'p2'));
    // p2 opens the record to everyone: still not to another patient.
    await put(permit('c2', 'p2'));
    // The operator's reads leave AuditEvents naming each patient.
    t.equal((await h.as(operator, { url: '/fhir/Observation/o2' })).statusCode, 200);
    t.equal((await h.as(operator, { url: '/fhir/Observation/o1' })).statusCode, 200);
    await h.app.auditTrail.flush();
    for (const scope of ['openid fhirUser user/*.rs', 'openid fhirUser launch/patient user/*.rs', 'launch/patient patient/*.rs user/*.rs']) {
      const alice = await tokenOf(h, 'alice', scope);
      t.equal((await h.as(alice, { url: '/fhir/Patient/p2' })).statusCode, 404, `${scope}: another patient's record is absent`);
      t.equal((await h.as(alice, { url: '/fhir/Observation/o2' })).statusCode, 404, `${scope}: and their Observation`);
      t.equal((await h.as(alice, { url: '/fhir/RelatedPerson/r2' })).statusCode, 404, `${scope}: and their RelatedPerson`);
      t.same(ids((await h.as(alice, { url: '/fhir/Patient' })).body), ['Patient/p1'], `${scope}: a search finds the own record only`);
      t.same(ids((await h.as(alice, { url: '/fhir/Observation?_include=Observation:subject' })).body), ['Observation/o1', 'Patient/p1'], `${scope}: includes too`);
      t.equal((await h.as(alice, { url: '/fhir/Patient/p2/$everything' })).statusCode, 404, `${scope}: $everything of another patient`);
      t.equal((await h.as(alice, { url: '/fhir/Observation/o1' })).statusCode, 200, `${scope}: the own record is readable`);
      const log = (await h.as(alice, { url: '/fhir/AuditEvent?_count=200' })).json();
      const named = (log.entry ?? []).flatMap((entry: { resource: { entity?: Array<{ what?: { reference?: string } }> } }) => (entry.resource.entity ?? []).map((entity) => entity.what?.reference));
      t.ok(named.includes('Patient/p1'), `${scope}: the own access log is readable`);
      t.notOk(named.includes('Patient/p2'), `${scope}: not another patient's`);
    }
    // Another issuer may grant more than this server's clients may have: the same confinement.
    const writer = await h.token({ scope: 'user/*.cruds system/*.rs', fhirUser: 'Patient/p1' });
    t.equal((await h.as(writer, { url: '/fhir/Observation/o2' })).statusCode, 404, 'system/ scopes do not open another patient either');
    const write = await h.as(writer, { method: 'PUT', url: '/fhir/Observation/o3', payload: observation('o3', 'p2') });
    t.equal(write.statusCode, 403, "user/*.cruds writes nothing into another patient's record");
    t.equal((await h.as(writer, { method: 'PUT', url: '/fhir/Observation/o4', payload: observation('o4', 'p1') })).statusCode, 201, 'into the own, yes');
  });
}

t.test('a RelatedPerson with user/ scopes sees what the patients Consents allow', async (t) => {
  const { h, operator } = await startAuthServerWorld({ consent: true });
  t.teardown(h.close);
  const put = async (resource: { resourceType: string; id: string }) =>
    t.ok((await h.as(operator, { method: 'PUT', url: `/fhir/${resource.resourceType}/${resource.id}`, payload: resource })).statusCode < 300, `${resource.resourceType}/${resource.id}`);
  await put(observation('o1', 'p1'));
  await put(observation('o2', 'p2'));
  // dana acts for p1 as RelatedPerson/r1.
  const dana = await tokenOf(h, 'dana', 'openid fhirUser user/*.rs', 'p1');
  t.same(ids((await h.as(dana, { url: '/fhir/Observation' })).body), [], 'no Consent: the base policy denies a family member');
  t.equal((await h.as(dana, { url: '/fhir/Observation/o1' })).statusCode, 404);
  await put(permit('c1', 'p1', 'RelatedPerson/r1'));
  t.same(ids((await h.as(dana, { url: '/fhir/Observation' })).body), ['Observation/o1'], "p1's Consent names r1: p1's record, not p2's");
  t.equal((await h.as(dana, { url: '/fhir/Observation/o2' })).statusCode, 404, "p2's record stays closed to r1");
});
