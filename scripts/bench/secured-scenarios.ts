import { loadConfig } from '../../src/config';
import { mintToken } from '../../src/security/auth/cli-token';
import { runLoad, type LoadResult } from './http-load';
import { storeResources } from './store-resources';
import { startServerProcess, type ServerProcess } from './server-process';

/** Patients `bench-0`... below this have an Encounter with the bench practitioner: the ones they treat. */
const TREATED = 200;
const DOCTOR = 'Practitioner/bench-doc';
const PRIVACY = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] };
const CATEGORY = [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }];
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

/**
 * Which patients have a Consent: one in 250, and one in 8 of the treated ones, so that consent weighs on the search.
 * The density stays as it was so that the figures compare across runs; the SQLite adapter once refused filters for
 * about 500 patients with alike Consents (too deep an expression), and now answers with 2,000 (checked by hand:
 * a treating practitioner's search over 1,000 OPTIN and 1,000 OPTOUT Consents).
 */
const hasConsent = (i: number) => i % 250 === 0 || (i < TREATED && i % 8 === 0);

/** One in three opts out (no one sees their data, the practitioner included); the others share with a relative only. */
function benchConsent(i: number): Record<string, unknown> {
  const optOut = i % 3 === 0;
  return {
    resourceType: 'Consent', id: `bench-consent-${i}`, status: 'active', scope: PRIVACY, category: CATEGORY,
    patient: { reference: `Patient/bench-${i}` }, dateTime: '2020-01-01',
    policyRule: { coding: [{ system: ACT_CODE, code: optOut ? 'OPTOUT' : 'OPTIN' }] },
    ...(optOut ? {} : {
      provision: { type: 'permit', actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: `RelatedPerson/bench-rp-${i}` } }] },
    }),
  };
}

function benchEncounter(i: number): Record<string, unknown> {
  return {
    resourceType: 'Encounter', id: `bench-enc-${i}`, status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: `Patient/bench-${i}` }, participant: [{ individual: { reference: DOCTOR } }],
  };
}

/**
 * What the secured scenarios need beside the patients: a practitioner with an
 * Encounter for each of the first TREATED patients, and Consents for some
 * patients (`hasConsent`), some of them treated.
 */
export async function preloadSecurityData(sqlitePath: string, patients: number, withConsents = true): Promise<void> {
  const treated = Math.min(TREATED, patients);
  const consented = withConsents ? Array.from({ length: patients }, (_, i) => i).filter(hasConsent) : [];
  await storeResources(sqlitePath, 1, () => ({ resourceType: 'Practitioner', id: 'bench-doc', name: [{ family: 'Bench' }] }));
  await storeResources(sqlitePath, treated, benchEncounter);
  await storeResources(sqlitePath, consented.length, (n) => benchConsent(consented[n]!));
}

export interface SecurityFigures {
  results: LoadResult[];
  /** Secured throughput in percent of the open one, each pair measured back to back. */
  readRatio: number;
  searchRatio: number;
}

interface Options {
  resources: number;
  seconds: number;
  connections: number;
}

async function withServer<T>(env: Record<string, string>, run: (server: ServerProcess) => Promise<T>): Promise<T> {
  const server = await startServerProcess(env);
  try {
    return await run(server);
  } finally {
    await server.stop();
  }
}

/** Tokens signed with the key the server generated beside its database, as `npm run token` does. */
function tokenMinter(sqlitePath: string, server: ServerProcess): (...args: string[]) => Promise<string> {
  const config = loadConfig({ ...process.env, SQLITE_PATH: sqlitePath, BASE_URL: server.url });
  return (...args) => mintToken(args, config);
}

const ratio = (secured: LoadResult, open: LoadResult) => (open.requestsPerSecond ? Math.round((secured.requestsPerSecond / open.requestsPerSecond) * 100) : 0);

/**
 * Read and search with security on, each beside the same load with
 * AUTH_MODE=off. The read: a patient app (patient/*.rs) reads its own Patient,
 * so the token is verified, the scopes and the consent filter apply inside
 * the query, and the read is audited. The search: the practitioner (user/*.rs,
 * purpose TREAT) lists the Encounters of one of the patients they treat,
 * some of whom have Consents (opt-outs hide them).
 */
export async function securedScenarios(sqlitePath: string, options: Options): Promise<SecurityFigures> {
  const common = { seconds: options.seconds, connections: options.connections };
  const patients = Math.min(options.resources, 500);
  const treated = Math.min(options.resources, TREATED);
  const readPath = (i: number) => `/Patient/bench-${i}`;
  const searchPath = (i: number) => `/Encounter?patient=bench-${i}`;
  const draw = (n: number) => Math.floor(Math.random() * n);
  // BENCH_ONLY=read or search runs one pair (to profile one scenario); the other's figures are then 0.
  const only = process.env.BENCH_ONLY;
  const skipped = (name: string): LoadResult => ({ name, requestsPerSecond: 0, p50: 0, p99: 0, errors: 0, non2xx: 0 });
  const run = (kind: 'read' | 'search', url: string, options: Parameters<typeof runLoad>[1]) =>
    only && only !== kind ? Promise.resolve(skipped(options.name)) : runLoad(url, options);
  const [openRead, openSearch] = await withServer({ SQLITE_PATH: sqlitePath, AUTH_MODE: 'off', LOG_LEVEL: 'error' }, async (server) => [
    await run('read', server.url, { ...common, name: 'read by id (AUTH_MODE=off, for the ratio)', method: 'GET', path: () => readPath(draw(patients)) }),
    await run('search', server.url, { ...common, name: 'search Encounter?patient= (AUTH_MODE=off)', method: 'GET', path: () => searchPath(draw(treated)) }),
  ]);
  const [securedRead, securedSearch] = await withServer({ SQLITE_PATH: sqlitePath }, async (server) => {
    const mint = tokenMinter(sqlitePath, server);
    const patientTokens = await Promise.all(Array.from({ length: patients }, (_, i) => mint('--fhir-user', `Patient/bench-${i}`, '--patient', `bench-${i}`, '--scope', 'patient/*.rs')));
    const doctorToken = await mint('--fhir-user', DOCTOR, '--scope', 'user/*.rs', '--purpose', 'TREAT');
    let drawn = 0;
    return [
      await run('read', server.url, {
        ...common, name: 'read by id (token, scopes, consent, audit)', method: 'GET',
        path: () => readPath((drawn = draw(patients))),
        headers: () => ({ authorization: `Bearer ${patientTokens[drawn]}` }),
      }),
      await run('search', server.url, {
        ...common, name: 'search Encounter?patient= (practitioner, TREAT, consent, audit)', method: 'GET',
        path: () => searchPath(draw(treated)),
        headers: { authorization: `Bearer ${doctorToken}` },
      }),
    ];
  });
  return {
    results: [openRead!, securedRead!, openSearch!, securedSearch!],
    readRatio: ratio(securedRead!, openRead!),
    searchRatio: ratio(securedSearch!, openSearch!),
  };
}
