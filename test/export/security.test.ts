/**
 * $export with security on: each job exports what its principal may search
 * (scopes, patient compartment, Consents), only its principal may see its
 * status and files, and the jobs are audited.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { search } from '../../src/interactions/search';
import type { Services } from '../../src/interactions/services';
import type { AccessPartSource } from '../../src/security/access-filter';
import { consentAccessSource } from '../../src/security/consent/consent-source';
import { BASE_URL, startSecureHarness, type SecureHarness } from '../security/auth-kit';
import { ASYNC, exportAll, idsOf, pathOf, poll, type Send } from './helpers';

const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const PAYER_TYPE = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'pay' }] }];
const PRIVACY = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] };
const CATEGORY = [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }];
const claim = (id: string, patient: string, insurer: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Claim', id, status: 'active', use: 'claim', type: { text: 'x' }, created: '2024-01-01',
  patient: { reference: `Patient/${patient}` }, insurer: { reference: `Organization/${insurer}` }, provider: { reference: 'Organization/clinic' },
  priority: { text: 'normal' }, insurance: [], ...extra,
});
const coverage = (id: string, patient: string, payer: string) => ({ resourceType: 'Coverage', id, status: 'active', beneficiary: { reference: `Patient/${patient}` }, payor: [{ reference: `Organization/${payer}` }] });
const encounter = (id: string, patient: string, extra: Record<string, unknown> = {}) => ({ resourceType: 'Encounter', id, status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient/${patient}` }, ...extra });

const payerEncounters = (id: string, patient: string) => ({
  resourceType: 'Consent', id, status: 'active', scope: PRIVACY, category: CATEGORY, patient: { reference: `Patient/${patient}` }, dateTime: '2024-01-01T00:00:00Z',
  // OPTINR: no default of its own (OPTIN would open the record to every treating Practitioner).
  policyRule: { coding: [{ system: ACT, code: 'OPTINR' }] },
  provision: {
    type: 'permit',
    actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: 'Organization/payer' } }],
    purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HPAYMT' }],
    class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Encounter' }],
  },
});

const WORLD: Array<Record<string, unknown>> = [
  { resourceType: 'Organization', id: 'payer', type: PAYER_TYPE },
  { resourceType: 'Organization', id: 'other-payer', type: PAYER_TYPE },
  { resourceType: 'Organization', id: 'clinic' },
  { resourceType: 'Practitioner', id: 'gp' },
  { resourceType: 'Patient', id: 'm1', generalPractitioner: [{ reference: 'Practitioner/gp' }] },
  { resourceType: 'Patient', id: 'm2' },
  { resourceType: 'Patient', id: 'n' },
  { resourceType: 'RelatedPerson', id: 'mum', patient: { reference: 'Patient/m1' } },
  coverage('c1', 'm1', 'payer'),
  coverage('c2', 'm2', 'payer'),
  coverage('cn', 'n', 'other-payer'),
  claim('cl1', 'm1', 'payer'),
  claim('cl2', 'm2', 'payer', { meta: { security: [{ system: ACT, code: 'HIV' }] } }),
  claim('cln', 'n', 'other-payer'),
  encounter('e1', 'm1'),
  encounter('e-hiv', 'm1', { meta: { security: [{ system: ACT, code: 'HIV' }] } }),
  encounter('e2', 'm2'),
  encounter('en', 'n'),
  // Payers get no Encounters by the base policy: m1 and m2 grant theirs to the payer...
  payerEncounters('m1-payer-encounters', 'm1'),
  payerEncounters('m2-payer-encounters', 'm2'),
  // ...then m1 opts out of payer access to Encounters (docs/access-control.md example; the newer Consent decides), and shares everything with mum.
  {
    resourceType: 'Consent', id: 'no-payer-encounters', status: 'active', scope: PRIVACY, category: CATEGORY, patient: { reference: 'Patient/m1' }, dateTime: '2024-06-01T00:00:00Z',
    policyRule: { coding: [{ system: ACT, code: 'OPTIN' }] },
    provision: { type: 'deny', purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HPAYMT' }], class: [{ system: 'http://hl7.org/fhir/resource-types', code: 'Encounter' }] },
  },
  {
    resourceType: 'Consent', id: 'mum-sees', status: 'active', scope: PRIVACY, category: CATEGORY, patient: { reference: 'Patient/m1' },
    policyRule: { coding: [{ system: ACT, code: 'OPTIN' }] },
    provision: { type: 'permit', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: 'RelatedPerson/mum' } }], action: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access' }] }] },
  },
  { resourceType: 'Group', id: 'mixed', type: 'person', actual: true, member: [{ entity: { reference: 'Patient/m1' } }, { entity: { reference: 'Patient/n' } }] },
];

async function start(t: { teardown(fn: () => unknown): void }, settings = {}): Promise<SecureHarness & { send: (token: string) => Send }> {
  let source: AccessPartSource | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'concord-export-sec-'));
  const h = await startSecureHarness({ accessSources: [(request) => source?.(request)], exports: { settings: { dir, pollSeconds: 0.001, maxJobsPerClient: 50, ...settings } } });
  source = consentAccessSource(h.storage, BASE_URL);
  t.teardown(() => h.close());
  const ctx = systemContext(BASE_URL);
  for (const resource of WORLD) await h.storage.update(ctx, resource as AnyResource);
  const send = (token: string): Send => (options) => h.as(token, { ...options, headers: { ...options.headers } });
  return { ...h, send };
}

const withToken = (token: string) => ({ authorization: `Bearer ${token}` });

interface Audited {
  entity?: Array<{ what?: { reference?: string; identifier?: { value?: string } }; detail?: Array<{ type: string; valueString: string }> }>;
  outcomeDesc?: string;
}

/** The AuditEvents naming the job, once the audit buffer is written. */
async function jobEvents(h: SecureHarness, jobId: string): Promise<Audited[]> {
  await h.app.auditTrail.flush();
  const bundle = await search({ storage: h.storage } as Services, systemContext(BASE_URL), 'AuditEvent', [['_count', '1000']], { strict: false });
  const events = (bundle.entry ?? []).map((e) => e.resource as unknown as Audited);
  return events.filter((e) => (e.entity ?? []).some((entity) => entity.what?.identifier?.value === jobId));
}

