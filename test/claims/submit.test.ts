import t from 'tap';
import { systemContext } from '../../src/context';
import { BASE_URL } from '../security/auth-kit';
import { claim, CLAIM_IDS, startClaimsWorld } from './claims-world';

const errorCodes = (body: { error?: Array<{ code: { coding: Array<{ code: string }>; text: string }; itemSequence?: number }> }) =>
  (body.error ?? []).map((e) => `${e.code.coding[0]!.code}${e.itemSequence !== undefined ? `#${e.itemSequence}` : ''}`);

t.test('an accepted Claim is stored active and queued for its insurer', async (t) => {
  const w = await startClaimsWorld(t);
  const res = await w.submit(w.tokens.clinic, { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: claim() }] });
  t.equal(res.statusCode, 200, res.body);
  const response = res.json();
  t.equal(response.resourceType, 'ClaimResponse');
  t.equal(response.status, 'active');
  t.equal(response.outcome, 'queued');
  t.same(response.insurer, { reference: 'Organization/payer-a' });
  t.same(response.requestor, { reference: 'Organization/clinic' });
  t.same(response.patient, { reference: 'Patient/pat' });
  t.equal(response.use, 'claim');
  t.equal(response.type.coding[0].code, 'professional');
  t.ok(response.created);
  t.notOk(response.preAuthRef, 'no preAuthRef for a claim');
  const claimId = response.request.reference.split('/')[1];
  const stored = await w.h.storage.read(systemContext(BASE_URL), 'Claim', claimId);
  t.equal((stored?.resource as unknown as { status: string }).status, 'active');
  const storedResponse = await w.h.storage.read(systemContext(BASE_URL), 'ClaimResponse', response.id);
  t.equal((storedResponse?.resource as unknown as { outcome: string }).outcome, 'queued', 'the ClaimResponse is stored');
});

t.test('a bare Claim body and a preauthorization', async (t) => {
  const w = await startClaimsWorld(t);
  const res = await w.submit(w.tokens.clinic, claim({ use: 'preauthorization', identifier: [{ system: CLAIM_IDS, value: 'pa-1' }] }));
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().outcome, 'queued');
  t.match(res.json().preAuthRef, /^PA-/);
  t.equal(res.json().use, 'preauthorization');
});

t.test('who may submit', async (t) => {
  const w = await startClaimsWorld(t);
  t.equal((await w.submit(w.tokens.dr, claim())).statusCode, 200, 'a practitioner whose role is at the provider organization');
  t.equal((await w.submit(w.tokens.operator, claim({ identifier: [{ system: CLAIM_IDS, value: 'op' }] }))).statusCode, 200, 'the operator');
  const outsider = await w.submit(w.tokens.outsider, claim({ identifier: [{ system: CLAIM_IDS, value: 'x' }] }));
  t.equal(outsider.statusCode, 403, 'a practitioner who is not the provider');
  t.equal((await w.submit(w.tokens.clinic2, claim({ identifier: [{ system: CLAIM_IDS, value: 'y' }] }))).statusCode, 403, 'another provider organization');
  t.equal((await w.submit(w.tokens.payerA, claim({ identifier: [{ system: CLAIM_IDS, value: 'z' }] }))).statusCode, 403, 'a payer (no Claim create rights)');
  const readOnly = await w.h.token({ fhirUser: 'Organization/clinic', scope: 'user/Claim.rs' });
  t.equal((await w.submit(readOnly, claim({ identifier: [{ system: CLAIM_IDS, value: 'w' }] }))).statusCode, 403, 'the provider without Claim create rights');
  const patientScoped = await w.h.token({ fhirUser: 'Patient/pat', patient: 'pat', scope: 'patient/Claim.c' });
  t.equal((await w.submit(patientScoped, claim({ identifier: [{ system: CLAIM_IDS, value: 'v' }] }))).statusCode, 403, 'a patient');
  const claims = await w.h.storage.search(systemContext(BASE_URL), { types: ['Claim'], where: [], sort: [], count: 50, offset: 0, total: 'accurate' });
  t.equal(claims.total, 2, 'only the two allowed submissions stored a Claim');
});

t.test('422 for a Claim that cannot yield a ClaimResponse, storing nothing', async (t) => {
  const w = await startClaimsWorld(t);
  for (const [why, body] of [
    ['no patient', claim({ patient: undefined })],
    ['invalid use', claim({ use: 'bogus' })],
    ['no use', claim({ use: undefined })],
  ] as const) {
    const res = await w.submit(w.tokens.clinic, body);
    t.equal(res.statusCode, 422, why);
    t.equal(res.json().resourceType, 'OperationOutcome', why);
  }
  const all = await w.h.storage.search(systemContext(BASE_URL), {
    types: ['Claim', 'ClaimResponse'],
    where: [],
    sort: [],
    count: 50,
    offset: 0,
    total: 'accurate',
  });
  t.equal(all.total, 0, 'nothing stored');
  t.equal((await w.submit(w.tokens.clinic, { resourceType: 'Patient' })).statusCode, 400, 'not a Claim');
});

