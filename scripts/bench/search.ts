import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { createIndexer } from '../../src/search/indexer';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { stderrProgressBar } from '../progress-bar';
import { datasetResources, datasetShape, isoDay, MRN_SYSTEM, OBSERVATION_CATEGORIES, patientFacts, type DatasetShape } from './dataset';
import { markdownTable, runLoad, type LoadResult } from './http-load';
import { startServerProcess, type ServerProcess } from './server-process';

/** The indexer only uses the base URL to make absolute references relative; the data set has none. */
const LOAD_BASE_URL = 'http://127.0.0.1:8080/fhir';
const WRITES_PER_UNIT = 1000;
/** Requests per query fetched one by one before the load, to check bodies (autocannon only counts statuses). */
const CHECKED_REQUESTS = 25;

export interface SearchBenchOptions {
  resources: number;
  seconds: number;
  connections: number;
  /** Each query is driven this many times; the table gives the median p99 and its range. */
  rounds: number;
}

/** The p99 targets at 1M resources: one resource type, or a chain / `_has` joining two. */
const P99_TARGET_MS = { single: 20, joined: 50 } as const;
/** The server's resident memory at 1M resources. */
const RSS_TARGET_MB = 500;

interface SearchQuerySpec {
  name: string;
  /** Which p99 target applies: `joined` for chains and `_has`, `single` for everything on one type. */
  target: keyof typeof P99_TARGET_MS;
  /** A fresh request path (after the base URL) with parameters drawn from the data set. */
  path: () => string;
  /** Every request of this query is built to match at least one resource. */
  expectMatches: boolean;
  /** `_total=accurate`: the bundle has a total, or an outcome saying the count stopped at the cap. */
  expectTotal?: boolean;
}

interface SearchBundle {
  total?: number;
  link?: Array<{ relation: string; url: string }>;
  entry?: Array<{ search?: { mode?: string }; resource?: { resourceType: string; id: string } }>;
}

/** Loads the data set through the storage port, as an import tool would, and returns the elapsed milliseconds. */
export async function loadDataset(sqlitePath: string, shape: DatasetShape): Promise<number> {
  const storage = createSqliteStorage({ path: sqlitePath, indexer: createIndexer({ baseUrl: LOAD_BASE_URL }) });
  const progress = stderrProgressBar('loading the search data set');
  const started = Date.now();
  const resources = datasetResources(shape);
  let written = 0;
  try {
    for (let done = false; !done; ) {
      // A fresh context per unit, so lastUpdated moves on as it would in a real import.
      const ctx = systemContext(LOAD_BASE_URL, 'bench-search-load');
      await storage.unitOfWork(async (tx) => {
        for (let n = 0; n < WRITES_PER_UNIT; n++) {
          const next = resources.next();
          if (next.done) {
            done = true;
            return;
          }
          await tx.create(ctx, next.value as AnyResource);
          written++;
        }
      });
      progress(written, shape.total);
    }
  } finally {
    await storage.close();
  }
  return Date.now() - started;
}

const searchPath = (type: string, pairs: Array<[string, string]>): string =>
  `/${type}?${pairs.map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&')}`;

/** The issue's queries, each drawing a random patient (or day, year, category) from the data set per request. */
function searchQueries(shape: DatasetShape): SearchQuerySpec[] {
  const anyPatient = () => patientFacts(Math.floor(Math.random() * shape.patients));
  const anyEncounterStart = (facts = anyPatient()) => facts.encounterStarts[Math.floor(Math.random() * facts.encounterStarts.length)] as number;
  return [
    {
      name: 'Patient by family + birthdate',
      target: 'single',
      expectMatches: true,
      path: () => {
        const p = anyPatient();
        return searchPath('Patient', [['family', p.family], ['birthdate', p.birthDate.slice(0, 4)]]);
      },
    },
    {
      name: "Encounter by patient + date, sorted by -date",
      target: 'single',
      expectMatches: true,
      path: () => {
        const p = anyPatient();
        const middle = p.encounterStarts[Math.floor(p.encounterStarts.length / 2)] as number;
        return searchPath('Encounter', [['patient', p.id], ['date', `ge${isoDay(middle)}`], ['_sort', '-date']]);
      },
    },
    {
      name: 'Claim by patient.identifier (chained)',
      target: 'joined',
      expectMatches: true,
      path: () => searchPath('Claim', [['patient.identifier', `${MRN_SYSTEM}|${anyPatient().mrn}`]]),
    },
    {
      name: 'Patient by _has:Encounter:patient:date (one day)',
      target: 'joined',
      expectMatches: true,
      path: () => searchPath('Patient', [['_has:Encounter:patient:date', isoDay(anyEncounterStart())]]),
    },
    {
      name: 'Encounter by patient, _include=Encounter:subject',
      target: 'single',
      expectMatches: true,
      path: () => searchPath('Encounter', [['patient', anyPatient().id], ['_include', 'Encounter:subject']]),
    },
    {
      name: 'Observation by category, _total=accurate (broad)',
      target: 'single',
      expectMatches: true,
      expectTotal: true,
      path: () => searchPath('Observation', [['category', OBSERVATION_CATEGORIES[Math.floor(Math.random() * OBSERVATION_CATEGORIES.length)] as string], ['_total', 'accurate']]),
    },
  ];
}

