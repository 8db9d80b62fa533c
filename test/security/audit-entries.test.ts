/**
 * A request that carries several interactions (a batch or transaction) hands
 * their audit records to the audit hook in `request.entryAudits`: each
 * becomes its own AuditEvent, beside the request's own.
 */
import Fastify from 'fastify';
import t from 'tap';
import { systemContext, type Principal } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { installAudit } from '../../src/security/audit/install-audit';
import { auditedBody } from '../../src/security/entry-audit';
import type { EntryAudit } from '../../src/security/audit/entry-audits';
import { createIndexer } from '../../src/search/indexer';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';

const BASE_URL = 'http://localhost:8080/fhir';
const patient: Principal = { kind: 'user', fhirUser: 'Patient/p', actorType: 'Patient', patient: 'p', purpose: 'PATRQT', token: { issuer: 'x', scopes: [] } };

t.test('one AuditEvent per bundle entry, with its own interaction, outcome and resources, beside the request’s own', async (t) => {
  const storage = createSqliteStorage({ path: ':memory:', indexer: createIndexer({ baseUrl: BASE_URL }) });
  const app = Fastify();
  t.teardown(async () => {
    await app.close();
    await storage.close();
  });
  // What install-security.ts sets before the audit hook runs.
  app.addHook('onRequest', async (request) => {
    request.principal = patient;
    request.fhirRequest = { interaction: 'operation', operation: 'batch', permissions: [], accessPermission: 'r' };
  });
  installAudit(app, { storage, baseUrl: BASE_URL });
  const entries: EntryAudit[] = [
    { classified: { interaction: 'read', resourceType: 'Observation', id: 'op', permissions: ['r'], accessPermission: 'r' }, status: 200, resources: [auditedBody({ resourceType: 'Observation', id: 'op', status: 'final', code: {}, subject: { reference: 'Patient/p' } } as AnyResource)] },
    { classified: { interaction: 'read', resourceType: 'Observation', id: 'oq', permissions: ['r'], accessPermission: 'r' }, status: 404, resources: [auditedBody({ resourceType: 'Observation', id: 'oq', status: 'final', code: {}, subject: { reference: 'Patient/q' } } as AnyResource)], hidden: true },
    { classified: { interaction: 'create', resourceType: 'Patient', permissions: ['c'], accessPermission: 'c' }, status: 403, resources: [] },
  ];
  app.post('/fhir', async (request, reply) => {
    request.entryAudits = entries;
    return reply.code(200).header('content-type', 'application/fhir+json').send(JSON.stringify({ resourceType: 'Bundle', type: 'batch-response', entry: [] }));
  });
  t.equal((await app.inject({ method: 'POST', url: '/fhir', payload: {} })).statusCode, 200);
  await app.auditTrail.flush();
  const stored = await storage.search(systemContext(BASE_URL), { types: ['AuditEvent'], where: [], sort: [], count: 10, offset: 0, total: 'none' });
  const summary = stored.records
    .map((r) => r.resource as unknown as { subtype: Array<{ code: string }>; outcome: string; entity?: Array<{ what: { reference: string } }> })
    .map((e) => [e.subtype[0]!.code, e.outcome, (e.entity ?? []).map((x) => x.what.reference).join(' ')])
    .sort((a, b) => a.join().localeCompare(b.join()));
  t.same(summary, [
    ['create', '4', ''],
    ['operation', '0', ''],
    ['read', '0', 'Patient/p Observation/op'],
    ['read', '4', 'Patient/q Observation/oq'],
  ]);
});
