import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { projectRoot } from '../../src/paths';
import { fhirJson, minimalPatient, startHarness } from './harness';

/** The official blood-pressure example, claiming the core bp profile, about a patient the test creates. */
function bloodPressure(): Record<string, unknown> {
  const file = join(projectRoot, 'test', 'fixtures', 'profile-examples', 'Observation-blood-pressure.json');
  const { id: _id, text: _text, performer: _performer, ...example } = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  return { ...example, meta: { profile: ['http://hl7.org/fhir/StructureDefinition/bp'] }, subject: { reference: 'Patient/p1' } };
}

t.test('a write claiming a core profile is checked against it', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  t.equal((await h.request({ method: 'PUT', url: '/fhir/Patient/p1', headers: fhirJson, payload: minimalPatient({ id: 'p1' }) })).statusCode, 201);

  const ok = await h.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: bloodPressure() });
  t.equal(ok.statusCode, 201, 'the official example conforms');
  t.notOk(JSON.stringify(ok.json()).includes('unknown to this server'));

  const broken = bloodPressure();
  broken.component = (broken.component as unknown[]).slice(1);
  const refused = await h.request({ method: 'POST', url: '/fhir/Observation', headers: fhirJson, payload: broken });
  t.equal(refused.statusCode, 422, 'without its systolic component');
  t.equal(refused.json().resourceType, 'OperationOutcome');
  const issues = refused.json().issue as { severity: string; expression?: string[]; diagnostics: string }[];
  t.ok(issues.some((i) => i.severity === 'error' && i.expression?.[0] === 'Observation.component' && /slice SystolicBP/.test(i.diagnostics)), 'names the element and the slice');

  const validated = await h.request({ method: 'POST', url: '/fhir/Observation/$validate', headers: fhirJson, payload: broken });
  t.equal(validated.statusCode, 200);
  t.ok(validated.json().issue.some((i: { expression?: string[] }) => i.expression?.[0] === 'Observation.component'), '$validate reports the same');
});
