/**
 * Batch and transaction entries are authorized, filtered and audited one by
 * one, exactly as their REST calls: real signed tokens, the real scope and
 * consent layers, through processBundle with the server's request guard.
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { systemContext, type RequestContext } from '../../src/context';
import { FhirError } from '../../src/errors';
import type { AnyResource, Bundle, BundleEntry } from '../../src/fhir/types';
import { processBundle } from '../../src/rest/bundle';
import { createIndexer } from '../../src/search/indexer';
import { parseSearch } from '../../src/search/parse';
import type { EntryAudit } from '../../src/security/audit/entry-audits';
import { authenticate } from '../../src/security/auth/auth-service';
import { createRequestGuard } from '../../src/security/request-guard';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { createValidator } from '../../src/validation/validator';
import { BASE_URL, type SecureHarness } from '../security/auth-kit';
import { bundleOf, patient, postEntry, putEntry, requestEntry, type Entry } from './helpers';
import { SID, startSecureWorld, WORLD } from './secure-world';

const validator = createValidator();
const observation = (subject: string, extra: Entry = {}): Entry => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: subject }, ...extra });
const consent = (patientId: string): Entry => ({
  resourceType: 'Consent',
  status: 'active',
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
  category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
  patient: { reference: `Patient/${patientId}` },
  policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
});

interface Sent {
  bundle?: Bundle;
  error?: FhirError;
  audits: EntryAudit[];
}

interface World {
  h: SecureHarness;
  send(claims: Parameters<SecureHarness['token']>[0], bundle: unknown): Promise<Sent>;
  count(type: string): Promise<number>;
}

async function start(t: { teardown(fn: () => unknown): void }): Promise<World> {
  const { h, consent } = await startSecureWorld(t);
  const guard = createRequestGuard({ storage: h.storage, baseUrl: BASE_URL, accessSources: [consent] });
  return {
    h,
    async send(claims, bundle) {
      // The principal a real signed token authenticates as, as the onRequest hook builds it.
      const principal = await authenticate(h.auth, `Bearer ${await h.token(claims)}`, h.storage);
      const ctx: RequestContext = { requestId: randomUUID(), baseUrl: BASE_URL, principal, now: new Date() };
      const audits: EntryAudit[] = [];
      const options = { maxEntries: 50, preference: 'representation' as const, guard, onEntry: (audit: EntryAudit) => audits.push(audit) };
      try {
        return { bundle: await processBundle({ storage: h.storage, validator }, ctx, bundle, options), audits };
      } catch (error) {
        if (!(error instanceof FhirError)) throw error;
        return { error, audits };
      }
    },
    async count(type) {
      const { query } = parseSearch([type], [['_count', '100']], { strict: true, baseUrl: BASE_URL });
      return (await h.storage.search(systemContext(BASE_URL), query)).records.length;
    },
  };
}

const status = (entry: BundleEntry | undefined) => entry?.response?.status.split(' ')[0];
const ids = (entry: BundleEntry | undefined) => ((entry?.resource as Bundle | undefined)?.entry ?? []).map((e) => e.resource?.id).sort();
const diagnostics = (error: FhirError | undefined) => error?.issues.map((issue) => issue.diagnostics).join(' ') ?? '';

const PATIENT_P = { scope: 'patient/*.cruds', fhirUser: 'Patient/p', patient: 'p' };

t.test('a patient token in a batch: own data read, another patient hidden (404 / empty search), HEAD without body', async (t) => {
  const w = await start(t);
  const { bundle, audits } = await w.send({ scope: 'patient/*.rs', fhirUser: 'Patient/p', patient: 'p' }, bundleOf('batch', [
    requestEntry('GET', 'Observation/op'),
    requestEntry('GET', 'Observation/oq'),
    requestEntry('GET', 'Observation?subject=Patient/q'),
    requestEntry('GET', 'Observation'),
    requestEntry('HEAD', 'Observation/op'),
    requestEntry('GET', 'Patient/p/Observation'),
  ]));
  const [own, other, otherSearch, all, head, compartment] = bundle?.entry ?? [];
  t.equal(status(own), '200');
  t.equal((own?.resource as AnyResource).id, 'op', 'a GET entry carries the resource in entry.resource');
  t.equal(own?.response?.etag, 'W/"1"');
  t.equal(status(other), '404', "another patient's Observation reads as absent");
  t.equal(other?.response?.outcome?.resourceType, 'OperationOutcome');
  t.equal(status(otherSearch), '200');
  t.same(ids(otherSearch), [], "a search for another patient's data: 200 with no entries");
  t.same(ids(all), ['op'], 'an open search: only the compartment');
  t.equal(status(head), '200');
  t.equal(head?.resource, undefined, 'a HEAD entry has no body');
  t.equal(head?.response?.etag, 'W/"1"', 'but its version');
  t.same(ids(compartment), ['op'], 'a compartment search entry');

  t.equal(audits.length, 6, 'one audit record per entry');
  t.same(audits.map((a) => [a.classified.interaction, a.status]), [['read', 200], ['read', 404], ['search-type', 200], ['search-type', 200], ['read', 200], ['search-type', 200]]);
  t.equal(audits[1]?.hidden, true, 'the 404 of an existing resource is recorded as hidden');
  t.same(audits[1]?.resources.map((r) => r.id), ['oq'], 'naming the resource the caller tried to read');
  t.notOk(audits[0]?.hidden);
});

t.test('searches and operations by POST are admitted, filtered and audited as their REST calls', async (t) => {
  const w = await start(t);
  const post = (url: string, resource?: Entry): Entry => ({ ...(resource ? { resource } : {}), request: { method: 'POST', url } });
  const parameters = (...parameter: Entry[]): Entry => ({ resourceType: 'Parameters', parameter });
  const match = (value: string) => post('Patient/$match', parameters({ name: 'resource', resource: { resourceType: 'Patient', identifier: [{ system: SID, value }] } }));
  const evaluate = (resource: string) =>
    post('Consent/$evaluate', parameters({ name: 'actor', valueReference: { reference: 'Patient/p' } }, { name: 'resource', valueReference: { reference: resource } }));
  const { bundle, audits } = await w.send(PATIENT_P, bundleOf('batch', [
    post('Observation/_search'),
    post('Observation/_search?subject=Patient/q'),
    match('p'),
    match('q'),
    evaluate('Observation/op'),
    evaluate('Observation/oq'),
  ]));
  t.same(bundle?.entry?.map(status), ['200', '200', '200', '200', '200', '403'], "asking about another patient's data is refused, as by REST");
  const [all, other, own, hidden] = bundle?.entry ?? [];
  t.same(ids(all), ['op'], 'a search by POST sees only the compartment');
  t.same(ids(other), [], "another patient's data: 200 with no entries");
  t.same(ids(own), ['p'], '$match finds the caller');
  t.same(ids(hidden), [], 'but not a patient hidden from them');
  t.same(audits.map((a) => [a.classified.interaction, a.classified.operation, a.status]), [
    ['search-type', undefined, 200],
    ['search-type', undefined, 200],
    ['operation', '$match', 200],
    ['operation', '$match', 200],
    ['operation', '$evaluate', 200],
    ['operation', '$evaluate', 403],
  ]);

  const readOnly = { scope: 'patient/Observation.r', fhirUser: 'Patient/p', patient: 'p' };
  const refused = await w.send(readOnly, bundleOf('batch', [post('Observation/_search'), requestEntry('GET', 'Observation/op')]));
  t.same(refused.bundle?.entry?.map(status), ['403', '200'], 'a search by POST needs the s a GET search needs');
  const { error } = await w.send(readOnly, bundleOf('transaction', [requestEntry('GET', 'Observation/op'), post('Observation/_search')]));
  t.equal(error?.status, 403, 'and fails a transaction without it');
  t.match(diagnostics(error), /Bundle\.entry\[1\]/);
});

t.test('a transaction writing outside the compartment fails with 403 naming the entry, and writes nothing', async (t) => {
  const w = await start(t);
  const before = await w.count('Observation');
  const { error, audits } = await w.send(PATIENT_P, bundleOf('transaction', [postEntry(observation('Patient/p')), postEntry(observation('Patient/q'))]));
  t.equal(error?.status, 403);
  t.match(diagnostics(error), /Bundle\.entry\[1\]/, 'the OperationOutcome names the entry');
  t.same(error?.issues[0]?.expression, ['Bundle.entry[1]']);
  t.equal(await w.count('Observation'), before, 'nothing written');
  t.same(audits.map((a) => [a.classified.interaction, a.status]), [['create', 403]], 'the refused entry is audited');

  const batch = await w.send(PATIENT_P, bundleOf('batch', [postEntry(observation('Patient/p')), postEntry(observation('Patient/q'))]));
  t.same(batch.bundle?.entry?.map(status), ['201', '403'], 'in a batch only the refused entry fails');
  t.equal(await w.count('Observation'), before + 1);
  t.same(batch.audits.map((a) => a.status), [201, 403]);

  const ok = await w.send(PATIENT_P, bundleOf('transaction', [postEntry(observation('Patient/p'))]));
  t.same(ok.bundle?.entry?.map(status), ['201'], 'inside the compartment the transaction commits');
  t.same(ok.audits.map((a) => [a.classified.interaction, a.status, a.resources.length]), [['create', 201, 1]]);
});

t.test('an entry type the scopes do not grant: 403 for that entry', async (t) => {
  const w = await start(t);
  const claims = { scope: 'patient/Observation.rs', fhirUser: 'Patient/p', patient: 'p' };
  const { bundle } = await w.send(claims, bundleOf('batch', [requestEntry('GET', 'Observation/op'), requestEntry('GET', 'Encounter/e1'), requestEntry('DELETE', 'Observation/op')]));
  t.same(bundle?.entry?.map(status), ['200', '403', '403'], 'no scope on Encounter; no d on Observation');
  t.match(bundle?.entry?.[1]?.response?.outcome, { issue: [{ code: 'forbidden' }] });
  const { error } = await w.send(claims, bundleOf('transaction', [requestEntry('GET', 'Observation/op'), requestEntry('GET', 'Encounter/e1')]));
  t.equal(error?.status, 403, 'a transaction fails on the ungranted entry');
  t.match(diagnostics(error), /Bundle\.entry\[1\]/);
  const audit = await w.send(claims, bundleOf('batch', [putEntry('AuditEvent/x', { resourceType: 'AuditEvent', id: 'x' })]));
  t.equal(status(audit.bundle?.entry?.[0]), '405', 'AuditEvents stay immutable inside bundles');
});

t.test('practitioners: the treating one sees and writes Consents, another does not; a payer neither', async (t) => {
  const w = await start(t);
  const entries = [requestEntry('GET', 'Encounter/e1'), requestEntry('GET', 'Encounter?patient=p'), postEntry(consent('p'))];
  const other = await w.send({ scope: 'user/*.cruds', fhirUser: 'Practitioner/other' }, bundleOf('batch', entries));
  t.same(other.bundle?.entry?.map(status), ['404', '200', '403'], 'no relationship: hidden, empty search, no Consent');
  t.same(ids(other.bundle?.entry?.[1]), []);
  const payer = await w.send({ scope: 'user/*.cruds', fhirUser: 'Organization/payer' }, bundleOf('batch', [requestEntry('GET', 'Patient/p'), postEntry(consent('p'))]));
  t.same(payer.bundle?.entry?.map(status), ['404', '403'], 'a payer: not the patient, never a Consent');
  // Last: the gp's OPTIN Consent opens the record to everyone.
  const gp = await w.send({ scope: 'user/*.cruds', fhirUser: 'Practitioner/gp' }, bundleOf('batch', entries));
  t.same(gp.bundle?.entry?.map(status), ['200', '200', '201'], 'treatment relationship: read, search, Consent written');
  t.same(ids(gp.bundle?.entry?.[1]), ['e1']);
  const consentTx = await w.send({ scope: 'user/*.cruds', fhirUser: 'Practitioner/other' }, bundleOf('transaction', [postEntry(consent('p'))]));
  t.equal(consentTx.error?.status, 403, 'a Consent write refused inside a transaction fails it');
});

t.test('conditional references and ifNoneExist only see what the caller may see', async (t) => {
  const w = await start(t);
  const gp = { scope: 'user/*.cruds', fhirUser: 'Practitioner/gp' };
  const resolved = await w.send(gp, bundleOf('transaction', [postEntry(observation(`Patient?identifier=${SID}|p`))]));
  t.equal(status(resolved.bundle?.entry?.[0]), '201');
  t.match(resolved.bundle?.entry?.[0]?.resource, { subject: { reference: 'Patient/p' } }, 'a patient the practitioner treats resolves');
  const hidden = await w.send(gp, bundleOf('transaction', [postEntry(observation(`Patient?identifier=${SID}|q`))]));
  t.equal(hidden.error?.status, 412, 'a patient hidden from the practitioner is as absent: no match');
  t.notMatch(diagnostics(hidden.error), /Patient\/q/, 'the hidden resource is not revealed');
  const before = await w.count('Observation');
  const ifNoneExist = await w.send(gp, bundleOf('transaction', [postEntry(observation('Patient/p'), undefined, { ifNoneExist: '_id=oq' })]));
  t.equal(status(ifNoneExist.bundle?.entry?.[0]), '201', 'an ifNoneExist matching only a hidden resource does not return it: the entry creates');
  t.equal(await w.count('Observation'), before + 1);
  const visible = await w.send(gp, bundleOf('transaction', [postEntry(observation('Patient/p'), undefined, { ifNoneExist: '_id=op' })]));
  t.equal(status(visible.bundle?.entry?.[0]), '200', 'a visible match is the existing resource');
});

t.test('a conditional reference finds a resource an earlier entry of the same transaction creates', async (t) => {
  const w = await start(t);
  const npi = 'http://hl7.org/fhir/sid/us-npi|160';
  const practitioner = postEntry({ resourceType: 'Practitioner', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: '160' }] }, 'urn:uuid:9a7e4b52-1c1a-4b8e-9d1e-2f0d7e1c0001');
  const withPerformer = postEntry(observation('Patient/p', { performer: [{ reference: `Practitioner?identifier=${npi}` }] }));
  const operator = { scope: 'system/*.cruds' };
  for (const [order, entries] of [['created first', [practitioner, withPerformer]], ['referenced first', [withPerformer, practitioner]]] as const) {
    const { bundle, error } = await w.send(operator, bundleOf('transaction', [...entries]));
    t.equal(error, undefined, `${order}: the transaction commits`);
    const created = bundle?.entry?.find((e) => e.resource?.resourceType === 'Practitioner')?.resource;
    const obs = bundle?.entry?.find((e) => e.resource?.resourceType === 'Observation')?.resource as { performer?: Array<{ reference: string }> } | undefined;
    t.equal(obs?.performer?.[0]?.reference, `Practitioner/${created?.id}`, `${order}: the reference is the new Practitioner`);
    // Each round adds a Practitioner with the same identifier; the next round would be ambiguous.
    await w.h.storage.delete(systemContext(BASE_URL), 'Practitioner', created?.id as string);
  }
});

t.test('fullUrls inside ifNoneExist and conditional URLs are replaced by the ids they get', async (t) => {
  const w = await start(t);
  const operator = { scope: 'system/*.cruds' };
  const fullUrl = 'urn:uuid:3f1b8e2a-5c1d-4a6b-8e7f-1a2b3c4d5e6f';
  const coded = (code: string) => observation(fullUrl, { code: { coding: [{ system: 'urn:example:code', code }] } });
  const bundle = () =>
    bundleOf('transaction', [
      { ...putEntry('Patient/n1', patient({ id: 'n1' })), fullUrl },
      postEntry(coded('c1'), undefined, { ifNoneExist: `subject=${fullUrl}&code=urn:example:code|c1` }),
      putEntry(`Observation?subject=${encodeURIComponent(fullUrl)}&code=urn:example:code|c2`, coded('c2')),
    ]);
  const first = await w.send(operator, bundle());
  t.same(first.bundle?.entry?.map(status), ['201', '201', '201'], 'first run: everything created');
  const second = await w.send(operator, bundle());
  t.equal(second.error, undefined, String(second.error?.message));
  t.same(second.bundle?.entry?.map(status), ['200', '200', '200'], 'second run: the conditional create and update find what the first wrote');
  t.equal(await w.count('Observation'), WORLD.filter((r) => r.resourceType === 'Observation').length + 2, 'no duplicates');
});

t.test('an unexpected error in one batch entry is that entry’s 500; the others keep their results', async (t) => {
  const storage = createSqliteStorage({ path: ':memory:', indexer: createIndexer({ baseUrl: BASE_URL }) });
  t.teardown(() => storage.close());
  await storage.create(systemContext(BASE_URL), { resourceType: 'Patient', id: 'fine' } as AnyResource);
  const failing = { ...storage, read: ((ctx, type, id) => (id === 'boom' ? Promise.reject(new Error('disk on fire: Patient Alice Example')) : storage.read(ctx, type, id))) as typeof storage.read };
  const result = await processBundle({ storage: failing, validator }, systemContext(BASE_URL), bundleOf('batch', [requestEntry('GET', 'Patient/boom'), requestEntry('GET', 'Patient/fine')]), {
    maxEntries: 10,
    preference: 'minimal',
  });
  t.same(result.entry?.map(status), ['500', '200']);
  t.match(result.entry?.[0]?.response?.outcome, { resourceType: 'OperationOutcome', issue: [{ code: 'exception', expression: ['Bundle.entry[0]'] }] });
  t.notMatch(JSON.stringify(result.entry?.[0]), /Alice|fire/, 'the error text stays out of the response');
});

// Without the server's guard the consent layer is unknown: only the operator acting without a token may send a bundle.
t.test('without a request guard only the unrestricted operator may send bundles', async (t) => {
  const storage = createSqliteStorage({ path: ':memory:', indexer: createIndexer({ baseUrl: BASE_URL }) });
  t.teardown(() => storage.close());
  const services = { storage, validator };
  const options = { maxEntries: 10, preference: 'minimal' as const };
  const bundle = bundleOf('transaction', [postEntry(patient())]);
  const base = { requestId: 'r', baseUrl: BASE_URL, now: new Date() };
  const token = { issuer: 'https://issuer.example', scopes: [] };
  const restricted: Array<[string, RequestContext]> = [
    ['a user', { ...base, principal: { kind: 'user', token, fhirUser: 'Practitioner/1', actorType: 'Practitioner', purpose: 'TREAT' } }],
    ['an operator client with token scopes', { ...base, principal: { kind: 'operator', token } }],
    ['an access filter', { ...base, principal: { kind: 'operator' }, access: { conditionsFor: () => [] } }],
  ];
  for (const [who, ctx] of restricted) {
    for (const type of ['transaction', 'batch'] as const) {
      const refused = await processBundle(services, ctx, { ...bundle, type }, options).catch((error: unknown) => error);
      t.ok(refused instanceof FhirError && refused.status === 403, `${who}: ${type} refused with 403`);
    }
  }
  const result = await processBundle(services, { ...base, principal: { kind: 'operator' } }, bundle, options);
  t.equal(result.entry?.length, 1, 'the operator may');
});
