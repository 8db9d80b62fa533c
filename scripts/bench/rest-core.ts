import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemContext } from '../../src/context';
import { loadConfig } from '../../src/config';
import { projectRoot } from '../../src/paths';
import { mintToken } from '../../src/security/auth/cli-token';
import { createIndexer } from '../../src/search/indexer';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { createValidator } from '../../src/validation/validator';
import { markdownTable, runLoad, type LoadResult } from './http-load';
import { startServerProcess } from './server-process';

const BASE_URL = 'http://127.0.0.1:8080/fhir';
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

/** Loads `count` patients straight through the storage port, in units of 1,000. */
async function preload(sqlitePath: string, count: number): Promise<number> {
  const storage = await createSqliteStorage({ path: sqlitePath, indexer: createIndexer({ baseUrl: BASE_URL }) });
  const ctx = systemContext(BASE_URL, 'bench-preload');
  const started = Date.now();
  for (let from = 0; from < count; from += 1000) {
    await storage.unitOfWork(async (tx) => {
      for (let i = from; i < Math.min(count, from + 1000); i++) await tx.create(ctx, syntheticPatient(i) as never);
    });
    if (from % 10000 === 0) process.stderr.write(`\rpreloading ${from}/${count}`);
  }
  process.stderr.write(`\rpreloaded ${count} resources\n`);
  await storage.close();
  return Date.now() - started;
}

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
    results.push(await runLoad(server.url, { ...common, name: 'create (Claim example, validated)', method: 'POST', path: () => '/Claim', body: () => claim }));
  } finally {
    await server.stop();
  }
  const secured = await securedRead(sqlitePath, options, random);
  results.push(secured);
  for (const r of results) if (r.errors || r.non2xx) process.stderr.write(`warning: ${r.name}: ${r.errors} errors, ${r.non2xx} non-2xx\n`);
  const validateMicros = validationCost(JSON.parse(claim));
  const ratio = Math.round((secured.requestsPerSecond / results[0]!.requestsPerSecond) * 100);
  return [
    `### REST core (SQLite, ${options.resources.toLocaleString('en')} resources preloaded in ${(preloadMs / 1000).toFixed(1)} s, ${options.connections} connections, ${options.seconds} s per row)`,
    '',
    markdownTable(
      ['interaction', 'req/s', 'p50 ms', 'p99 ms'],
      results.map((r) => [r.name, r.requestsPerSecond, r.p50, r.p99]),
    ),
    '',
    `Validation alone (in process, Claim example): ${validateMicros.toFixed(0)} µs per resource.`,
    `Read by id with token verification, scopes, consent and a durable AuditEvent per read: ${ratio}% of the throughput with AUTH_MODE=off.`,
  ].join('\n');
}

/**
 * Read by id with security on: each request is a patient app reading its own
 * Patient with a patient-scoped token, so the token is verified, the scopes
 * and the consent filter apply inside the query, and an AuditEvent is written
 * before the answer.
 */
async function securedRead(sqlitePath: string, options: { resources: number; seconds: number; connections: number }, random: () => number): Promise<LoadResult> {
  const server = await startServerProcess({ SQLITE_PATH: sqlitePath });
  try {
    // Signed with the key the server generated beside its database, as `npm run token` does.
    const config = loadConfig({ ...process.env, SQLITE_PATH: sqlitePath, BASE_URL: server.url });
    const patients = Math.min(options.resources, 500);
    const tokens = await Promise.all(
      Array.from({ length: patients }, (_, i) => mintToken(['--fhir-user', `Patient/bench-${i}`, '--patient', `bench-${i}`, '--scope', 'patient/*.rs'], config)),
    );
    let drawn = 0;
    return await runLoad(server.url, {
      seconds: options.seconds, connections: options.connections,
      name: 'read by id (token, scopes, consent, audit)', method: 'GET',
      path: () => `/Patient/bench-${(drawn = random() % patients)}`,
      headers: () => ({ authorization: `Bearer ${tokens[drawn]}` }),
    });
  } finally {
    await server.stop();
  }
}