/** The patients of a job's per-patient AuditEvents, sorted. */
const auditedPatients = (events: Audited[]) =>
  events.filter((e) => e.outcomeDesc === 'operation $export').flatMap((e) => (e.entity ?? []).map((x) => x.what?.reference ?? '').filter((ref) => ref !== '')).sort();

t.test('a payer’s system export: its members’ Claims and Coverages only, consent and sensitivity applied, audited per patient', async (t) => {
  const h = await start(t);
  const payer = await h.token({ scope: 'system/*.rs', fhirUser: 'Organization/payer', sub: 'payer-client' });
  const { files, manifest, statusUrl } = await exportAll(h.send(payer), { url: '/fhir/$export', headers: withToken(payer) });
  t.same(idsOf(files.Patient), ['m1', 'm2'], 'its members, not the other payer’s');
  t.same(idsOf(files.Coverage), ['c1', 'c2']);
  t.same(idsOf(files.Claim), ['cl1'], 'not the HIV-labelled Claim, not another payer’s');
  t.same(idsOf(files.Encounter), ['e2'], 'm2’s Encounter; not m1’s: m1 opted out');
  t.equal(files.Consent, undefined);

  const jobId = statusUrl.split('/').pop() ?? '';
  const download = await h.as(payer, { url: pathOf(manifest.output[0]?.url ?? '') });
  t.equal(download.statusCode, 200);
  const ofJob = await jobEvents(h, jobId);
  t.same(auditedPatients(ofJob), ['Patient/m1', 'Patient/m2'], 'one AuditEvent per patient whose data went into the job');
  const job = ofJob.find((e) => e.outcomeDesc === 'operation $export');
  t.match(JSON.stringify(job), /Claim/, 'naming the types exported');
  const downloads = ofJob.filter((e) => e.outcomeDesc === 'operation $export-file');
  t.equal(downloads.length, manifest.output.length + 1, 'each download is audited once (every file once, the first twice)');
  const first = String(manifest.output[0]?.url.split('/').pop());
  t.equal(downloads.filter((e) => (e.entity ?? []).some((x) => x.detail?.some((d) => d.type === 'file' && d.valueString === first))).length, 2, 'naming the job and the file');
  t.ok(downloads.every((e) => !(e.entity ?? []).some((x) => x.what?.reference?.startsWith('Patient/'))), 'not per patient');

  t.equal((await h.as(payer, { method: 'DELETE', url: pathOf(statusUrl) })).statusCode, 202);
  const cancels = (await jobEvents(h, jobId)).filter((e) => e.outcomeDesc === 'operation $export-cancel');
  t.equal(cancels.length, 1, 'the cancel (here: deleting the finished job) is audited once, naming the job');

  // The opt-out is what keeps m1's Encounter out: without it, the older grant lets it through.
  await h.storage.delete(systemContext(BASE_URL), 'Consent', 'no-payer-encounters');
  const granted = await exportAll(h.send(payer), { url: '/fhir/$export?_type=Encounter', headers: withToken(payer) });
  t.same(idsOf(granted.files.Encounter), ['e1', 'e2'], 'without the opt-out, m1’s Encounter is exported (its HIV-labelled one is not)');
});

