import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { NO_MATCH } from '../../src/claims/member-match';
import { REGULAR_POLICY, SENSITIVE_POLICY } from '../../src/claims/member-consent';
import { BASE_URL } from '../security/auth-kit';
import { startClaimsWorld, type ClaimsWorld } from './claims-world';

const FAMILY: Array<Record<string, unknown>> = [
  { resourceType: 'Patient', id: 'anna', name: [{ family: 'Roe', given: ['Anna'] }], gender: 'female', birthDate: '2010-05-05' },
  { resourceType: 'Patient', id: 'beth', name: [{ family: 'Roe', given: ['Beth'] }], gender: 'female', birthDate: '2010-05-05' },
  { resourceType: 'Patient', id: 'anna-dup', name: [{ family: 'Moe', given: ['Cara'] }], gender: 'female', birthDate: '2012-01-01' },
  { resourceType: 'Patient', id: 'anna-dup-2', name: [{ family: 'Moe', given: ['Cara'] }], gender: 'female', birthDate: '2012-01-01' },
  ...['anna', 'beth'].map((p) => ({
    resourceType: 'Coverage',
    id: `fam-${p}`,
    status: 'active',
    subscriberId: 'S-FAM',
    beneficiary: { reference: `Patient/${p}` },
    payor: [{ reference: 'Organization/payer-a' }],
  })),
  ...['anna-dup', 'anna-dup-2'].map((p) => ({
    resourceType: 'Coverage',
    id: `dup-${p}`,
    status: 'active',
    subscriberId: 'S-DUP',
    beneficiary: { reference: `Patient/${p}` },
    payor: [{ reference: 'Organization/payer-a' }],
  })),
  { resourceType: 'Observation', id: 'obs', status: 'final', code: { text: 'BP' }, subject: { reference: 'Patient/pat' } },
  {
    resourceType: 'Observation',
    id: 'obs-hiv',
    status: 'final',
    code: { text: 'HIV test' },
    subject: { reference: 'Patient/pat' },
    meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HIV' }] },
  },
];

async function world(t: { teardown(fn: () => unknown): void }): Promise<ClaimsWorld> {
  const w = await startClaimsWorld(t);
  for (const resource of FAMILY) await w.h.storage.create(systemContext(BASE_URL), resource as AnyResource);
  return w;
}

const member = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  name: [{ family: 'Doe', given: ['Jane'] }],
  gender: 'female',
  birthDate: '1980-02-03',
  ...extra,
});
const coverageToMatch = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'Coverage',
  status: 'active',
  identifier: [{ system: 'urn:example:member', value: 'M-1' }],
  beneficiary: { reference: 'Patient/x' },
  payor: [{ reference: 'Organization/payer-a' }],
  ...extra,
});
const consent = (policy = REGULAR_POLICY, recipient = 'Organization/payer-b') => ({
  resourceType: 'Consent',
  status: 'active',
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IDSCL' }] }],
  patient: { reference: 'Patient/x' },
  performer: [{ reference: 'Patient/x' }],
  policy: [{ uri: policy }],
  provision: {
    type: 'permit',
    period: { start: '2020-01-01', end: '2099-12-31' },
    actor: [
      {
        role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'performer' }] },
        reference: { reference: 'Organization/payer-a' },
      },
      { role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: recipient } },
    ],
  },
});
const params = (patient: unknown, coverage: unknown, theConsent: unknown = consent()) => ({
  resourceType: 'Parameters',
  parameter: [
    { name: 'MemberPatient', resource: patient },
    { name: 'CoverageToMatch', resource: coverage },
    {
      name: 'CoverageToLink',
      resource: coverageToMatch({ identifier: [{ system: 'urn:example:new', value: 'N-9' }], payor: [{ reference: 'Organization/payer-b' }] }),
    },
    { name: 'Consent', resource: theConsent },
  ],
});
const call = (w: ClaimsWorld, token: string, body: unknown) => w.h.as(token, { method: 'POST', url: '/fhir/Patient/$member-match', payload: body });
const newPayer = (w: ClaimsWorld) =>
  w.h.token({ fhirUser: 'Organization/payer-b', scope: 'system/Patient.rs system/Observation.rs', client_id: 'payer-b-bulk' });
