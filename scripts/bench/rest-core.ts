import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/paths';
import { createValidator } from '../../src/validation/validator';
import { markdownTable, runLoad, type LoadResult } from './http-load';
import { preloadSecurityData, securedScenarios, securityTable } from './secured-scenarios';
import { startServerProcess } from './server-process';
import { storeResources } from './store-resources';

const FAMILIES = ['Smith', 'Jones', 'García', 'Nguyen', 'Müller', 'Okafor', 'Kowalski', 'Haddad'];

function syntheticPatient(i: number): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    id: `bench-${i}`,
    identifier: [{ system: 'urn:bench:mrn', value: String(100000 + i) }],
    name: [{ family: FAMILIES[i % FAMILIES.length], given: [`Given${i % 997}`] }],
    gender: i % 2 ? 'female' : 'male',
    birthDate: `19${String(40 + (i % 60)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`,
  };
}

/** What the Claim example names, so that its create passes the referential-integrity check (README). */
const CLAIM_TARGETS: Array<Record<string, unknown>> = [
  { resourceType: 'Patient', id: '1' },
  { resourceType: 'Organization', id: '1', name: 'Bench provider' },
  { resourceType: 'Organization', id: '2', name: 'Bench insurer' },
  { resourceType: 'Practitioner', id: 'example' },
  { resourceType: 'Coverage', id: '9876B1', status: 'active', beneficiary: { reference: 'Patient/1' }, payor: [{ reference: 'Organization/2' }] },
];

export async function storeClaimTargets(url: string): Promise<void> {
  for (const target of CLAIM_TARGETS) {
    const response = await fetch(`${url}/${target.resourceType}/${target.id}`, { method: 'PUT', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(target) });
    await response.arrayBuffer();
    if (response.status >= 300) throw new Error(`storing ${target.resourceType}/${target.id} was answered ${response.status}`);
  }
}

/** Loads `count` synthetic patients (`Patient/bench-0`...). */
export const preload = (sqlitePath: string, count: number): Promise<number> => storeResources(sqlitePath, count, syntheticPatient);

/** In-process cost of validating one rich resource, in microseconds. */
function validationCost(resource: unknown): number {
  const validator = createValidator();
  validator.validate(resource);
  const rounds = 2000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) validator.validate(resource);
  return Number(process.hrtime.bigint() - started) / 1000 / rounds;
}

export async function benchRestCore(dir: string, options: { resources: number; seconds: number; connections: number }): Promise<string> {
  const sqlitePath = join(dir, 'rest-core.db');
  const preloadMs = await preload(sqlitePath, options.resources);
  await preloadSecurityData(sqlitePath, options.resources);
  const claim = readFileSync(join(projectRoot, 'test', 'fixtures', 'examples', 'Claim-100150.json'), 'utf8');
  // The REST core figures are about the FHIR layer: security is measured on its own below.
  const server = await startServerProcess({ SQLITE_PATH: sqlitePath, AUTH_MODE: 'off', LOG_LEVEL: 'error' });
  const random = () => Math.floor(Math.random() * options.resources);
  const common = { seconds: options.seconds, connections: options.connections };
  const results: LoadResult[] = [];
  try {
    results.push(await runLoad(server.url, { ...common, name: 'read by id', method: 'GET', path: () => `/Patient/bench-${random()}` }));
    results.push(await runLoad(server.url, { ...common, name: 'vread', method: 'GET', path: () => `/Patient/bench-${random()}/_history/1` }));
    results.push(await runLoad(server.url, {
      ...common, name: 'create (Patient, validated)', method: 'POST', path: () => '/Patient',
      body: () => JSON.stringify({ ...syntheticPatient(random()), id: undefined }),
    }));
    // autocannon asks for the path before the body, so the body reuses the id the path just drew.
    let updated = 0;
    results.push(await runLoad(server.url, {
      ...common, name: 'update (Patient, validated)', method: 'PUT',
      path: () => `/Patient/bench-${(updated = random())}`,
      body: () => JSON.stringify(syntheticPatient(updated)),
    }));
    await storeClaimTargets(server.url);
    results.push(await runLoad(server.url, { ...common, name: 'create (Claim example, validated)', method: 'POST', path: () => '/Claim', body: () => claim }));
  } finally {
    await server.stop();
  }
  const security = await securedScenarios(sqlitePath, { ...options, rounds: Number(process.env.BENCH_ROUNDS ?? 3) });
  for (const r of results) if (r.errors || r.non2xx) process.stderr.write(`warning: ${r.name}: ${r.errors} errors, ${r.non2xx} non-2xx\n`);
  const validateMicros = validationCost(JSON.parse(claim));
  return [
    `### REST core (SQLite, ${options.resources.toLocaleString('en')} resources preloaded in ${(preloadMs / 1000).toFixed(1)} s, ${options.connections} connections, ${options.seconds} s per row)`,
    '',
    markdownTable(
      ['interaction', 'req/s', 'p50 ms', 'p99 ms'],
      results.map((r) => [r.name, r.requestsPerSecond, r.p50, r.p99]),
    ),
    '',
    `Validation alone (in process, Claim example): ${validateMicros.toFixed(0)} µs per resource.`,
    '',
    securityTable(security),
  ].join('\n');
}
