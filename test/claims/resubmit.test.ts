import t from 'tap';
import { systemContext } from '../../src/context';
import type { SearchQuery } from '../../src/search/query';
import { BASE_URL } from '../security/auth-kit';
import { claim, CLAIM_IDS, startClaimsWorld, type ClaimsWorld } from './claims-world';

const all = (w: ClaimsWorld, type: string) =>
  w.h.storage.search(systemContext(BASE_URL), { types: [type], where: [], sort: [], count: 100, offset: 0, total: 'accurate' } as SearchQuery);

t.test('an unchanged resubmission returns the same ClaimResponse and stores nothing', async (t) => {
  const w = await startClaimsWorld(t);
  const first = (await w.submit(w.tokens.clinic, claim())).json();
  const again = await w.submit(w.tokens.clinic, claim());
  t.equal(again.statusCode, 200);
  t.equal(again.json().id, first.id);
  t.equal(again.json().meta.versionId, '1');
  t.equal((await all(w, 'Claim')).total, 1);
  t.equal((await all(w, 'ClaimResponse')).total, 1);
  const claimId = first.request.reference.split('/')[1];
  t.equal((await w.h.storage.read(systemContext(BASE_URL), 'Claim', claimId))?.versionId, 1, 'no new Claim version');
});

t.test('a changed resubmission is a correction: new Claim version, fresh queued response, the earlier cancelled', async (t) => {
  const w = await startClaimsWorld(t);
  const first = (await w.submit(w.tokens.clinic, claim())).json();
  const corrected = await w.submit(w.tokens.dr, claim({ item: [{ sequence: 1, productOrService: { text: 'Visit' }, net: { value: 99, currency: 'USD' } }] }));
  t.equal(corrected.statusCode, 200, corrected.body);
  const second = corrected.json();
  t.not(second.id, first.id);
  t.equal(second.outcome, 'queued');
  t.equal(second.request.reference, first.request.reference, 'the same Claim');
  const claimId = first.request.reference.split('/')[1];
  const stored = await w.h.storage.read(systemContext(BASE_URL), 'Claim', claimId);
  t.equal(stored?.versionId, 2);
  t.equal((stored?.resource as unknown as { item: Array<{ net: { value: number } }> }).item[0]!.net.value, 99);
  const earlier = await w.h.storage.read(systemContext(BASE_URL), 'ClaimResponse', first.id);
  t.equal((earlier?.resource as unknown as { status: string }).status, 'cancelled');
  t.equal((await all(w, 'Claim')).total, 1);
});

t.test('another provider can neither correct nor cancel it', async (t) => {
  const w = await startClaimsWorld(t);
  await w.submit(w.tokens.clinic, claim());
  const other = claim({ provider: { reference: 'Organization/clinic-2' } });
  t.equal((await w.submit(w.tokens.clinic2, other)).statusCode, 403, 'correction by clinic-2');
  t.equal((await w.submit(w.tokens.clinic2, { ...other, status: 'cancelled' })).statusCode, 403, 'cancel by clinic-2');
  const [stored] = (await all(w, 'Claim')).records;
  t.equal(stored?.versionId, 1, 'the Claim is untouched');
});

t.test('20 parallel resubmissions make exactly one Claim and one ClaimResponse', async (t) => {
  const w = await startClaimsWorld(t);
  const body = {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      {
        resource: claim({
          patient: { reference: 'urn:uuid:11111111-1111-4111-8111-111111111111' },
          insurance: [{ sequence: 1, focal: true, coverage: { reference: 'Coverage/cov-a' } }],
        }),
      },
      {
        fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111',
        resource: { resourceType: 'Patient', identifier: [{ system: 'urn:example:mrn', value: 'pat' }] },
      },
    ],
  };
  const answers = await Promise.all(Array.from({ length: 20 }, () => w.submit(w.tokens.clinic, body)));
  t.same([...new Set(answers.map((a) => a.statusCode))], [200]);
  t.equal(new Set(answers.map((a) => a.json().entry[0].resource.id)).size, 1, 'one ClaimResponse answers all');
  t.equal((await all(w, 'Claim')).total, 1);
  t.equal((await all(w, 'ClaimResponse')).total, 1);
  t.equal((await all(w, 'Patient')).total, 2, 'the Patient is reused by identifier, never duplicated');
});

t.test('cancel', async (t) => {
  const w = await startClaimsWorld(t);
  const first = (await w.submit(w.tokens.clinic, claim())).json();
  const res = await w.submit(w.tokens.clinic, claim({ status: 'cancelled' }));
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().id, first.id, 'its ClaimResponse');
  t.equal(res.json().outcome, 'complete');
  t.equal(res.json().disposition, 'cancelled');
  const claimId = first.request.reference.split('/')[1];
  t.equal(((await w.h.storage.read(systemContext(BASE_URL), 'Claim', claimId))?.resource as unknown as { status: string }).status, 'cancelled');
  const unknown = await w.submit(w.tokens.clinic, claim({ status: 'cancelled', identifier: [{ system: CLAIM_IDS, value: 'never-sent' }] }));
  t.equal(unknown.statusCode, 404);
  t.equal(unknown.json().resourceType, 'OperationOutcome');
});

