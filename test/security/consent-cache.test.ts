/**
 * The consent layer caches its compiled filter per actor, purpose and
 * action, keyed by the storage's change stamps: each type the filter is read
 * from, when written, must count on the very next request, with the cache
 * warm (the request before the write filled it). The clock alone expires an
 * entry at a Consent's period end; AuditEvents never do.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { systemContext, type Principal } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import type { AccessPartSource, AccessRequest } from '../../src/security/access-filter';
import { consentAccessSource } from '../../src/security/consent/consent-source';
import { createIndexer } from '../../src/search/indexer';
import type { Storage } from '../../src/storage/port';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { BASE_URL, startSecureHarness, type SecureHarness } from './auth-kit';

const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const PRIVACY = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] };
const PAYER_TYPE = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'pay' }] }];
const optOut = (patient: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Consent', id: `optout-${patient}`, status: 'active', scope: PRIVACY, patient: { reference: `Patient/${patient}` },
  dateTime: '2020-01-01', policyRule: { coding: [{ system: ACT, code: 'OPTOUT' }] }, ...extra,
});

async function start(t: { teardown(fn: () => unknown): void }, world: Array<Record<string, unknown>>): Promise<SecureHarness> {
  let source: AccessPartSource | undefined;
  const h = await startSecureHarness({ accessSources: [(request) => source?.(request)] });
  source = consentAccessSource(h.storage, BASE_URL);
  t.teardown(() => h.close());
  for (const resource of world) await write(h, resource);
  return h;
}

const write = (h: SecureHarness, resource: Record<string, unknown>) => h.storage.update(systemContext(BASE_URL), resource as AnyResource);

interface Case {
  /** The type whose write must count on the next request. */
  type: string;
  world: Array<Record<string, unknown>>;
  token: Parameters<SecureHarness['token']>[0];
  url: string;
  before: number;
  change: Record<string, unknown>;
  after: number;
}

