/**
 * Bundle entries authorized one by one through HTTP, with real signed
 * tokens: the whole path (security hooks, the bundle route handing the
 * request guard and an entry-audit collector to processBundle, audit hook).
 */
import t from 'tap';
import type { Bundle } from '../../src/fhir/types';
import { bundleOf, requestEntry } from './helpers';
import { startSecureWorld } from './secure-world';

const statuses = (body: string) => ((JSON.parse(body) as Bundle).entry ?? []).map((entry) => entry.response?.status.split(' ')[0]);

t.test('POST /fhir: a patient token gets its own data and 404 for another patient’s, entry by entry', async (t) => {
  const { h } = await startSecureWorld(t);
  const token = await h.token({ scope: 'patient/*.rs', fhirUser: 'Patient/p', patient: 'p' });
  const response = await h.as(token, { method: 'POST', url: '/fhir', payload: bundleOf('batch', [requestEntry('GET', 'Observation/op'), requestEntry('GET', 'Observation/oq')]) });
  t.equal(response.statusCode, 200);
  t.same(statuses(response.body), ['200', '404']);
});

t.test('POST /fhir: break-the-glass entries flag the response', async (t) => {
  const { h } = await startSecureWorld(t);
  const token = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/other', purpose_of_use: 'ETREAT' });
  const response = await h.as(token, { method: 'POST', url: '/fhir', payload: bundleOf('batch', [requestEntry('GET', 'Encounter/e1')]) });
  t.same(statuses(response.body), ['200'], 'break-the-glass opens the record');
  t.equal(response.headers['x-break-glass'], 'true');
});

t.test('POST /fhir: every entry is audited on its own', async (t) => {
  const { h } = await startSecureWorld(t);
  const token = await h.token({ scope: 'patient/*.rs', fhirUser: 'Patient/p', patient: 'p' });
  await h.as(token, { method: 'POST', url: '/fhir', payload: bundleOf('batch', [requestEntry('GET', 'Observation/op'), requestEntry('GET', 'Observation/oq')]) });
  const operator = await h.token({ scope: 'system/*.rs' });
  const about = async (entity: string) => (await h.as(operator, { url: `/fhir/AuditEvent?entity=${entity}` })).json() as Bundle;
  const denied = await about('Observation/oq');
  t.equal(denied.entry?.length, 1, 'the hidden read has its own AuditEvent');
  t.equal((denied.entry?.[0]?.resource as { outcome?: string } | undefined)?.outcome, '4', 'recorded as denied');
  t.ok((await about('Observation/op')).entry?.some((e) => (e.resource as { subtype?: Array<{ code: string }> }).subtype?.some((c) => c.code === 'read')), 'the read entry is audited as a read');
});
