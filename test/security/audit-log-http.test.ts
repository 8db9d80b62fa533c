/**
 * The access log over HTTP: what a search of AuditEvent takes (the log's own
 * parameters, 400 for anything else, naming them), paging links, counts, and
 * what the CapabilityStatement promises. The storage side is in
 * test/storage/sqlite-audit-log.test.ts.
 */
import t from 'tap';
import { systemContext } from '../../src/context';
import type { AnyResource, Bundle, CapabilityStatement } from '../../src/fhir/types';
import { BASE_URL, fhirJson, startHarness } from '../http/harness';

const event = (id: string, patient: string, recorded: string): AnyResource =>
  ({
    resourceType: 'AuditEvent',
    id,
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
    action: 'R',
    outcome: '0',
    recorded,
    agent: [{ who: { reference: 'Practitioner/d1' }, requestor: true }],
    source: { observer: { display: 'test' } },
    entity: [{ what: { reference: `Patient/${patient}` } }],
  }) as AnyResource;

const SUPPORTED = ['_id', 'date', 'patient', 'agent', 'entity', 'action', 'outcome', 'subtype', 'type', 'purpose'];

t.test('a search of AuditEvent takes only the log’s parameters: anything else is a 400 naming them', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const refused = [
    '/fhir/AuditEvent?address=1.2.3.4',
    '/fhir/AuditEvent?entity-name=x',
    '/fhir/AuditEvent?_sort=_lastUpdated',
    '/fhir/AuditEvent?_summary=true',
    '/fhir/AuditEvent?_elements=id',
    '/fhir/AuditEvent?_include=AuditEvent:entity',
    '/fhir/AuditEvent?entity.name=x',
    '/fhir/Patient?_revinclude=AuditEvent:entity',
    '/fhir/Patient?_has:AuditEvent:entity:outcome=0',
    '/fhir?_type=AuditEvent,Patient',
  ];
  for (const url of refused) {
    const response = await h.request({ url });
    t.equal(response.statusCode, 400, url);
    t.equal(response.json().resourceType, 'OperationOutcome', `${url}: an OperationOutcome`);
  }
  const diagnostics = String((await h.request({ url: '/fhir/AuditEvent?address=1.2.3.4' })).json().issue[0].diagnostics);
  for (const name of [...SUPPORTED, '_sort=date', '_sort=-date', '_count', '_total', '_summary=count']) t.ok(diagnostics.includes(name), `the 400 names ${name}`);
  const lenient = await h.request({ url: '/fhir/AuditEvent?address=1.2.3.4', headers: { prefer: 'handling=lenient' } });
  t.equal(lenient.statusCode, 400, 'also under lenient handling: an ignored filter on the log would answer more than asked');
});

t.test('the log pages newest first with working links, counts exactly, and is read by id', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const ctx = systemContext(BASE_URL);
  for (let i = 0; i < 5; i++) await h.storage.create(ctx, event(`e${i}`, i < 3 ? 'p1' : 'p2', `2024-05-0${i + 1}T10:00:00.000Z`));
  const first = (await h.request({ url: '/fhir/AuditEvent?patient=Patient/p1&_sort=-date&_count=2' })).json() as Bundle;
  t.same(first.entry?.map((e) => e.resource?.id), ['e2', 'e1']);
  t.equal(first.total, 3);
  const next = first.link?.find((l) => l.relation === 'next')?.url;
  t.ok(next, 'a next link');
  const second = (await h.request({ url: new URL(next!).pathname + new URL(next!).search })).json() as Bundle;
  t.same(second.entry?.map((e) => e.resource?.id), ['e0'], 'the next page');
  t.ok(second.link?.some((l) => l.relation === 'previous'), 'which links back');
  t.same((await h.request({ url: '/fhir/AuditEvent?_summary=count' })).json().total, 5, '_summary=count');
  t.same((await h.request({ url: '/fhir/AuditEvent?date=ge2024-05-04&_total=accurate' })).json().total, 2, 'date with a prefix');
  t.equal((await h.request({ url: '/fhir/AuditEvent/e4' })).json().id, 'e4', 'read');
  t.equal((await h.request({ url: '/fhir/AuditEvent/e4/_history/1' })).statusCode, 200, 'vread');
  // Referential integrity holds for a posted event as for any write.
  await h.storage.create(ctx, { resourceType: 'Practitioner', id: 'd1' } as AnyResource);
  await h.storage.create(ctx, { resourceType: 'Patient', id: 'p3' } as AnyResource);
  const posted = await h.request({ method: 'POST', url: '/fhir/AuditEvent', headers: fhirJson, payload: { ...event('x', 'p3', '2024-06-01T00:00:00.000Z'), id: undefined } });
  t.equal(posted.statusCode, 201, 'an AuditEvent from another system is created in the log');
  t.same((await h.request({ url: '/fhir/AuditEvent?patient=Patient/p3' })).json().total, 1);
  t.equal((await h.request({ url: '/fhir?_type=AuditEvent&patient=Patient/p3' })).json().total, 1, '_type=AuditEvent alone is the log');
});

t.test('the CapabilityStatement says what the log supports', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const statement = (await h.request({ url: '/fhir/metadata' })).json() as CapabilityStatement;
  const resources = statement.rest?.[0]?.resource ?? [];
  const audit = resources.find((r) => r.type === 'AuditEvent');
  t.same(audit?.searchParam?.map((p) => p.name).sort(), [...SUPPORTED].sort(), 'exactly the log’s parameters');
  t.same([audit?.searchInclude, audit?.searchRevInclude], [undefined, undefined], 'no _include, no _revinclude');
  t.same(audit?.interaction?.map((i) => i.code), ['read', 'vread', 'search-type', 'create', 'history-instance']);
  t.match(audit?.documentation, /_sort=date, _sort=-date/);
  const patient = resources.find((r) => r.type === 'Patient');
  t.notOk(patient?.searchRevInclude?.some((value) => value.startsWith('AuditEvent:')), 'no type revincludes AuditEvent');
});
