/**
 * A practitioner changes only what it may see, and never places data about a
 * patient it may not see: REST, conditional forms, batch and transaction
 * entries, with real signed tokens and the consent layer. `other` treats
 * nobody, so Patient q, Patient p and Encounter e1 are all hidden from it.
 */
import t from 'tap';
import { systemContext } from '../../src/context';
import { bundleOf, putEntry, requestEntry, postEntry } from '../bundle/helpers';
import { startSecureWorld } from '../bundle/secure-world';
import { BASE_URL, type SecureHarness } from './auth-kit';

const OTHER = { scope: 'user/*.cruds', fhirUser: 'Practitioner/other' };
const GP = { scope: 'user/*.cruds', fhirUser: 'Practitioner/gp' };
const patientQ = { resourceType: 'Patient', id: 'q', gender: 'male' };
const encounterE1 = { resourceType: 'Encounter', id: 'e1', status: 'cancelled', class: { code: 'AMB' }, subject: { reference: 'Patient/p' } };
const orderFor = (subject: string, id = 'sr-new') => ({ resourceType: 'ServiceRequest', id, status: 'active', intent: 'order', subject: { reference: subject } });

async function versionOf(h: SecureHarness, type: string, id: string) {
  const record = await h.storage.read(systemContext(BASE_URL), type, id);
  return record && `${record.versionId}${record.deleted ? ' deleted' : ''}`;
}

const statuses = (body: unknown) => ((body as { entry?: Array<{ response?: { status: string } }> }).entry ?? []).map((e) => e.response?.status.split(' ')[0]);

t.test('REST: PUT, DELETE and PATCH of a hidden resource answer 404 and change nothing', async (t) => {
  const { h } = await startSecureWorld(t);
  const other = await h.token(OTHER);
  const put = await h.as(other, { method: 'PUT', url: '/fhir/Patient/q', payload: patientQ });
  t.equal(put.statusCode, 404, 'PUT Patient/q: 404 as a hidden read');
  t.equal(put.json().resourceType, 'OperationOutcome');
  t.equal((await h.as(other, { method: 'PUT', url: '/fhir/Encounter/e1', payload: encounterE1 })).statusCode, 404, 'PUT of a hidden patient\'s Encounter: 404');
  t.equal((await h.as(other, { method: 'DELETE', url: '/fhir/Patient/q' })).statusCode, 404, 'DELETE Patient/q: 404');
  t.equal((await h.as(other, { method: 'PUT', url: '/fhir/Patient?identifier=urn:example:mrn|q', payload: { resourceType: 'Patient', id: 'q' } })).statusCode, 404, 'conditional PUT that finds nothing visible, with the hidden id in the body: 404');
  t.equal(await versionOf(h, 'Patient', 'q'), '1', 'Patient q untouched');
  t.equal(await versionOf(h, 'Encounter', 'e1'), '1', 'Encounter e1 untouched');
  const gp = await h.token(GP);
  t.equal((await h.as(gp, { method: 'PUT', url: '/fhir/Encounter/e1', payload: encounterE1 })).statusCode, 200, 'the treating GP may update it');
});

t.test('REST: a create or update that names a hidden patient is 422, worded as a missing reference', async (t) => {
  const { h } = await startSecureWorld(t);
  const other = await h.token(OTHER);
  const hidden = await h.as(other, { method: 'PUT', url: '/fhir/ServiceRequest/sr-new', payload: orderFor('Patient/q') });
  t.equal(hidden.statusCode, 422);
  const missing = await h.as(other, { method: 'PUT', url: '/fhir/ServiceRequest/sr-new', payload: orderFor('Patient/nobody') });
  t.equal(missing.statusCode, 422);
  const wording = (r: typeof hidden) => r.json().issue.map((i: { diagnostics: string }) => i.diagnostics.replace(/Patient\/\w+/, 'Patient/X'));
  t.same(wording(hidden), wording(missing), 'hidden and missing read the same');
  t.same(hidden.json().issue[0].expression, ['ServiceRequest.subject']);
  const { id: _id, ...body } = orderFor('Patient/q');
  t.equal((await h.as(other, { method: 'POST', url: '/fhir/ServiceRequest', payload: body })).statusCode, 422, 'POST too');
  t.equal((await h.as(other, { method: 'POST', url: '/fhir/ServiceRequest', payload: body, headers: { 'if-none-exist': 'identifier=x|1' } })).statusCode, 422, 'conditional create too');
  t.equal(await versionOf(h, 'ServiceRequest', 'sr-new'), undefined, 'nothing stored');
  const gp = await h.token(GP);
  t.equal((await h.as(gp, { method: 'PUT', url: '/fhir/ServiceRequest/sr-new', payload: orderFor('Patient/p') })).statusCode, 201, 'the GP may order for its patient');
});

t.test('batch and transaction entries follow the same rule', async (t) => {
  const { h } = await startSecureWorld(t);
  const other = await h.token(OTHER);
  const batch = await h.as(other, {
    method: 'POST',
    url: '/fhir',
    payload: bundleOf('batch', [
      requestEntry('DELETE', 'Patient/q'),
      putEntry('Patient/q', patientQ),
      putEntry('Encounter/e1', encounterE1),
      putEntry('ServiceRequest/sr-new', orderFor('Patient/q')),
    ]),
  });
  t.equal(batch.statusCode, 200);
  t.same(statuses(batch.json()), ['404', '404', '404', '422']);
  for (const entries of [[requestEntry('DELETE', 'Patient/q')], [putEntry('Encounter/e1', encounterE1)], [postEntry(orderFor('Patient/q'))]]) {
    const tx = await h.as(other, { method: 'POST', url: '/fhir', payload: bundleOf('transaction', entries) });
    t.ok([404, 422].includes(tx.statusCode), `transaction refused (${tx.statusCode})`);
  }
  t.equal(await versionOf(h, 'Patient', 'q'), '1', 'Patient q untouched');
  t.equal(await versionOf(h, 'Encounter', 'e1'), '1', 'Encounter e1 untouched');
  t.equal(await versionOf(h, 'ServiceRequest', 'sr-new'), undefined);
});

t.test('break-the-glass opens it', async (t) => {
  const { h } = await startSecureWorld(t);
  const glass = await h.token({ ...OTHER, purpose_of_use: 'ETREAT' } as typeof OTHER);
  const put = await h.as(glass, { method: 'PUT', url: '/fhir/Encounter/e1', payload: encounterE1 });
  t.equal(put.statusCode, 200);
  t.equal(put.headers['x-break-glass'], 'true', 'answered as break-the-glass');
});