const consents = async (w: ClaimsWorld) =>
  (await w.h.storage.search(systemContext(BASE_URL), { types: ['Consent'], where: [], sort: [], count: 50, offset: 0, total: 'accurate' })).records.map(
    (r) => r.resource as AnyResource & Record<string, never>,
  );

t.test('a certain match answers the member identifier and stores the Consent', async (t) => {
  const w = await world(t);
  const res = await call(w, await newPayer(w), params(member(), coverageToMatch()));
  t.equal(res.statusCode, 200, res.body);
  const out = res.json();
  const identifier = out.parameter.find((p: { name: string }) => p.name === 'MemberIdentifier').valueIdentifier;
  t.equal(identifier.type.coding[0].code, 'MB');
  t.equal(identifier.value, 'M-1');
  t.same(out.parameter.find((p: { name: string }) => p.name === 'MemberId').valueReference, { reference: 'Patient/pat' });
  const [stored, ...more] = await consents(w);
  t.equal(more.length, 0);
  t.equal(stored!.status, 'active');
  t.same(stored!.patient, { reference: 'Patient/pat' });
  t.same(stored!.performer, [{ reference: 'Patient/pat' }]);
  t.same(
    (stored!.provision as unknown as { actor: Array<{ reference: unknown }> }).actor.map((a) => a.reference),
    [{ reference: 'Organization/payer-b' }],
    'the recipient alone',
  );
  t.equal(
    (await call(w, w.tokens.operator, params(member(), coverageToMatch({ identifier: undefined, subscriberId: 'S-1' })))).statusCode,
    200,
    'the operator, by subscriber id',
  );
});

t.test('failures are one 422 that says nothing of why, and store nothing', async (t) => {
  const w = await world(t);
  const token = await newPayer(w);
  const cases: Array<[string, unknown]> = [
    ['wrong birth date', params(member({ birthDate: '1980-02-04' }), coverageToMatch())],
    ['other family name', params(member({ name: [{ family: 'Smith', given: ['Jane'] }] }), coverageToMatch())],
    ['wrong gender', params(member({ gender: 'male' }), coverageToMatch())],
    ["another payer's coverage", params(member(), coverageToMatch({ payor: [{ reference: 'Organization/payer-b' }] }))],
    ['unknown member id', params(member(), coverageToMatch({ identifier: [{ system: 'urn:example:member', value: 'M-404' }] }))],
    ['member id in another system', params(member(), coverageToMatch({ identifier: [{ system: 'urn:other', value: 'M-1' }] }))],
    [
      'ambiguous: two identical records',
      params(
        member({ name: [{ family: 'Moe', given: ['Cara'] }], birthDate: '2012-01-01' }),
        coverageToMatch({ identifier: undefined, subscriberId: 'S-DUP' }),
      ),
    ],
    [
      'weak: no given name to tell the family apart',
      params(member({ name: [{ family: 'Roe' }], birthDate: '2010-05-05' }), coverageToMatch({ identifier: undefined, subscriberId: 'S-FAM' })),
    ],
  ];
  for (const [why, body] of cases) {
    const res = await call(w, token, body);
    t.equal(res.statusCode, 422, why);
    t.same(
      res.json().issue.map((i: { diagnostics: string }) => i.diagnostics),
      [NO_MATCH],
      `${why}: the same words`,
    );
  }
  t.equal((await consents(w)).length, 0);
});

t.test('a family plan: the demographics pick the one beneficiary', async (t) => {
  const w = await world(t);
  const res = await call(
    w,
    await newPayer(w),
    params(member({ name: [{ family: 'Roe', given: ['Beth'] }], birthDate: '2010-05-05' }), coverageToMatch({ identifier: undefined, subscriberId: 'S-FAM' })),
  );
  t.equal(res.statusCode, 200, res.body);
  t.same(res.json().parameter[1].valueReference, { reference: 'Patient/beth' });
});