/** The mid-size result paged to the end: all encounters of one year (about 1% of the data set). */
function pagedQuery(): () => string {
  return () => searchPath('Encounter', [['date', String(2008 + Math.floor(Math.random() * 17))], ['_count', '100']]);
}

async function fetchBundle(url: string): Promise<{ status: number; bundle?: SearchBundle }> {
  const response = await fetch(url, { headers: { accept: 'application/fhir+json' } });
  const text = await response.text();
  return { status: response.status, bundle: response.ok ? (JSON.parse(text) as SearchBundle) : undefined };
}

const matchesOf = (bundle: SearchBundle | undefined) => (bundle?.entry ?? []).filter((e) => e.search?.mode === 'match').length;
const hasOutcome = (bundle: SearchBundle | undefined) => (bundle?.entry ?? []).some((e) => e.search?.mode === 'outcome');

interface CheckResult {
  failures: string[];
  meanMatches: number;
}

/** Fetches a few requests of a query one by one: status 200 and, where expected, at least one match. */
async function checkResponses(server: ServerProcess, spec: SearchQuerySpec): Promise<CheckResult> {
  const failures: string[] = [];
  let matches = 0;
  for (let i = 0; i < CHECKED_REQUESTS; i++) {
    const path = spec.path();
    const { status, bundle } = await fetchBundle(`${server.url}${path}`);
    const found = matchesOf(bundle);
    matches += found;
    if (status !== 200) failures.push(`${status} for ${path}`);
    else if (spec.expectMatches && found === 0) failures.push(`no match for ${path}`);
    else if (spec.expectTotal && bundle?.total === undefined && !hasOutcome(bundle)) failures.push(`no total for ${path}`);
  }
  return { failures, meanMatches: matches / CHECKED_REQUESTS };
}

/** Samples the server's resident memory (VmRSS) while a load runs; Linux only, 0 elsewhere. */
function rssSampler(pid: number): { stop(): number } {
  const read = () => {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return match ? Number(match[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  };
  let peak = read();
  const timer = setInterval(() => (peak = Math.max(peak, read())), 250);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, read());
    },
  };
}

interface PagingResult {
  walks: number;
  pages: number;
  resources: number;
  seconds: number;
  pageLatencies: number[];
  failures: string[];
}

/**
 * Pages through fresh results by their `next` links, one request at a time,
 * until `seconds` have passed; the first failed walk ends the section.
 */
