import t from 'tap';
import { mayReadAuditLog } from '../../src/security/audit/log-reads';

t.test('requests that may return AuditEvents wait for the buffered ones; plain reads do not', async (t) => {
  const yes = ['/fhir/AuditEvent?patient=p', '/fhir/AuditEvent/1', '/fhir/Patient?_revinclude=AuditEvent:entity', '/fhir/Patient/p/AuditEvent', '/fhir/Patient/p/$everything',
    '/fhir/Patient/p/%24everything', '/fhir?_type=AuditEvent', '/fhir', '/fhir/', '/fhir/_history', '/fhir/_search', '/fhir/%41uditEvent', '/fhir/Patient?name=%E0%A4%A'];
  const no = ['/fhir/Patient/p', '/fhir/Observation?subject=Patient/p', '/fhir/Patient/p/_history/1', '/fhir/metadata'];
  for (const url of yes) t.ok(mayReadAuditLog(url, '/fhir'), url);
  for (const url of no) t.notOk(mayReadAuditLog(url, '/fhir'), url);
});