t.test('status and files belong to the principal that started the job: anyone else gets 404', async (t) => {
  const h = await start(t);
  const payer = await h.token({ scope: 'system/*.rs', fhirUser: 'Organization/payer', sub: 'payer-client' });
  const { manifest, statusUrl } = await exportAll(h.send(payer), { url: '/fhir/$export?_type=Patient', headers: withToken(payer) });
  const fileUrl = pathOf(manifest.output[0]?.url ?? '');
  const other = await h.token({ scope: 'system/*.rs', fhirUser: 'Organization/other-payer', sub: 'other-client' });
  t.equal((await h.as(other, { url: pathOf(statusUrl) })).statusCode, 404);
  t.equal((await h.as(other, { url: fileUrl })).statusCode, 404);
  t.equal((await h.as(other, { method: 'DELETE', url: pathOf(statusUrl) })).statusCode, 404, 'nor cancel it');
  t.equal((await h.as(payer, { url: fileUrl })).statusCode, 200);
  t.equal((await h.request({ url: fileUrl })).statusCode, 401, 'without a token');

  const operatorA = await h.token({ scope: 'system/*.rs', sub: 'ops-a' });
  const operatorB = await h.token({ scope: 'system/*.rs', sub: 'ops-b' });
  const ops = await exportAll(h.send(operatorA), { url: '/fhir/$export?_type=Patient', headers: withToken(operatorA) });
  t.same(idsOf(ops.files.Patient), ['m1', 'm2', 'n'], 'the operator sees everything');
  t.equal((await h.as(operatorB, { url: pathOf(ops.statusUrl) })).statusCode, 404, 'another operator subject is another principal');
  t.equal((await h.as(operatorA, { url: pathOf(ops.statusUrl) })).statusCode, 200);
});

t.test('patient/, user/ and family tokens: their own compartment, what they may search; system level needs system/ scopes', async (t) => {
  const h = await start(t);
  const patient = await h.token({ scope: 'patient/*.rs', fhirUser: 'Patient/m1', patient: 'm1' });
  t.equal((await h.as(patient, { url: '/fhir/$export', headers: ASYNC })).statusCode, 403, 'system level with patient/ scopes');
  const own = await exportAll(h.send(patient), { url: '/fhir/Patient/$export', headers: withToken(patient) });
  t.same(idsOf(own.files.Patient), ['m1']);
  t.same(idsOf(own.files.Encounter), ['e-hiv', 'e1'], 'the patient sees all of their own');
  t.equal(own.files.Claim?.some((c) => c.id === 'cln'), false);

  const mum = await h.token({ scope: 'user/*.rs', fhirUser: 'RelatedPerson/mum' });
  const family = await exportAll(h.send(mum), { url: '/fhir/Patient/$export', headers: withToken(mum) });
  t.same(idsOf(family.files.Patient), ['m1'], 'the family member: only the patient who shares with her');
  t.same(idsOf(family.files.Encounter), ['e1'], 'not the sensitive Encounter');

  const gp = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/gp' });
  t.equal((await h.as(gp, { url: '/fhir/$export', headers: ASYNC })).statusCode, 403, 'user/ scopes at system level');
  const treating = await exportAll(h.send(gp), { url: '/fhir/Patient/$export?_type=Patient,Encounter', headers: withToken(gp) });
  t.same(idsOf(treating.files.Patient), ['m1']);
  t.same(idsOf(treating.files.Encounter), ['e1'], 'the sensitive Encounter stays hidden');
});