t.test('who may call', async (t) => {
  const w = await world(t);
  const body = params(member(), coverageToMatch());
  t.equal((await call(w, w.tokens.payerA, body)).statusCode, 403, 'a payer the Consent does not name');
  const outsider = await w.h.token({ fhirUser: 'Practitioner/other', scope: 'user/Patient.rs' });
  t.equal((await call(w, outsider, body)).statusCode, 403, 'a practitioner');
  const patient = await w.h.token({ fhirUser: 'Patient/pat', patient: 'pat', scope: 'patient/Patient.rs' });
  t.equal((await call(w, patient, body)).statusCode, 403, 'the patient');
  t.equal((await consents(w)).length, 0);
});

t.test('every call is audited, whatever its outcome', async (t) => {
  const w = await world(t);
  const token = await newPayer(w);
  await call(w, token, params(member(), coverageToMatch()));
  await call(w, token, params(member({ birthDate: '1999-01-01' }), coverageToMatch()));
  await call(w, w.tokens.payerA, params(member(), coverageToMatch()));
  await sleep(600);
  const events = (await w.h.storage.search(systemContext(BASE_URL), { types: ['AuditEvent'], where: [], sort: [], count: 500, offset: 0, total: 'none' }))
    .records;
  const outcomes = events
    .map((r) => r.resource as unknown as { outcome: string; outcomeDesc?: string })
    .filter((e) => e.outcomeDesc?.includes('member-match'))
    .map((e) => e.outcome)
    .sort();
  t.same(outcomes, ['0', '4', '8'], 'a success, a refusal (4) and a failed match (8)');
});

t.test('the stored Consent opens exactly what it says', async (t) => {
  const w = await world(t);
  const token = await newPayer(w);
  const seen = async () =>
    ((await w.h.as(token, { url: '/fhir/Observation?subject=Patient/pat' })).json().entry ?? []).map((e: { resource: { id: string } }) => e.resource.id).sort();
  t.same(await seen(), [], 'nothing before the match');
  t.equal((await call(w, token, params(member(), coverageToMatch()))).statusCode, 200);
  t.same(await seen(), ['obs'], 'regular: everything but sensitive-labelled data');
  t.same(
    ((await w.h.as(w.tokens.payerA, { url: '/fhir/Observation?subject=Patient/pat' })).json().entry ?? []).length,
    0,
    'not the old payer (the source actor)',
  );
  const other = await w.h.token({ fhirUser: 'Organization/clinic-2', scope: 'system/Observation.rs' });
  t.same(((await w.h.as(other, { url: '/fhir/Observation?subject=Patient/pat' })).json().entry ?? []).length, 0, 'nor anyone else');
  t.equal(
    (
      await w.h.as(token, {
        method: 'PUT',
        url: '/fhir/Observation/obs',
        payload: { resourceType: 'Observation', id: 'obs', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/pat' } },
      })
    ).statusCode,
    403,
    'reading only',
  );

  const w2 = await world(t);
  const token2 = await newPayer(w2);
  t.equal((await call(w2, token2, params(member(), coverageToMatch(), consent(SENSITIVE_POLICY)))).statusCode, 200);
  const seen2 = ((await w2.h.as(token2, { url: '/fhir/Observation?subject=Patient/pat' })).json().entry ?? [])
    .map((e: { resource: { id: string } }) => e.resource.id)
    .sort();
  t.same(seen2, ['obs', 'obs-hiv'], 'sensitive: sensitive-labelled data too');
});

t.test('a Consent not of HRex shape is 422 before any matching', async (t) => {
  const w = await world(t);
  const token = await newPayer(w);
  const bad = { ...consent(), policy: [{ uri: 'urn:other' }] };
  const res = await call(w, token, params(member(), coverageToMatch(), bad));
  t.equal(res.statusCode, 422);
  t.match(res.json().issue[0].expression, ['Consent.policy']);
  t.equal(
    (await call(w, token, { resourceType: 'Parameters', parameter: [{ name: 'MemberPatient', resource: member() }] })).statusCode,
    400,
    'missing parameters',
  );
});