async function pageToTheEnd(server: ServerProcess, firstPage: () => string, seconds: number): Promise<PagingResult> {
  const result: PagingResult = { walks: 0, pages: 0, resources: 0, seconds: 0, pageLatencies: [], failures: [] };
  const started = performance.now();
  while (result.failures.length === 0 && (result.walks === 0 || performance.now() - started < seconds * 1000)) {
    const seen = new Set<string>();
    let total: number | undefined;
    let url: string | undefined = `${server.url}${firstPage()}`;
    while (url) {
      const requested = performance.now();
      const { status, bundle } = await fetchBundle(url);
      result.pageLatencies.push(performance.now() - requested);
      result.pages++;
      if (status !== 200) {
        result.failures.push(`${status} for ${url}`);
        break;
      }
      total ??= bundle?.total;
      for (const entry of bundle?.entry ?? []) if (entry.search?.mode === 'match' && entry.resource) seen.add(entry.resource.id);
      url = bundle?.link?.find((link) => link.relation === 'next')?.url;
    }
    // Paging must neither repeat nor drop a resource: the distinct ids seen add up to the total.
    if (total !== undefined && seen.size !== total) result.failures.push(`paged ${seen.size} distinct resources, total says ${total}`);
    if (seen.size === 0) result.failures.push('a paged result was empty');
    result.resources += seen.size;
    result.walks++;
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

const megabytes = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

function warnAbout(name: string, failures: string[], load?: LoadResult): void {
  if (load && (load.errors || load.non2xx)) process.stderr.write(`warning: ${name}: ${load.errors} errors, ${load.non2xx} non-2xx under load\n`);
  if (failures.length > 0) process.stderr.write(`warning: ${name}: ${failures.length} failed checks, e.g. ${failures[0]}\n`);
}

/**
 * The search section of `npm run bench`: loads the generated data set into a
 * fresh SQLite file, starts the built server on it and drives each query of
 * the search targets with autocannon, then pages one mid-size result to the end.
 */
export async function benchSearch(dir: string, options: SearchBenchOptions): Promise<string> {
  const shape = datasetShape(options.resources);
  const sqlitePath = join(dir, 'search.db');
  const loadMs = await loadDataset(sqlitePath, shape);
  // Authentication off: the figures are the search's, not the token check's (AUTH_MODE=off is refused in production).
  // Logs at error: with AUTH_MODE=off the server warns on every request, which would measure the log pipe.
  const server = await startServerProcess({ SQLITE_PATH: sqlitePath, AUTH_MODE: 'off', LOG_LEVEL: 'error' });
  const rows: Array<Array<string | number>> = [];
  let peakRss = 0;
  let paging: PagingResult;
  try {
    for (const spec of searchQueries(shape)) {
      const check = await checkResponses(server, spec);
      const rounds: LoadResult[] = [];
      const rss = rssSampler(server.pid);
      for (let round = 0; round < options.rounds; round++) {
        const load = await runLoad(server.url, { name: spec.name, method: 'GET', path: spec.path, seconds: options.seconds, connections: options.connections });
        warnAbout(spec.name, [], load);
        rounds.push(load);
      }
      const queryRss = rss.stop();
      peakRss = Math.max(peakRss, queryRss);
      warnAbout(spec.name, check.failures);
      const p99s = rounds.map((round) => round.p99);
      const target = P99_TARGET_MS[spec.target];
      rows.push([
        spec.name,
        `\`${decodeURIComponent(spec.path())}\``,
        median(rounds.map((round) => round.requestsPerSecond)),
        median(rounds.map((round) => round.p50)),
        median(p99s),
        p99s.join(', '),
        `< ${target} ms`,
        median(p99s) < target ? 'yes' : 'no',
        check.meanMatches.toFixed(1),
        megabytes(queryRss),
      ]);
    }
    const rss = rssSampler(server.pid);
    paging = await pageToTheEnd(server, pagedQuery(), options.seconds);
    peakRss = Math.max(peakRss, rss.stop());
    warnAbout('paging', paging.failures);
  } finally {
    await server.stop();
  }
  const latencies = [...paging.pageLatencies].sort((a, b) => a - b);
  rows.push([
    '`_count=100` paged to the end (one client)',
    `\`${decodeURIComponent(pagedQuery()())}\``,
    Math.round(paging.pages / paging.seconds),
    percentile(latencies, 50).toFixed(1),
    percentile(latencies, 99).toFixed(1),
    '—',
    '—',
    '—',
    (paging.resources / paging.walks).toFixed(0),
    '',
  ]);
  const resourcesPerSecond = Math.round(shape.total / (loadMs / 1000));
  return [
    `### Search (SQLite, ${shape.total.toLocaleString('en')} resources: ${shape.patients.toLocaleString('en')} patients with their records; ${options.connections} connections, ${options.rounds} rounds of ${options.seconds} s per query)`,
    '',
    `Loaded through the storage port (indexing included, units of ${WRITES_PER_UNIT} writes) in ${(loadMs / 1000).toFixed(0)} s: ${resourcesPerSecond.toLocaleString('en')} resources/s.`,
    '',
    markdownTable(['query', 'example', 'req/s (median)', 'p50 ms (median)', 'p99 ms (median)', 'p99 ms per round', 'p99 target', 'met', 'matches per request', 'server RSS (peak)'], rows),
    '',
    `Paging: ${paging.walks} results of ${(paging.resources / paging.walks).toFixed(0)} resources on average, ` +
      `${(paging.pages / paging.walks).toFixed(0)} pages each, ${(paging.seconds / paging.walks).toFixed(2)} s per result to the end (${Math.round(paging.pages / paging.seconds)} pages/s). ` +
      `Server peak RSS over the section: ${megabytes(peakRss)} (target at 1M resources: < ${RSS_TARGET_MB} MB, ${peakRss < RSS_TARGET_MB * 1024 * 1024 ? 'met' : 'not met'}` +
      // The 1M data set has 999,720 resources (whole patients): judged by the size asked for.
      `${options.resources < 1_000_000 ? `; this run has ${shape.total.toLocaleString('en')}, so the p99 and RSS targets are not judged at their scale` : ''}).`,
  ].join('\n');
}