const doctor = { scope: 'user/*.rs', fhirUser: 'Practitioner/d', purpose_of_use: 'TREAT' };
const payer = { scope: 'user/*.rs', fhirUser: 'Organization/o', purpose_of_use: 'HPAYMT' };
const encounterOf = (id: string, extra: Record<string, unknown> = {}) => ({ resourceType: 'Encounter', id, status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p' }, ...extra });

const CASES: Case[] = [
  {
    type: 'Consent', world: [{ resourceType: 'Patient', id: 'p', generalPractitioner: [{ reference: 'Practitioner/d' }] }],
    token: doctor, url: '/fhir/Patient/p', before: 200, change: optOut('p'), after: 404,
  },
  {
    type: 'Encounter', world: [{ resourceType: 'Patient', id: 'p' }],
    token: doctor, url: '/fhir/Patient/p', before: 404, change: encounterOf('e', { participant: [{ individual: { reference: 'Practitioner/d' } }] }), after: 200,
  },
  {
    type: 'Appointment', world: [{ resourceType: 'Patient', id: 'p' }],
    token: doctor, url: '/fhir/Patient/p', before: 404,
    change: { resourceType: 'Appointment', id: 'a', status: 'booked', participant: [{ actor: { reference: 'Patient/p' }, status: 'accepted' }, { actor: { reference: 'Practitioner/d' }, status: 'accepted' }] },
    after: 200,
  },
  {
    type: 'ServiceRequest', world: [{ resourceType: 'Patient', id: 'p' }],
    token: doctor, url: '/fhir/Patient/p', before: 404,
    change: { resourceType: 'ServiceRequest', id: 's', status: 'active', intent: 'order', subject: { reference: 'Patient/p' }, performer: [{ reference: 'Practitioner/d' }] },
    after: 200,
  },
  {
    type: 'Patient', world: [{ resourceType: 'Patient', id: 'p' }],
    token: doctor, url: '/fhir/Patient/p', before: 404, change: { resourceType: 'Patient', id: 'p', generalPractitioner: [{ reference: 'Practitioner/d' }] }, after: 200,
  },
  {
    type: 'PractitionerRole', world: [{ resourceType: 'Patient', id: 'p', generalPractitioner: [{ reference: 'PractitionerRole/r' }] }],
    token: doctor, url: '/fhir/Patient/p', before: 404, change: { resourceType: 'PractitionerRole', id: 'r', practitioner: { reference: 'Practitioner/d' } }, after: 200,
  },
  {
    type: 'Organization',
    world: [{ resourceType: 'Organization', id: 'o' }, { resourceType: 'Patient', id: 'p' }, { resourceType: 'Coverage', id: 'cov', status: 'active', beneficiary: { reference: 'Patient/p' }, payor: [{ reference: 'Organization/o' }] }],
    token: payer, url: '/fhir/Coverage/cov', before: 404, change: { resourceType: 'Organization', id: 'o', type: PAYER_TYPE }, after: 200,
  },
  {
    type: 'Coverage', world: [{ resourceType: 'Organization', id: 'o', type: PAYER_TYPE }, { resourceType: 'Patient', id: 'p' }],
    token: payer, url: '/fhir/Patient/p', before: 404,
    change: { resourceType: 'Coverage', id: 'cov', status: 'active', beneficiary: { reference: 'Patient/p' }, payor: [{ reference: 'Organization/o' }] },
    after: 200,
  },
  {
    type: 'Claim', world: [{ resourceType: 'Organization', id: 'o', type: PAYER_TYPE }, { resourceType: 'Patient', id: 'p' }],
    token: payer, url: '/fhir/Patient/p', before: 404,
    change: {
      resourceType: 'Claim', id: 'c', status: 'active', type: { text: 'x' }, use: 'claim', patient: { reference: 'Patient/p' }, created: '2024-01-01',
      insurer: { reference: 'Organization/o' }, provider: { reference: 'Organization/o' }, priority: { text: 'normal' }, insurance: [],
    },
    after: 200,
  },
];

for (const c of CASES) {
  t.test(`a write to ${c.type} counts on the very next request, with the cache warm`, async (t) => {
    const h = await start(t, c.world);
    const token = await h.token(c.token);
    t.equal((await h.as(token, { url: c.url })).statusCode, c.before, 'before the write');
    t.equal((await h.as(token, { url: c.url })).statusCode, c.before, 'again, now from the cache');
    await write(h, c.change);
    t.equal((await h.as(token, { url: c.url })).statusCode, c.after, 'the very next request after the write');
  });
}

/** A storage that counts the searches the consent layer makes. */
function counting(storage: Storage): { storage: Storage; searches: () => number } {
  let searches = 0;
  const counted = Object.create(storage) as Storage;
  counted.search = (ctx, query) => {
    searches++;
    return storage.search(ctx, query);
  };
  return { storage: counted, searches: () => searches };
}

const user = (fhirUser: string, purpose: string): Principal =>
  ({ kind: 'user', fhirUser, actorType: fhirUser.split('/')[0], purpose, token: { issuer: 'x', scopes: [] } }) as Principal;
const at = (principal: Principal, now: string): AccessRequest => ({ principal, permission: 'r', requestId: 'r', now: new Date(now) });

t.test('AuditEvents and other unrelated writes leave the cache alone; a related write does not', async (t) => {
  const base = createSqliteStorage({ path: ':memory:', indexer: createIndexer({ baseUrl: BASE_URL }) });
  t.teardown(() => base.close());
  const { storage, searches } = counting(base);
  const source = consentAccessSource(storage, BASE_URL);
  const principal = user('Practitioner/d', 'TREAT');
  await source(at(principal, '2024-06-01T00:00:00Z'));
  const compiled = searches();
  t.ok(compiled > 0, 'the first request reads storage');
  const ctx = systemContext(BASE_URL);
  await base.create(ctx, { resourceType: 'AuditEvent', id: 'ae' } as AnyResource);
  await base.create(ctx, { resourceType: 'Observation', id: 'o', status: 'final', code: {} } as AnyResource);
  await source(at(principal, '2024-06-01T00:00:01Z'));
  t.equal(searches(), compiled, 'served from the cache: no further reads');
  await source(at(user('Practitioner/other', 'TREAT'), '2024-06-01T00:00:01Z'));
  t.ok(searches() > compiled, 'another actor is another entry');
  const before = searches();
  await base.create(ctx, { resourceType: 'Encounter', id: 'e', status: 'finished', class: {} } as AnyResource);
  await source(at(principal, '2024-06-01T00:00:02Z'));
  t.ok(searches() > before, 'an Encounter write: compiled again');
});

t.test('a cached filter expires when the clock reaches a Consent period boundary', async (t) => {
  const storage = createSqliteStorage({ path: ':memory:', indexer: createIndexer({ baseUrl: BASE_URL }) });
  t.teardown(() => storage.close());
  const ctx = systemContext(BASE_URL);
  await storage.create(ctx, { resourceType: 'Patient', id: 'p', generalPractitioner: [{ reference: 'Practitioner/d' }] } as AnyResource);
  // An opt-out that ends at the end of 2024: from 2025 the treating practitioner sees the patient again.
  await storage.create(ctx, optOut('p', { provision: { period: { start: '2024-01-01', end: '2024-12-31' } } }) as AnyResource);
  const source = consentAccessSource(storage, BASE_URL);
  const principal = user('Practitioner/d', 'TREAT');
  const sees = async (now: string) => {
    const part = await source(at(principal, now));
    const access = { conditionsFor: (type: string) => part?.conditionsFor(type) ?? [] };
    return (await storage.read({ ...systemContext(BASE_URL), principal, now: new Date(now), access }, 'Patient', 'p')) !== undefined;
  };
  t.equal(await sees('2024-06-01T00:00:00Z'), false, 'inside the opt-out period: hidden');
  t.equal(await sees('2024-12-31T23:59:59Z'), false, 'still inside it, from the cache');
  t.equal(await sees('2025-01-01T00:00:00Z'), true, 'after its end: visible, without any write');
});

t.test('two servers on one SQLite file: a Consent written by one counts on the other\'s very next request', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-consent-cache-'));
  const path = join(dir, 'shared.db');
  const open = () => createSqliteStorage({ path, indexer: createIndexer({ baseUrl: BASE_URL }) });
  // Two storages on one file: each has its own connections and in-memory counts, as two processes do.
  const here = open();
  const there = open();
  t.teardown(async () => {
    await here.close();
    await there.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const ctx = systemContext(BASE_URL);
  await here.create(ctx, { resourceType: 'Patient', id: 'p', generalPractitioner: [{ reference: 'Practitioner/d' }] } as AnyResource);
  const source = consentAccessSource(here, BASE_URL);
  const principal = user('Practitioner/d', 'TREAT');
  const sees = async () => {
    const part = await source(at(principal, '2024-06-01T00:00:00Z'));
    const access = { conditionsFor: (type: string) => part?.conditionsFor(type) ?? [] };
    return (await here.read({ ...ctx, principal, access }, 'Patient', 'p')) !== undefined;
  };
  t.equal(await sees(), true, 'treated: visible');
  t.equal(await sees(), true, 'again, from the cache');
  await there.update(ctx, optOut('p') as AnyResource);
  t.equal(await sees(), false, 'the other server\'s opt-out counts at once');
  await there.delete(ctx, 'Consent', 'optout-p');
  t.equal(await sees(), true, 'and so does its delete');
  await there.update(ctx, optOut('p') as AnyResource);
  t.equal(await sees(), false, 'written again');
  await there.update(ctx, optOut('p', { status: 'inactive' }) as AnyResource);
  t.equal(await sees(), true, 'revoked (no longer active)');
});
