import t from 'tap';
import { claim, startClaimsWorld, type ClaimsWorld } from '../claims/claims-world';

/** A submitted, queued Claim: its id and its ClaimResponse. */
async function queued(w: ClaimsWorld): Promise<{ claimId: string; response: Record<string, unknown> & { id: string } }> {
  const response = (await w.submit(w.tokens.clinic, claim())).json();
  return { claimId: response.request.reference.split('/')[1], response };
}

const ids = (bundle: { entry?: Array<{ resource: { id: string } }> }) => (bundle.entry ?? []).map((e) => e.resource.id);

/** The payer's decision: complete, with adjudications, total and payment. */
function decided(response: Record<string, unknown>): Record<string, unknown> {
  const { meta: _meta, ...rest } = response;
  const adj = (code: string, value: number) => ({
    category: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/adjudication', code }] },
    amount: { value, currency: 'USD' },
  });
  return {
    ...rest,
    outcome: 'complete',
    disposition: 'Approved',
    item: [
      { itemSequence: 1, adjudication: [adj('submitted', 120), adj('eligible', 100), adj('benefit', 80), adj('copay', 20)] },
      { itemSequence: 2, adjudication: [adj('submitted', 80.5), adj('benefit', 80.5)] },
    ],
    total: [adj('submitted', 200.5), adj('benefit', 160.5)],
    payment: {
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/ex-paymenttype', code: 'complete' }] },
      amount: { value: 160.5, currency: 'USD' },
    },
  };
}

t.test('the payer finds its queued claims and decides; the provider and the patient read the decision', async (t) => {
  const w = await startClaimsWorld(t);
  const { claimId, response } = await queued(w);
  const queue = await w.h.as(w.tokens.payerA, { url: '/fhir/ClaimResponse?insurer=Organization/payer-a&outcome=queued' });
  t.equal(queue.statusCode, 200, queue.body);
  t.same(ids(queue.json()), [response.id], 'the payer sees its queued ClaimResponse');
  t.same(ids((await w.h.as(w.tokens.payerA, { url: '/fhir/Claim?insurer=Organization/payer-a' })).json()), [claimId]);
  const put = await w.h.as(w.tokens.payerA, { method: 'PUT', url: `/fhir/ClaimResponse/${response.id}`, payload: decided(response) });
  t.equal(put.statusCode, 200, put.body);
  const seen = await w.h.as(w.tokens.clinic, { url: `/fhir/ClaimResponse?request=Claim/${claimId}` });
  t.equal(seen.statusCode, 200, seen.body);
  t.equal(seen.json().entry[0].resource.outcome, 'complete', 'the provider reads the decision');
  t.equal(seen.json().entry[0].resource.disposition, 'Approved');
  const own = await w.h.as(w.tokens.patient, { url: '/fhir/ClaimResponse?patient=Patient/pat' });
  t.equal(own.statusCode, 200, own.body);
  t.same(ids(own.json()), [response.id], 'the patient reads their ClaimResponse');
  t.same(ids((await w.h.as(w.tokens.patient, { url: '/fhir/Claim?patient=Patient/pat' })).json()), [claimId], 'and their Claim');
  t.same(ids((await w.h.as(w.tokens.outsider, { url: '/fhir/ClaimResponse' })).json()), [], 'an outsider sees none');
  t.same(ids((await w.h.as(w.tokens.payerB, { url: '/fhir/ClaimResponse' })).json()), [], 'the other payer sees none');
  t.same(ids((await w.h.as(w.tokens.payerB, { url: '/fhir/Claim' })).json()), [], 'nor the Claim');
});