t.test('a Group that lists someone the caller may not see: that member’s data never appears', async (t) => {
  const h = await start(t);
  const operator = await h.token({ scope: 'system/*.rs', sub: 'ops' });
  const all = await exportAll(h.send(operator), { url: '/fhir/Group/mixed/$export?_type=Patient,Encounter', headers: withToken(operator) });
  t.same(idsOf(all.files.Patient), ['m1', 'n'], 'the operator: both members');
  const payer = await h.token({ scope: 'system/*.rs', fhirUser: 'Organization/payer', sub: 'payer-client' });
  const kickoff = await h.as(payer, { url: '/fhir/Group/mixed/$export', headers: ASYNC });
  if (kickoff.statusCode === 404) {
    t.pass('the payer may not see the Group itself: 404, nothing exported');
    return;
  }
  t.equal(kickoff.statusCode, 202);
  const done = await poll(h.send(payer), String(kickoff.headers['content-location']), withToken(payer));
  const manifest = JSON.parse(done.body) as { output: Array<{ type: string; url: string }> };
  const text = (await Promise.all(manifest.output.map(async (o) => (await h.as(payer, { url: pathOf(o.url) })).body))).join('');
  t.notMatch(text, /"id":"n"|Patient\/n"/, 'nothing of the hidden member');
  t.match(text, /"id":"m1"/);
});

t.test('a granular scope (?category=) narrows the export as it narrows a search', async (t) => {
  const h = await start(t);
  const CAT = 'http://terminology.hl7.org/CodeSystem/observation-category';
  const observation = (id: string, category: string) => ({
    resourceType: 'Observation', id, status: 'final', code: { text: id }, subject: { reference: 'Patient/m1' },
    category: [{ coding: [{ system: CAT, code: category }] }],
  });
  for (const resource of [observation('lab', 'laboratory'), observation('vital', 'vital-signs')]) await h.storage.update(systemContext(BASE_URL), resource as AnyResource);
  const operator = await h.token({ scope: `system/Observation.rs?category=${CAT}|laboratory`, sub: 'lab-analytics' });
  const { files } = await exportAll(h.send(operator), { url: '/fhir/$export?_type=Observation', headers: withToken(operator) });
  t.same(idsOf(files.Observation), ['lab'], 'only the laboratory Observation');
});

t.test('the kick-off is audited with an AuditEvent naming the job, at once', async (t) => {
  const h = await start(t);
  const payer = await h.token({ scope: 'system/*.rs', fhirUser: 'Organization/payer', sub: 'payer-client' });
  const kickoff = await h.as(payer, { url: '/fhir/$export?_type=Patient,Coverage', headers: ASYNC });
  t.equal(kickoff.statusCode, 202);
  const statusUrl = String(kickoff.headers['content-location']);
  const jobId = statusUrl.split('/').pop() ?? '';
  // Cancelled before it can finish is still a kick-off on record.
  t.equal((await h.as(payer, { method: 'DELETE', url: pathOf(statusUrl) })).statusCode, 202);
  const kickoffs = (await jobEvents(h, jobId)).filter((e) => e.outcomeDesc === 'operation $export-kickoff');
  t.equal(kickoffs.length, 1, 'one kick-off event naming the job');
  const details = Object.fromEntries((kickoffs[0]?.entity ?? []).flatMap((x) => x.detail ?? []).map((d) => [d.type, d.valueString]));
  t.equal(details.level, 'system');
  t.equal(details.types, 'Patient,Coverage', 'naming the types asked for');
  t.notOk((kickoffs[0]?.entity ?? []).some((x) => x.what?.reference?.startsWith('Patient/')), 'not per patient');
});

t.test('a Group that merely lists a patient is not that patient’s data: no AuditEvent for a member with nothing exported', async (t) => {
  const h = await start(t);
  // quiet has no Encounter: the only exported resource naming quiet is the Group itself.
  await h.storage.update(systemContext(BASE_URL), { resourceType: 'Patient', id: 'quiet' } as AnyResource);
  const listing = { resourceType: 'Group', id: 'listing', type: 'person', actual: true, member: [{ entity: { reference: 'Patient/m2' } }, { entity: { reference: 'Patient/quiet' } }] };
  await h.storage.update(systemContext(BASE_URL), listing as AnyResource);
  const operator = await h.token({ scope: 'system/*.rs', sub: 'ops' });
  const { files, statusUrl } = await exportAll(h.send(operator), { url: '/fhir/Group/listing/$export?_type=Group,Encounter', headers: withToken(operator) });
  t.ok(idsOf(files.Group).includes('listing'), 'the Group itself went out');
  t.same(idsOf(files.Encounter), ['e2'], 'm2’s Encounter; quiet has none');
  const audited = auditedPatients(await jobEvents(h, statusUrl.split('/').pop() ?? ''));
  t.same(audited, ['Patient/m2'], 'm2, whose data went out; not quiet, whom the Group merely lists');
});
