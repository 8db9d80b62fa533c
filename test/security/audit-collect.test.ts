import t from 'tap';
import { resourcesSent } from '../../src/security/audit/collect';

const patient = { resourceType: 'Patient', id: 'p1' };
const bundle = { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: patient }, { resource: { resourceType: 'OperationOutcome' } }] };

t.test('the body sendJson serialised names the resources, without parsing the payload', async (t) => {
  const text = JSON.stringify(bundle);
  // The body object differs from the text on purpose: only the object may be read.
  const sent = { body: { resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Observation', id: 'o1' } }] }, text };
  t.same(resourcesSent(text, sent).map((r) => `${r.resourceType}/${r.id}`), ['Observation/o1']);
});

t.test('a payload that is not the serialisation sendJson made (a hook replaced it) is parsed instead', async (t) => {
  const sent = { body: { resourceType: 'Patient', id: 'stale' }, text: JSON.stringify({ resourceType: 'Patient', id: 'stale' }) };
  t.same(resourcesSent(JSON.stringify(bundle), sent).map((r) => `${r.resourceType}/${r.id}`), ['Patient/p1'], 'the Bundle actually sent, never its OperationOutcome');
  t.same(resourcesSent(JSON.stringify(patient), undefined).map((r) => r.id), ['p1'], 'nothing handed over: parsed');
  t.same(resourcesSent('', sent), [], 'an empty payload carries nothing');
  t.same(resourcesSent(JSON.stringify({ resourceType: 'OperationOutcome' }), undefined), [], 'an OperationOutcome is not data');
});
