import { loadConfig } from '../../src/config';
import { mintToken } from '../../src/security/auth/cli-token';
import { markdownTable, runLoad, type LoadResult } from './http-load';
import { storeResources } from './store-resources';
import { join } from 'node:path';
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

interface Options {
  resources: number;
  seconds: number;
  connections: number;
  /** Every scenario runs once per round, the rounds one after the other (BENCH_ROUNDS, default 3). */
  rounds: number;
}

/** A ratio the issue sets a target for: `of` is the row it is measured against, in the same round. */
interface Target {
  of: string;
  /** Percent. */
  atLeast: number;
}

interface Scenario {
  name: string;
  server: 'floor' | 'open' | 'secured';
  kind: 'read' | 'search';
  target?: Target;
  spec(): Omit<Parameters<typeof runLoad>[1], 'seconds' | 'connections' | 'name'>;
}

export interface ScenarioFigures {
  name: string;
  /** req/s of each round. */
  perRound: number[];
  target?: Target;
  /** Percent of the target's row, per round (measured back to back within it). */
  ratios?: number[];
}

export interface SecurityFigures {
  rounds: number;
  seconds: number;
  connections: number;
  scenarios: ScenarioFigures[];
  /** Every run, for the warnings about errors and non-2xx answers. */
  runs: LoadResult[];
}

/** Tokens signed with the key the server generated beside its database, as `npm run token` does. */
function tokenMinter(sqlitePath: string, server: ServerProcess): (...args: string[]) => Promise<string> {
  const config = loadConfig({ ...process.env, SQLITE_PATH: sqlitePath, BASE_URL: server.url });
  return (...args) => mintToken(args, config);
}

const FLOOR = 'floor: Fastify + better-sqlite3, stored JSON by id';
const OPEN_READ = 'open read by id (AUTH_MODE=off)';
const OPEN_SEARCH = 'open search Encounter?patient= (AUTH_MODE=off)';

/** A treated patient nobody is hidden from: opt-outs (hasConsent, one in three) hide a patient from the practitioner too. */
const visibleTreated = (treated: number) => Array.from({ length: treated }, (_, i) => i).filter((i) => !(hasConsent(i) && i % 3 === 0));

/**
 * Read by id and search near the floor, with security off and on. Three
 * servers on one database, all up for the whole run: the floor
 * (floor-server.ts), Concord with AUTH_MODE=off, Concord with security on.
 * After an uncounted warm-up pass of every scenario (2 s each), each round
 * runs every scenario once, in the order below, so a ratio is
 * taken between figures measured minutes apart at most; the rounds show the
 * spread the shared machine gives. With security on:
 * - the operator reads with a token (system/*.rs): verified and audited,
 *   no scopes to filter by;
 * - a practitioner (user/*.rs, purpose TREAT) reads a patient they treat,
 *   and searches the Encounters of one: scopes, the consent filter (Consents
 *   present, opt-outs hide) and the audit all apply;
 * - a patient app (patient/*.rs) reads its own Patient.
 */
