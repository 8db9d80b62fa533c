import t from 'tap';
import { startHarness } from '../http/harness';

t.test('the CapabilityStatement names $match, batch and transaction', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const rest = (await h.request({ method: 'GET', url: '/fhir/metadata' })).json().rest[0];
  const patient = rest.resource.find((r: { type: string }) => r.type === 'Patient');
  t.ok(patient.operation.some((o: { name: string; definition: string }) => o.name === 'match' && o.definition.endsWith('Patient-match')));
  const system = rest.interaction.map((i: { code: string }) => i.code);
  t.ok(system.includes('transaction') && system.includes('batch'));
});
