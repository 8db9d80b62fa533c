import type { Db, MongoClient } from 'mongodb';
import t from 'tap';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { auditEvents, jobEntity } from '../../src/security/audit/audit-event';
import { auditLogIndexer } from '../../src/search/audit-log-indexer';
import { AUDIT_LOG_STORED_TERMS } from '../../src/search/audit-log-search';
import { createIndexer } from '../../src/search/indexer';
import { mongoStorageOn } from '../../src/storage/mongo/mongo-storage';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { stampResource } from '../../src/storage/versioning';
import { FakeMongo } from '../storage/mongo-fake';
import { auditLogCaseEvents } from '../storage/audit-log-cases';

/**
 * The access log's writer indexes AuditEvents with only the parameters the
 * log keeps: it must give exactly the standard indexer's entries for those
 * (the log's term rows and `recorded` columns come from them), and index any
 * other type as the standard indexer does.
 */
const BASE = 'https://concord.example/fhir';
const standard = createIndexer({ baseUrl: BASE });
const narrowed = auditLogIndexer(BASE);
const kept = new Set([...AUDIT_LOG_STORED_TERMS, 'date']);

const operator = { kind: 'operator', token: { issuer: 'https://concord.example', clientId: 'concord-cli', scopes: [] } } as const;
const doctor = {
  kind: 'user',
  token: { issuer: 'https://concord.example', clientId: 'app', scopes: [] },
  fhirUser: 'Practitioner/d1',
  actorType: 'Practitioner',
  purpose: 'TREAT',
} as const;
const facts = { recorded: new Date('2024-05-01T10:00:00.000Z'), outcome: '0', networkAddress: '10.0.0.1', baseUrl: BASE } as const;

const events: AnyResource[] = [
  ...auditEvents({ ...facts, principal: operator, interaction: 'read', resources: [{ reference: 'Patient/p1', patients: ['p1'] }] }),
  ...auditEvents({
    ...facts,
    principal: doctor,
    interaction: 'search-type',
    outcome: '4',
    resources: [
      { reference: 'Encounter/e1', patients: ['p1', 'p2'] },
      { reference: 'Organization/o1', patients: [] },
    ],
  }),
  ...auditEvents({ ...facts, principal: operator, interaction: 'operation', operation: '$export', resources: [], extraEntities: [jobEntity(BASE, 'job-1', { types: 'Patient' })] }),
  ...auditLogCaseEvents(),
  // As a client may POST one: absolute and contained references, security labels, an observer, a period.
  {
    resourceType: 'AuditEvent',
    meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] },
    type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110110' },
    recorded: '2024-05-01',
    period: { start: '2024-05-01T00:00:00Z', end: '2024-05-02T00:00:00Z' },
    agent: [{ who: { reference: `${BASE}/Patient/p3` }, requestor: false, purposeOfUse: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HPAYMT' }] }] }],
    source: { observer: { reference: 'Device/d9' } },
    entity: [{ what: { reference: '#c1' } }, { what: { identifier: { value: 'x' } } }, { what: { reference: 'https://elsewhere.example/fhir/Patient/p4' } }],
    contained: [{ resourceType: 'Patient', id: 'c1' }],
  } as AnyResource,
].map((event, i) => stampResource({ ...event, id: `ev-${i}` }, 1, '2024-05-01T10:00:00.000Z'));

t.test('an AuditEvent: the standard entries of every parameter the log keeps, no others', async (t) => {
  for (const event of events) {
    const expected = standard(event).filter((entry) => kept.has(entry.param));
    t.same(narrowed(event), expected, event.id ?? '');
    t.ok(expected.some((entry) => entry.param === 'date'), `${event.id ?? ''} has its date`);
  }
  t.ok(standard(events[0]!).some((entry) => !kept.has(entry.param)), 'the standard indexer gives more (or the narrowing tests nothing)');
});

t.test('another type is indexed as by the standard indexer', async (t) => {
  const patient = { resourceType: 'Patient', id: 'p1', name: [{ family: 'Smith' }], gender: 'female', birthDate: '1970-01-01' } as AnyResource;
  t.same(narrowed(patient), standard(patient));
});

t.test('both engines index the access log with the indexer they are given for it', async (t) => {
  const counting = () => {
    const types: string[] = [];
    const indexer = (resource: AnyResource) => (types.push(resource.resourceType), standard(resource));
    return { indexer, types };
  };
  const event = { ...events[0]!, id: undefined, meta: undefined } as unknown as AnyResource;

  const sqliteMain = counting();
  const sqliteLog = counting();
  const sqlite = await createSqliteStorage({ path: ':memory:', indexer: sqliteMain.indexer, auditIndexer: sqliteLog.indexer });
  t.teardown(() => sqlite.close());
  // In memory there is no append thread: the audit buffer writes through a unit of work (install-audit.ts).
  await sqlite.unitOfWork((tx) => tx.create(systemContext(BASE, 'audit'), { ...event, id: 'sqlite-1' } as AnyResource));
  t.same([sqliteLog.types, sqliteMain.types], [['AuditEvent'], []], 'SQLite');

  const mongoMain = counting();
  const mongoLog = counting();
  const fake = new FakeMongo();
  const mongo = mongoStorageOn(fake.client as unknown as MongoClient, fake.db as unknown as Db, mongoMain.indexer, false, mongoLog.indexer);
  await mongo.appendRecords!([{ ...event, id: 'mongo-1' } as AnyResource]);
  t.same([mongoLog.types, mongoMain.types], [['AuditEvent'], []], 'MongoDB');
});