export async function securedScenarios(sqlitePath: string, options: Options): Promise<SecurityFigures> {
  const common = { seconds: options.seconds, connections: options.connections };
  const patients = Math.min(options.resources, 500);
  const treated = visibleTreated(Math.min(options.resources, TREATED));
  const draw = (n: number) => Math.floor(Math.random() * n);
  const readPath = (i: number) => `/Patient/bench-${i}`;
  const searchPath = () => `/Encounter?patient=bench-${treated[draw(treated.length)]}`;
  // BENCH_SCENARIOS=read or search runs only those (to profile one of them), or the scenarios whose name starts with a word (operator).
  const kinds = (process.env.BENCH_SCENARIOS ?? 'read,search').split(',');
  // BENCH_CPU_PROF=dir: the secured server writes a CPU profile there when it stops (node --cpu-prof).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];

  const floor = await startServerProcess({ SQLITE_PATH: sqlitePath }, [], join('scripts', 'bench', 'floor-server.js'));
  const open = await startServerProcess({ SQLITE_PATH: sqlitePath, AUTH_MODE: 'off', LOG_LEVEL: 'error' });
  const secured = await startServerProcess({ SQLITE_PATH: sqlitePath }, profile);
  try {
    const mint = tokenMinter(sqlitePath, secured);
    const patientTokens = await Promise.all(Array.from({ length: patients }, (_, i) => mint('--fhir-user', `Patient/bench-${i}`, '--patient', `bench-${i}`, '--scope', 'patient/*.rs')));
    const doctor = { authorization: `Bearer ${await mint('--fhir-user', DOCTOR, '--scope', 'user/*.rs', '--purpose', 'TREAT')}` };
    const operator = { authorization: `Bearer ${await mint('--scope', 'system/*.rs')}` };
    let drawn = 0;
    const scenarios: Scenario[] = [
      { name: FLOOR, server: 'floor', kind: 'read', spec: () => ({ method: 'GET', path: () => readPath(draw(patients)) }) },
      { name: OPEN_READ, server: 'open', kind: 'read', target: { of: FLOOR, atLeast: 50 }, spec: () => ({ method: 'GET', path: () => readPath(draw(patients)) }) },
      {
        name: 'operator read (token, audit)', server: 'secured', kind: 'read', target: { of: OPEN_READ, atLeast: 60 },
        spec: () => ({ method: 'GET', path: () => readPath(draw(patients)), headers: operator }),
      },
      {
        name: 'practitioner read (TREAT, scopes, consent, audit)', server: 'secured', kind: 'read', target: { of: OPEN_READ, atLeast: 50 },
        spec: () => ({ method: 'GET', path: () => readPath(treated[draw(treated.length)]!), headers: doctor }),
      },
      {
        name: 'patient read of their own record (scopes, consent, audit)', server: 'secured', kind: 'read', target: { of: OPEN_READ, atLeast: 50 },
        spec: () => ({ method: 'GET', path: () => readPath((drawn = draw(patients))), headers: () => ({ authorization: `Bearer ${patientTokens[drawn]}` }) }),
      },
      { name: OPEN_SEARCH, server: 'open', kind: 'search', spec: () => ({ method: 'GET', path: searchPath }) },
      {
        name: 'practitioner search Encounter?patient= (TREAT, scopes, consent, audit)', server: 'secured', kind: 'search', target: { of: OPEN_SEARCH, atLeast: 50 },
        spec: () => ({ method: 'GET', path: searchPath, headers: doctor }),
      },
    ];
    const chosen = scenarios.filter((scenario) => kinds.includes(scenario.kind) || kinds.some((word) => scenario.name.startsWith(word)));
    const urls = { floor: floor.url, open: open.url, secured: secured.url };
    const runs: LoadResult[] = [];
    const perRound = new Map(chosen.map((scenario) => [scenario.name, [] as number[]]));
    // A warm-up pass, not counted: the first seconds of each server measure its JIT and page cache, not its steady rate.
    const warmUp = Math.min(options.seconds, 2);
    for (const scenario of chosen) await runLoad(urls[scenario.server], { ...common, seconds: warmUp, name: `${scenario.name} (warm-up)`, ...scenario.spec() });
    for (let round = 0; round < options.rounds; round++) {
      for (const scenario of chosen) {
        const result = await runLoad(urls[scenario.server], { ...common, name: scenario.name, ...scenario.spec() });
        runs.push(result);
        perRound.get(scenario.name)!.push(result.requestsPerSecond);
      }
      process.stderr.write(`round ${round + 1}: ${chosen.map((scenario) => `${scenario.name} ${perRound.get(scenario.name)!.at(-1)}`).join('; ')}\n`);
    }
    return {
      ...common,
      rounds: options.rounds,
      runs,
      scenarios: chosen.map((scenario) => {
        const figures = perRound.get(scenario.name)!;
        const base = scenario.target && perRound.get(scenario.target.of);
        return {
          name: scenario.name,
          perRound: figures,
          ...(scenario.target && base ? { target: scenario.target, ratios: figures.map((value, i) => percent(value, base[i]!)) } : {}),
        };
      }),
    };
  } finally {
    await Promise.all([floor.stop(), open.stop(), secured.stop()]);
  }
}

const percent = (value: number, of: number) => (of ? Math.round((value / of) * 100) : 0);
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const spread = (values: readonly number[]) => `${Math.min(...values).toLocaleString('en')}–${Math.max(...values).toLocaleString('en')}`;

/** The table: each path's median and per-round req/s, its ratio (median and range over the rounds) and the target beside it. */
export function securityTable(figures: SecurityFigures): string {
  for (const r of figures.runs) if (r.errors || r.non2xx) process.stderr.write(`warning: ${r.name}: ${r.errors} errors, ${r.non2xx} non-2xx\n`);
  const rows = figures.scenarios.map((scenario) => {
    const ratio = scenario.ratios && scenario.target ? `${median(scenario.ratios)}% of ${shortName(scenario.target.of)} (${spread(scenario.ratios)})` : '—';
    const target = scenario.target ? `≥ ${scenario.target.atLeast}% of ${shortName(scenario.target.of)}` : '—';
    const met = scenario.ratios && scenario.target ? (median(scenario.ratios) >= scenario.target.atLeast ? 'yes' : 'no') : '—';
    return [scenario.name, median(scenario.perRound).toLocaleString('en'), scenario.perRound.map((n) => n.toLocaleString('en')).join(', '), ratio, target, met];
  });
  return [
    `### Near the floor (read by id and search; ${figures.rounds} rounds of ${figures.seconds} s per path, ${figures.connections} connections; ratios within each round)`,
    '',
    markdownTable(['path', 'req/s (median)', 'per round', 'ratio (median, range)', 'target', 'met'], rows),
  ].join('\n');
}

const shortName = (name: string) => (name === FLOOR ? 'the floor' : name === OPEN_READ ? 'the open read' : name === OPEN_SEARCH ? 'the open search' : name);