t.test('each check answers 200 with an error ClaimResponse', async (t) => {
  const w = await startClaimsWorld(t);
  const cases: Array<[string, Record<string, unknown>, string[], boolean]> = [
    ['inactive coverage', { insurance: [{ sequence: 1, focal: true, coverage: { reference: 'Coverage/cov-old' } }] }, ['coverage-inactive'], true],
    ['unknown coverage', { insurance: [{ sequence: 1, focal: true, coverage: { reference: 'Coverage/nope' } }] }, ['coverage-unknown'], false],
    ['another beneficiary', { insurance: [{ sequence: 1, focal: true, coverage: { reference: 'Coverage/cov-2' } }] }, ['coverage-beneficiary'], true],
    ['period not covered', { billablePeriod: { start: '2023-05-01', end: '2023-05-02' } }, ['coverage-period'], true],
    ['created not covered', { billablePeriod: undefined, created: '2027-01-02' }, ['coverage-period'], true],
    ['insurer is not the payor', { insurer: { reference: 'Organization/payer-b' } }, ['insurer-mismatch'], true],
    ['unknown patient', { patient: { reference: 'Patient/ghost' } }, ['patient-unknown', 'coverage-beneficiary'], false],
    [
      'duplicate item sequence',
      {
        item: [
          { sequence: 1, productOrService: { text: 'a' } },
          { sequence: 1, productOrService: { text: 'b' } },
        ],
      },
      ['item-sequence-duplicate#1'],
      true,
    ],
    ['unknown diagnosis sequence', { item: [{ sequence: 1, diagnosisSequence: [7], productOrService: { text: 'a' } }] }, ['item-diagnosis-unknown#1'], true],
    ['unknown diagnosis reference', { diagnosis: [{ sequence: 1, diagnosisReference: { reference: 'Condition/none' } }] }, ['diagnosis-unknown'], false],
    ['invalid Claim', { priority: undefined }, ['invalid'], false],
  ];
  for (const [i, [why, extra, codes, stored]] of cases.entries()) {
    const body = claim({ identifier: [{ system: CLAIM_IDS, value: `check-${i}` }], ...extra });
    const res = await w.submit(w.tokens.clinic, body);
    t.equal(res.statusCode, 200, `${why}: ${res.body}`);
    const response = res.json();
    t.equal(response.outcome, 'error', why);
    t.same(errorCodes(response), codes, why);
    t.ok(
      response.error.every((e: { code: { text: string } }) => /^Claim\./.test(e.code.text)),
      `${why}: the texts name the element`,
    );
    t.equal(
      response.id !== undefined && response.request?.reference !== undefined && response.meta?.versionId === '1',
      stored,
      `${why}: ${stored ? 'stored beside the Claim' : 'not storable, answered only'}`,
    );
    if (stored) {
      const again = await w.h.storage.read(systemContext(BASE_URL), 'ClaimResponse', response.id);
      t.equal((again?.resource as unknown as { outcome: string }).outcome, 'error', `${why}: stored`);
    }
  }
});

t.test('CLAIMS_AUTO_ADJUDICATE answers complete with each benefit at its net', async (t) => {
  const w = await startClaimsWorld(t, { claims: { autoAdjudicate: true } });
  const res = await w.submit(w.tokens.clinic, claim());
  t.equal(res.statusCode, 200, res.body);
  const response = res.json();
  t.equal(response.outcome, 'complete');
  t.same(
    response.item.map((i: { itemSequence: number }) => i.itemSequence),
    [1, 2],
  );
  const benefit = response.item[1].adjudication.find((a: { category: { coding: Array<{ code: string }> } }) => a.category.coding[0]!.code === 'benefit');
  t.same(benefit.amount, { value: 80.5, currency: 'USD' });
  t.same(response.total.find((x: { category: { coding: Array<{ code: string }> } }) => x.category.coding[0]!.code === 'benefit').amount, {
    value: 200.5,
    currency: 'USD',
  });
  const failing = await w.submit(w.tokens.clinic, claim({ identifier: [{ system: CLAIM_IDS, value: 'bad' }], insurer: { reference: 'Organization/payer-b' } }));
  t.equal(failing.json().outcome, 'error', 'only a Claim that passes every check is decided');
});

t.test('a submission is audited like a read of what it returned', async (t) => {
  const w = await startClaimsWorld(t);
  const res = await w.submit(w.tokens.clinic, claim());
  t.equal(res.statusCode, 200);
  await new Promise((resolve) => setTimeout(resolve, 600));
  const events = (
    await w.h.storage.search(systemContext(BASE_URL), { types: ['AuditEvent'], where: [], sort: [], count: 100, offset: 0, total: 'none' })
  ).records.map((r) => r.resource as unknown as { outcomeDesc?: string; entity?: Array<{ what?: { reference?: string } }> });
  const submitted = events.filter((e) => e.outcomeDesc?.includes('submit'));
  t.equal(submitted.length, 1, 'one AuditEvent for the call');
  const named = submitted.flatMap((e) => (e.entity ?? []).map((x) => x.what?.reference));
  t.ok(named.includes('Patient/pat'), 'it names the patient');
  t.ok(named.includes(`ClaimResponse/${res.json().id}`), 'and the ClaimResponse returned');
});
