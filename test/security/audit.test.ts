import assert from 'node:assert/strict';
import t from 'tap';
import { systemContext } from '../../src/context';
import { BEHIND_EVENTS } from '../../src/security/audit/audit-buffer';
import type { AnyResource } from '../../src/fhir/types';
import { startHarness } from '../http/harness';
import { BASE_URL, startSecureHarness, type SecureHarness } from './auth-kit';

interface Event {
  id: string;
  type: { code: string };
  subtype: Array<{ code: string }>;
  action: string;
  outcome: string;
  recorded: string;
  purposeOfEvent?: Array<{ coding: Array<{ code: string }> }>;
  agent: Array<{ who: { reference?: string; identifier?: { value: string } }; requestor: boolean; network?: { address: string } }>;
  source: { site?: string };
  entity?: Array<{ what: { reference: string }; role?: { code: string } }>;
}

/** Every AuditEvent stored, oldest first, read as the operator straight from storage (once the buffer is written). */
async function auditLog(h: SecureHarness): Promise<Event[]> {
  await h.app.auditTrail.flush();
  const result = await h.storage.search(systemContext(BASE_URL), { types: ['AuditEvent'], where: [], sort: [{ code: '_lastUpdated', descending: false }], count: 1000, offset: 0, total: 'none' });
  return result.records.map((record) => record.resource as unknown as Event).sort((a, b) => a.recorded.localeCompare(b.recorded));
}

async function seed(h: SecureHarness): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const patient of ['p1', 'p2']) {
    await h.storage.update(systemContext(BASE_URL), { resourceType: 'Patient', id: patient } as AnyResource);
    const id = `obs-${patient}`;
    await h.storage.update(systemContext(BASE_URL), { resourceType: 'Observation', id, status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${patient}` } } as AnyResource);
    ids[patient] = id;
  }
  return ids;
}

const patientsNamed = (event: Event | undefined) => (event?.entity ?? []).filter((e) => e.role?.code === '1').map((e) => e.what.reference);

t.test('a read writes one AuditEvent with who, why, what and the outcome', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  await seed(h);
  const doctor = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/d1', client_id: 'ehr' });
  const response = await h.as(doctor, { url: '/fhir/Observation/obs-p1' });
  t.equal(response.statusCode, 200);
  const [event, ...more] = await auditLog(h);
  t.equal(more.length, 0, 'exactly one event');
  t.match(event, {
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read' }],
    action: 'R',
    outcome: '0',
    purposeOfEvent: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT' }] }],
    agent: [{ who: { reference: 'Practitioner/d1' }, requestor: true, network: { address: '127.0.0.1' } }],
    source: { site: BASE_URL },
  });
  t.same(event?.entity?.map((e) => [e.what.reference, e.role?.code]), [['Patient/p1', '1'], ['Observation/obs-p1', '4']], 'the patient (role 1) and the resource by reference');
  t.notMatch(JSON.stringify(event), /"status"|"code":\{"text"/, 'no resource content');
});

t.test('actions and subtypes per interaction; denied requests are recorded with outcome 4', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  await seed(h);
  const writer = await h.token({ scope: 'user/Observation.cruds', fhirUser: 'Practitioner/d1' });
  const body = { resourceType: 'Observation', status: 'final', code: { text: 'y' }, subject: { reference: 'Patient/p2' } };
  const created = await h.as(writer, { method: 'POST', url: '/fhir/Observation', payload: body, headers: { prefer: 'return=minimal' } });
  t.equal(created.statusCode, 201);
  const id = String(created.headers.location).split('/')[5];
  await h.as(writer, { method: 'PUT', url: `/fhir/Observation/${id}`, payload: { ...body, id } });
  await h.as(writer, { method: 'DELETE', url: `/fhir/Observation/${id}` });
  await h.as(writer, { url: '/fhir/Patient/p1' });
  const log = await auditLog(h);
  t.same(log.map((e) => [e.subtype[0]?.code, e.action, e.outcome]), [['create', 'C', '0'], ['update', 'U', '0'], ['delete', 'D', '0'], ['read', 'R', '4']]);
  t.same(log.slice(0, 3).map(patientsNamed), [['Patient/p2'], ['Patient/p2'], ['Patient/p2']], 'writes name the patient, even without a response body and after a delete');
  t.same(patientsNamed(log[3]), ['Patient/p1'], 'a forbidden read names the patient whose data was asked for');
});

t.test('a read hidden by the access layer (404) is recorded as denied for that patient', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  await seed(h);
  const app = await h.token({ scope: 'patient/*.rs', fhirUser: 'Patient/p2', patient: 'p2' });
  t.equal((await h.as(app, { url: '/fhir/Observation/obs-p1' })).statusCode, 404);
  const [event] = await auditLog(h);
  t.equal(event?.outcome, '4');
  t.same(patientsNamed(event), ['Patient/p1'], "the attempt is in p1's log");
  t.equal(event?.purposeOfEvent?.[0]?.coding[0]?.code, 'PATRQT', "a patient's default purpose");
});

t.test('a response with several patients writes one event per patient, each naming only its own', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  await seed(h);
  const doctor = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/d1', purpose_of_use: 'ETREAT' });
  t.equal((await h.as(doctor, { url: '/fhir/Observation' })).statusCode, 200);
  const log = await auditLog(h);
  t.same(log.map(patientsNamed).sort(), [['Patient/p1'], ['Patient/p2']]);
  for (const event of log) {
    const patient = patientsNamed(event)[0]?.split('/')[1];
    t.same(event.entity?.slice(1).map((e) => e.what.reference), [`Observation/obs-${patient}`], `the ${patient} event lists only ${patient}'s resources`);
    t.equal(event.subtype[0]?.code, 'search-type');
    t.equal(event.purposeOfEvent?.[0]?.coding[0]?.code, 'ETREAT', 'break-the-glass purpose recorded');
  }
});