t.test('a bundle: existing resources reused by identifier, new ones created, references rewritten, answer a Bundle', async (t) => {
  const w = await startClaimsWorld(t);
  const body = {
    resourceType: 'Parameters',
    parameter: [
      {
        name: 'resource',
        resource: {
          resourceType: 'Bundle',
          type: 'collection',
          entry: [
            {
              resource: claim({
                identifier: [{ system: CLAIM_IDS, value: 'b-1' }],
                patient: { reference: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001' },
                careTeam: [{ sequence: 1, provider: { reference: 'Practitioner/local-dr' } }],
                diagnosis: [{ sequence: 1, diagnosisReference: { reference: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000003' } }],
              }),
            },
            {
              fullUrl: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001',
              resource: { resourceType: 'Patient', identifier: [{ system: 'urn:example:mrn', value: 'pat' }], name: [{ family: 'Changed' }] },
            },
            {
              fullUrl: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000002',
              resource: { resourceType: 'Practitioner', id: 'local-dr', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '111' }] },
            },
            {
              fullUrl: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000003',
              resource: { resourceType: 'Condition', subject: { reference: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001' }, code: { text: 'New' } },
            },
          ],
        },
      },
    ],
  };
  const res = await w.submit(w.tokens.clinic, body);
  t.equal(res.statusCode, 200, res.body);
  const bundle = res.json();
  t.equal(bundle.resourceType, 'Bundle');
  t.equal(bundle.entry[0].resource.resourceType, 'ClaimResponse', 'the Bundle starts with the ClaimResponse');
  t.equal(bundle.entry[0].resource.outcome, 'queued');
  const stored = bundle.entry[1].resource;
  t.equal(stored.resourceType, 'Claim');
  t.equal(stored.patient.reference, 'Patient/pat', 'the existing Patient is reused');
  t.equal(stored.careTeam[0].provider.reference, 'Practitioner/dr', 'the existing Practitioner is reused');
  const condition = bundle.entry.find((e: { resource: { resourceType: string } }) => e.resource.resourceType === 'Condition').resource;
  t.equal(stored.diagnosis[0].diagnosisReference.reference, `Condition/${condition.id}`, 'the new Condition is created and referenced');
  t.equal(condition.subject.reference, 'Patient/pat');
  const patient = await w.h.storage.read(systemContext(BASE_URL), 'Patient', 'pat');
  t.equal(patient?.versionId, 1, 'a reused resource is not overwritten');
  t.equal((await all(w, 'Patient')).total, 2);
  t.equal((await all(w, 'Practitioner')).total, 2);
});

t.test('a bundle with a bad resource or type stores nothing (422)', async (t) => {
  const w = await startClaimsWorld(t);
  const bundle = (extra: Record<string, unknown>) => ({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: claim() }, { resource: extra }] });
  t.equal((await w.submit(w.tokens.clinic, bundle({ resourceType: 'Consent', status: 'active' }))).statusCode, 422, 'a Consent may not ride along');
  t.equal((await w.submit(w.tokens.clinic, bundle({ resourceType: 'Patient', gender: 'nope' }))).statusCode, 422, 'an invalid Patient');
  t.equal(
    (await w.submit(w.tokens.clinic, { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: claim() }] })).statusCode,
    422,
    'not a collection',
  );
  t.equal(
    (await w.submit(w.tokens.clinic, { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient' } }, { resource: claim() }] }))
      .statusCode,
    422,
    'the Claim must come first',
  );
  t.equal((await all(w, 'Claim')).total, 0);
});

t.test('every submission runs in one guarded unit of work, keyed by the Claim identifier', async (t) => {
  const w = await startClaimsWorld(t);
  const guards: Array<string | undefined> = [];
  const original = w.h.storage.unitOfWork.bind(w.h.storage);
  w.h.storage.unitOfWork = (work, options) => {
    // The access log writes its own units (in memory): only the submissions' are counted.
    if (options?.guard?.startsWith('Claim/$submit')) guards.push(options.guard);
    return original(work, options);
  };
  await w.submit(w.tokens.clinic, claim());
  await w.submit(w.tokens.clinic, claim());
  await w.submit(w.tokens.clinic, claim({ identifier: undefined }));
  t.equal(guards.length, 3, 'one guarded unit per submission');
  t.equal(guards[0], `Claim/$submit?identifier=${CLAIM_IDS}|c-1`);
  t.equal(guards[1], guards[0], 'a resubmission takes the same guard');
  t.match(guards[2], /^Claim\/\$submit#/, 'a Claim without identifier is guarded too (a standalone MongoDB runs only guarded units)');
});

t.test('$submit as a transaction entry joins the transaction', async (t) => {
  const w = await startClaimsWorld(t);
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { resource: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: claim() }] }, request: { method: 'POST', url: 'Claim/$submit' } },
    ],
  };
  const res = await w.h.as(w.tokens.clinic, { method: 'POST', url: '/fhir', payload: bundle });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().entry[0].resource.outcome, 'queued');
  t.equal((await all(w, 'Claim')).total, 1);
});
