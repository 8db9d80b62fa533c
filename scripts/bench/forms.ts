/**
 * `$populate` of the intake form (test/fixtures/forms/intake-questionnaire.json)
 * for a patient with about 500 resources: weights and blood pressures over
 * ten years, allergies, medications, encounters and conditions. Latency is the
 * figure (p50/p99), so few connections.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths';
import { markdownTable, runLoad } from './http-load';
import { startServerProcess } from './server-process';
import { storeResources } from './store-resources';

const LOINC = 'http://loinc.org';
const DAY = 86_400_000;

/** The i-th resource of patient `bench-p`: about 500 in all, the Questionnaire first. */
function recordOf(questionnaire: Record<string, unknown>, count: number): (i: number) => Record<string, unknown> {
  const subject = { reference: 'Patient/bench-p' };
  const at = (i: number) => new Date(Date.now() - (i % 3650) * DAY).toISOString();
  return (i) => {
    if (i === 0) return questionnaire;
    if (i === 1) return { resourceType: 'Patient', id: 'bench-p', name: [{ use: 'official', family: 'Bench', given: ['Pat'] }], birthDate: '1970-01-01', gender: 'female', telecom: [{ system: 'phone', value: '555-0000' }] };
    const kind = i % 10;
    if (kind < 4) return { resourceType: 'Observation', status: 'final', code: { coding: [{ system: LOINC, code: '29463-7' }] }, subject, effectiveDateTime: at(i * 7), valueQuantity: { value: 60 + (i % 30), unit: 'kg' } };
    if (kind < 7) {
      return {
        resourceType: 'Observation', status: 'final', code: { coding: [{ system: LOINC, code: '85354-9' }] }, subject, effectiveDateTime: at(i * 5),
        component: [
          { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: 110 + (i % 30), unit: 'mmHg' } },
          { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: { value: 70 + (i % 20), unit: 'mmHg' } },
        ],
      };
    }
    if (kind === 7) return { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject, period: { start: at(i * 11) } };
    if (kind === 8) return { resourceType: 'Condition', subject, code: { text: `condition ${i}` } };
    return i < count / 2
      ? { resourceType: 'AllergyIntolerance', patient: subject, clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: i % 3 === 0 ? 'active' : 'inactive' }] }, code: { text: `substance ${i}` } }
      : { resourceType: 'MedicationStatement', status: i % 4 === 0 ? 'active' : 'completed', subject, medicationCodeableConcept: { text: `medication ${i}` } };
  };
}

export async function benchForms(dir: string, options: { seconds: number; connections: number; records?: number }): Promise<string> {
  const sqlitePath = join(dir, 'forms.db');
  const questionnaire = JSON.parse(readFileSync(join(projectRoot, 'test', 'fixtures', 'forms', 'intake-questionnaire.json'), 'utf8')) as Record<string, unknown>;
  const count = options.records ?? 500;
  const make = recordOf(questionnaire, count);
  await storeResources(sqlitePath, count, (i) => ({ id: `bench-r${i}`, ...make(i) }));
  const server = await startServerProcess({ SQLITE_PATH: sqlitePath, AUTH_MODE: 'off', LOG_LEVEL: 'error' });
  try {
    const body = JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'subject', valueReference: { reference: 'Patient/bench-p' } }] });
    const result = await runLoad(server.url, { name: '$populate (intake form, 500-resource patient)', method: 'POST', path: () => '/Questionnaire/intake/$populate', body: () => body, seconds: options.seconds, connections: options.connections });
    return [
      `### Forms (SQLite, one patient with ${count} resources, ${options.connections} connections, ${options.seconds} s, AUTH_MODE=off)`,
      '',
      markdownTable(['operation', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx'], [[result.name, result.requestsPerSecond, result.p50, result.p99, result.non2xx]]),
    ].join('\n');
  } finally {
    await server.stop();
  }
}