t.test('the operator acting through a token is audited by its client id; no audit without a caller', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  await seed(h);
  await h.request({ method: 'GET', url: '/fhir/Patient/p1' });
  await h.request({ method: 'GET', url: '/fhir/metadata' });
  t.equal((await auditLog(h)).length, 0, 'a 401 and a public request write nothing');
  const operator = await h.token({ scope: 'system/*.rs', client_id: 'backup-job' });
  await h.as(operator, { url: '/fhir/Patient/p1' });
  const [event] = await auditLog(h);
  t.equal(event?.agent[0]?.who.identifier?.value, 'backup-job');
  t.equal(event?.purposeOfEvent, undefined, 'the operator states no purpose');

  const open = await startHarness();
  t.teardown(open.close);
  await open.request({ method: 'GET', url: '/fhir/Patient' });
  const stored = await open.storage.search(systemContext(BASE_URL), { types: ['AuditEvent'], where: [], sort: [], count: 10, offset: 0, total: 'accurate' });
  t.equal(stored.total, 0, 'AUTH_MODE=off has no authenticated caller to audit');
});

t.test('AuditEvents cannot be updated or deleted through the API', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  await seed(h);
  const operator = await h.token({ scope: 'system/*.cruds' });
  await h.as(operator, { url: '/fhir/Patient/p1' });
  const [event] = await auditLog(h);
  assert.ok(event, 'the read was audited');
  const put = await h.as(operator, { method: 'PUT', url: `/fhir/AuditEvent/${event.id}`, payload: { ...event, outcome: '0' } });
  t.equal(put.statusCode, 405, 'update');
  t.equal(put.headers.allow, 'GET');
  t.equal((await h.as(operator, { method: 'DELETE', url: `/fhir/AuditEvent/${event.id}` })).statusCode, 405, 'delete');
  t.equal((await h.as(operator, { method: 'DELETE', url: '/fhir/AuditEvent?outcome=4' })).statusCode, 405, 'conditional delete');
  const patch = await h.as(operator, { method: 'PATCH', url: `/fhir/AuditEvent/${event.id}`, payload: [{ op: 'remove', path: '/entity' }], headers: { 'content-type': 'application/json-patch+json' } });
  t.equal(patch.statusCode, 405, 'patch');
  t.equal((await h.as(operator, { url: `/fhir/AuditEvent/${event.id}` })).json().outcome, event.outcome, 'unchanged');
});

t.test('while the audit store fails, authenticated requests are refused (503) rather than served unrecorded; then it recovers', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  await seed(h);
  const doctor = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/d1' });
  const original = h.storage.unitOfWork.bind(h.storage);
  h.storage.unitOfWork = async () => {
    throw new Error('disk full');
  };
  t.equal((await h.as(doctor, { url: '/fhir/Observation/obs-p1' })).statusCode, 200, 'answered; its event waits in the buffer');
  await t.rejects(h.app.auditTrail.flush(), { message: 'disk full' }, 'the batch write fails');
  t.ok(h.app.auditTrail.failing, 'the trail knows it');
  const refused = await h.as(doctor, { url: '/fhir/Observation/obs-p2' });
  t.equal(refused.statusCode, 503);
  t.match(refused.json(), { resourceType: 'OperationOutcome', issue: [{ code: 'transient' }] });
  t.notMatch(refused.body, /obs-p2|Patient\/p2/, 'the data is not sent');
  const write = await h.as(doctor, { method: 'PUT', url: '/fhir/Patient/p3', payload: { resourceType: 'Patient', id: 'p3' } });
  t.equal(write.statusCode, 503, 'a write is refused before it runs');
  t.equal(await h.storage.read(systemContext(BASE_URL), 'Patient', 'p3'), undefined, 'and nothing was written');
  t.equal(h.logs.filter((line) => line.msg === 'audit write failed; retrying').length, 1, 'the failure is logged');
  t.notMatch(JSON.stringify(h.logs), /obs-p1|Patient\/p1/, 'without the events (no patient data in logs)');

  h.storage.unitOfWork = original;
  const log = await auditLog(h);
  t.same(log.map((e) => e.entity?.[1]?.what.reference), ['Observation/obs-p1'], 'the retry writes the buffered event; the refused requests did not run');
  t.notOk(h.app.auditTrail.failing, 'recovered');
  t.equal((await h.as(doctor, { url: '/fhir/Observation/obs-p2' })).statusCode, 200, 'and requests are served again');
});

