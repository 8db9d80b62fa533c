/**
 * The most important consent test: for generated worlds, the resources a
 * search returns under the compiled consent filter (SQLite adapter) are
 * exactly those decision.ts permits, for every actor, purpose and type.
 */
import t from 'tap';
import type { Consent } from 'fhir/r4';
import type { RequestContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { createIndexer } from '../../src/search/indexer';
import { consentAccessPart } from '../../src/security/consent/consent-access';
import { loadConsentWorld } from '../../src/security/consent/consent-world';
import { decide, type PatientCase } from '../../src/security/consent/decision';
import { patientsOf } from '../../src/security/consent/patients-of';
import { resolveActor } from '../../src/security/consent/resolve-actor';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { BASE, generateWorld, payerLinked, treats } from './consent-generated-world';

const NOW = new Date('2024-06-01T12:00:00Z');
const TYPES = ['Patient', 'Encounter', 'Observation', 'Claim', 'Coverage', 'Appointment', 'ServiceRequest', 'Consent', 'Organization'];
const PURPOSES = ['TREAT', 'HPAYMT', 'HRESCH', 'ETREAT', 'PATRQT'];
const SEEDS = [1, 2, 3, 4, 5, 6];

const indexer = createIndexer({ baseUrl: BASE });
const ctx: RequestContext = { requestId: 'consent-property', baseUrl: BASE, principal: { kind: 'operator' }, now: NOW };

for (const seed of SEEDS) {
  t.test(`generated world ${seed}: the filtered search returns exactly what decide() permits`, async (t) => {
    const world = generateWorld(seed, NOW);
    const storage = createSqliteStorage({ path: ':memory:', indexer });
    t.teardown(() => storage.close());
    // Written a day apart so that meta.lastUpdated orders Consents without a dateTime.
    for (const [i, res] of world.resources.entries()) {
      await storage.create({ ...ctx, now: new Date(NOW.getTime() - (world.resources.length - i) * 86_400_000) }, res);
    }
    const stored = new Map<string, AnyResource>();
    for (const type of TYPES) {
      const page = await storage.search(ctx, { types: [type], where: [], sort: [{ code: '_id', descending: false }], count: 1000, offset: 0, total: 'none' });
      for (const rec of page.records) stored.set(`${type}/${rec.id}`, rec.resource!);
    }
    const consentsOf = (patient: string) =>
      [...stored.values()].filter((r) => r.resourceType === 'Consent' && (r as unknown as Consent).patient?.reference === `Patient/${patient}`) as unknown as Consent[];

    let compared = 0;
    let permitted = 0;
    for (const fhirUser of world.actors) {
      const actor = await resolveActor(storage, ctx, { fhirUser });
      for (const purpose of PURPOSES) {
        const consentWorld = await loadConsentWorld(storage, ctx, indexer, actor, purpose);
        const part = consentAccessPart(consentWorld);
        const filtered: RequestContext = { ...ctx, access: { conditionsFor: (type) => part.conditionsFor(type) } };
        for (const type of TYPES) {
          const page = await storage.search(filtered, { types: [type], where: [], sort: [{ code: '_id', descending: false }], count: 1000, offset: 0, total: 'accurate' });
          const got = page.records.map((r) => r.id).sort();
          const expected = [...stored.values()]
            .filter((res) => res.resourceType === type)
            .filter((res) => {
              if (type === 'Organization') return true;
              const facts = { resourceType: res.resourceType, id: res.id!, entries: indexer(res) };
              const cases: PatientCase[] = patientsOf(facts).map((patientId) => ({
                patientId,
                consents: consentsOf(patientId),
                base: {
                  treatmentRelationship: treats(world, patientId, actor.identities),
                  payerLinked: actor.payer && payerLinked(world, actor.reference, res, (x) => patientsOf({ resourceType: x.resourceType, id: x.id!, entries: indexer(x) })),
                },
              }));
              return decide(consentWorld.env, facts, cases).decision === 'permit';
            })
            .map((res) => res.id!)
            .sort();
          compared++;
          permitted += expected.length;
          if (JSON.stringify(got) !== JSON.stringify(expected)) {
            t.same(got, expected, `${fhirUser} ${purpose} ${type}`);
            return;
          }
          t.equal(page.total, expected.length, `${fhirUser} ${purpose} ${type}: the total counts the same world`);
        }
      }
    }
    t.ok(permitted > 0, `${compared} searches compared, ${permitted} permitted resources in all`);
  });
}