t.test('only the insurer named on the Claim writes its ClaimResponses', async (t) => {
  const w = await startClaimsWorld(t);
  const { claimId, response } = await queued(w);
  const url = `/fhir/ClaimResponse/${response.id}`;
  t.equal((await w.h.as(w.tokens.payerB, { url })).statusCode, 404, 'the other payer may not see it');
  t.equal((await w.h.as(w.tokens.payerB, { method: 'PUT', url, payload: decided(response) })).statusCode, 404, 'nor update it');
  const another = { ...decided(response), id: undefined };
  const byB = await w.h.as(w.tokens.payerB, {
    method: 'POST',
    url: '/fhir/ClaimResponse',
    payload: { ...another, insurer: { reference: 'Organization/payer-b' } },
  });
  t.equal(byB.statusCode, 403, `the other payer cannot answer the Claim: ${byB.body}`);
  const clinicWriter = await w.h.token({ fhirUser: 'Organization/clinic', scope: 'user/ClaimResponse.cruds' });
  t.equal(
    (await w.h.as(clinicWriter, { method: 'PUT', url, payload: decided(response) })).statusCode,
    403,
    'the provider cannot decide, even with write scopes',
  );
  const payerC = await w.h.token({ fhirUser: 'Organization/payer-a', scope: 'system/ClaimResponse.cruds' });
  const byA = await w.h.as(payerC, { method: 'POST', url: '/fhir/ClaimResponse', payload: another });
  t.equal(byA.statusCode, 201, `the insurer answers again: ${byA.body}`);
  const wrongInsurer = await w.h.as(w.tokens.payerA, {
    method: 'POST',
    url: '/fhir/ClaimResponse',
    payload: { ...another, insurer: { reference: 'Organization/payer-b' } },
  });
  t.equal(wrongInsurer.statusCode, 403, "its insurer must be the Claim's");
  const noClaim = { ...another, request: undefined };
  t.equal((await w.h.as(w.tokens.payerA, { method: 'POST', url: '/fhir/ClaimResponse', payload: noClaim })).statusCode, 403, 'a response must name its Claim');
  t.equal((await w.h.as(w.tokens.operator, { method: 'PUT', url, payload: decided(response) })).statusCode, 200, 'the operator may');
  const stored = (await w.h.as(w.tokens.payerA, { url: `/fhir/ClaimResponse?request=Claim/${claimId}` })).json();
  t.equal(stored.entry.length, 2);
});

t.test('the same rule holds in a transaction', async (t) => {
  const w = await startClaimsWorld(t);
  const { response } = await queued(w);
  const bundle = (resource: Record<string, unknown>) => ({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{ resource, request: { method: 'POST', url: 'ClaimResponse' } }],
  });
  const another = { ...decided(response), id: undefined };
  const byB = await w.h.as(w.tokens.payerB, { method: 'POST', url: '/fhir', payload: bundle({ ...another, insurer: { reference: 'Organization/payer-b' } }) });
  t.equal(byB.statusCode, 403, byB.body);
  const byA = await w.h.as(w.tokens.payerA, { method: 'POST', url: '/fhir', payload: bundle(another) });
  t.equal(byA.statusCode, 200, byA.body);
});

t.test('the payer sees a Claim through its Coverage even without insurer (the coverage search parameter)', async (t) => {
  const w = await startClaimsWorld(t);
  const res = await w.submit(w.tokens.clinic, claim({ insurer: undefined }));
  t.equal(res.statusCode, 200, res.body);
  t.same(res.json().insurer, { reference: 'Organization/payer-a' }, "the insurer is the Coverage's payor");
  const claimId = res.json().request.reference.split('/')[1];
  t.same(ids((await w.h.as(w.tokens.payerA, { url: '/fhir/Claim?coverage=Coverage/cov-a' })).json()), [claimId]);
  t.equal((await w.h.as(w.tokens.payerA, { url: `/fhir/Claim/${claimId}` })).statusCode, 200);
  t.equal((await w.h.as(w.tokens.payerB, { url: `/fhir/Claim/${claimId}` })).statusCode, 404);
  t.equal(
    (await w.h.as(w.tokens.payerA, { method: 'PUT', url: `/fhir/ClaimResponse/${res.json().id}`, payload: decided(res.json()) })).statusCode,
    200,
    'its insurer by Coverage decides',
  );
});

t.test('the payer writes an ExplanationOfBenefit like any resource; the patient reads it', async (t) => {
  const w = await startClaimsWorld(t);
  const { claimId } = await queued(w);
  const payer = await w.h.token({ fhirUser: 'Organization/payer-a', scope: 'system/ExplanationOfBenefit.cruds' });
  const eob = {
    resourceType: 'ExplanationOfBenefit',
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: { reference: 'Patient/pat' },
    created: '2025-03-05',
    insurer: { reference: 'Organization/payer-a' },
    provider: { reference: 'Organization/clinic' },
    claim: { reference: `Claim/${claimId}` },
    outcome: 'complete',
    insurance: [{ focal: true, coverage: { reference: 'Coverage/cov-a' } }],
  };
  const created = await w.h.as(payer, { method: 'POST', url: '/fhir/ExplanationOfBenefit', payload: eob });
  t.equal(created.statusCode, 201, created.body);
  const patient = await w.h.token({ fhirUser: 'Patient/pat', patient: 'pat', scope: 'patient/ExplanationOfBenefit.rs' });
  const read = await w.h.as(patient, { url: '/fhir/ExplanationOfBenefit?patient=Patient/pat' });
  t.equal(read.statusCode, 200, read.body);
  t.same(ids(read.json()), [created.json().id]);
});