t.test('graceful shutdown writes the buffered events before the storage closes', async (t) => {
  const h = await startSecureHarness();
  await seed(h);
  const doctor = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/d1' });
  await h.as(doctor, { url: '/fhir/Observation/obs-p1' });
  t.equal(h.app.auditTrail.size, 1, 'buffered, not yet written');
  await h.app.close();
  const stored = await h.storage.search(systemContext(BASE_URL), { types: ['AuditEvent'], where: [], sort: [], count: 10, offset: 0, total: 'accurate' });
  t.equal(stored.total, 1, 'written by the close hook');
  await h.storage.close();
});

// In memory the buffer writes the log on the request thread; a file database writes it on its worker thread.
for (const fileDatabase of [false, true]) {
  t.test(`patients read their own access log and never another patient's (${fileDatabase ? 'file, append thread' : 'in memory'})`, async (t) => {
    const h = await startSecureHarness({ fileDatabase });
    t.teardown(h.close);
    t.equal(h.storage.appendRecords !== undefined, fileDatabase, 'the log goes through the append thread only for a file');
    await seed(h);
    const doctor = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/d1' });
    await h.as(doctor, { url: '/fhir/Observation' });
    await h.as(doctor, { url: '/fhir/Patient/p2' });
    // p2 tries p1's record: the agent is p2, the entity p1.
    const p2 = await h.token({ scope: 'patient/*.rs', fhirUser: 'Patient/p2', patient: 'p2' });
    await h.as(p2, { url: '/fhir/Observation/obs-p1' });

    const p1 = await h.token({ scope: 'patient/AuditEvent.rs', fhirUser: 'Patient/p1', patient: 'p1' });
    const log = await h.as(p1, { url: '/fhir/AuditEvent?patient=Patient/p1' });
    t.equal(log.statusCode, 200);
    const events = (log.json().entry ?? []).map((e: { resource: Event }) => e.resource) as Event[];
    t.same(events.map((e) => [e.agent[0]?.who.reference, e.outcome]).sort(), [['Patient/p2', '4'], ['Practitioner/d1', '0']], "who accessed or tried to access p1's data");
    for (const event of events) t.same(patientsNamed(event), ['Patient/p1'], 'every event names p1 and no other patient');
    const everything = (await h.as(p1, { url: '/fhir/AuditEvent' })).json();
    t.ok((everything.entry ?? []).every((e: { resource: Event }) => patientsNamed(e.resource).join() === 'Patient/p1'), 'without a patient parameter too');
    const p2Log = await h.token({ scope: 'patient/AuditEvent.rs', fhirUser: 'Patient/p2', patient: 'p2' });
    const own = (await h.as(p2Log, { url: '/fhir/AuditEvent?patient=Patient/p2' })).json();
    t.ok((own.entry ?? []).length > 0, 'p2 has a log too');
    t.ok((own.entry ?? []).every((e: { resource: Event }) => patientsNamed(e.resource).join() === 'Patient/p2'), "p2's own attempt on p1's record is not in p2's log: it names p1");
    // p2 is the agent of p2's attempt on p1's record, so that event matches; p2's own events do not.
    const other = (await h.as(p1, { url: '/fhir/AuditEvent?patient=Patient/p2' })).json();
    t.same((other.entry ?? []).map((e: { resource: Event }) => [patientsNamed(e.resource), e.resource.agent[0]?.who.reference]), [[['Patient/p1'], 'Patient/p2']], "p2's events stay hidden");
  });
}

t.test('when the log is written slower than requests arrive, answers wait for their events (the buffered window stays bounded)', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  await seed(h);
  const written: AnyResource[] = [];
  const held: Array<() => void> = [];
  // A log store that holds every batch until the test lets it go.
  h.storage.appendRecords = (events) => new Promise<void>((resolve) => held.push(() => (written.push(...events), resolve())));
  const releaseUntil = async (done: () => boolean) => {
    while (!done()) {
      held.splice(0).forEach((release) => release());
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const p1 = await h.token({ scope: 'patient/*.rs', fhirUser: 'Patient/p1', patient: 'p1' });
  const requests = BEHIND_EVENTS + 50;
  let answered = 0;
  const all = Array.from({ length: requests }, () => h.as(p1, { url: '/fhir/Patient/p1' }).then((response) => (answered++, response)));
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.ok(answered < requests, `${requests - answered} of ${requests} answers wait while the first batch is held`);
  await releaseUntil(() => answered === requests);
  t.ok((await Promise.all(all)).every((response) => response.statusCode === 200));
  let flushed = false;
  void h.app.auditTrail.flush().then(() => (flushed = true));
  await releaseUntil(() => flushed);
  t.equal(written.length, requests, 'every answered read is in the log');
});
