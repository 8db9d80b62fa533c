import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { mintToken } from '../../src/security/auth/cli-token';
import { createIndexer } from '../../src/search/indexer';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { datasetShape, patientFacts } from './dataset';
import { markdownTable, runLoad } from './http-load';
import { loadDataset } from './search';
import { startServerProcess, type ServerProcess } from './server-process';

export interface ExportBenchOptions {
  resources: number;
  seconds: number;
  rounds: number;
}

const TARGETS = { unfiltered: 20_000, payer: 10_000, readRatio: 3 };
const PAYER = 'Organization/ins-0';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The data set's insurers are `ins` Organizations; the consent policy's payer is a `pay` one (docs/access-control.md). */
async function makePayer(sqlitePath: string): Promise<void> {
  const storage = createSqliteStorage({ path: sqlitePath, indexer: createIndexer({ baseUrl: 'http://127.0.0.1:8080/fhir' }) });
  try {
    const payer = { resourceType: 'Organization', id: 'ins-0', active: true, name: 'Caisse Mutuelle 0', type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'pay' }] }] };
    await storage.update(systemContext('http://127.0.0.1:8080/fhir'), payer as AnyResource);
  } finally {
    await storage.close();
  }
}

interface JobFigures {
  seconds: number;
  resources: number;
}

/**
 * One whole job: kick-off to the manifest, polled at the pace the server
 * asks (faster than half of Retry-After is 429), so the time is ±1 s.
 */
async function runJob(server: ServerProcess, token: string, started?: (statusUrl: string) => void): Promise<JobFigures> {
  const auth = { authorization: `Bearer ${token}` };
  const begin = performance.now();
  const kickoff = await fetch(`${server.url}/$export`, { headers: { ...auth, accept: 'application/fhir+json', prefer: 'respond-async' } });
  if (kickoff.status !== 202) throw new Error(`export kick-off answered ${kickoff.status}: ${await kickoff.text()}`);
  const status = `${server.url}${new URL(String(kickoff.headers.get('content-location'))).pathname.replace(/^\/fhir/, '')}`;
  started?.(status);
  for (;;) {
    await sleep(1000);
    const answer = await fetch(status, { headers: auth });
    const body = await answer.text();
    if (answer.status === 200) {
      const seconds = (performance.now() - begin) / 1000;
      const manifest = JSON.parse(body) as { output: Array<{ count: number }> };
      await (await fetch(status, { method: 'DELETE', headers: auth })).arrayBuffer();
      return { seconds, resources: manifest.output.reduce((sum, o) => sum + o.count, 0) };
    }
    if (answer.status !== 202 && answer.status !== 429) throw new Error(`export status answered ${answer.status}: ${body}`);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const spread = (values: number[]) => `${Math.min(...values).toLocaleString('en')}–${Math.max(...values).toLocaleString('en')}`;

/**
 * The export section of `npm run bench`: the search data set (size
 * BENCH_SEARCH_RESOURCES), a system-level export of everything by the
 * operator and by a consent-filtered payer (resources exported per second,
 * kick-off to manifest), and the read p99 of single reads during an export
 * against the same reads idle. Rounds: BENCH_EXPORT_ROUNDS (default 3).
 */
export async function benchExport(dir: string, options: ExportBenchOptions): Promise<string> {
  const shape = datasetShape(options.resources);
  const sqlitePath = join(dir, 'export.db');
  const loadMs = await loadDataset(sqlitePath, shape);
  await makePayer(sqlitePath);
  const env = { SQLITE_PATH: sqlitePath, LOG_LEVEL: 'error', EXPORT_DIR: join(dir, 'exports'), EXPORT_MAX_JOBS_PER_CLIENT: '10' };
  const server = await startServerProcess(env);
  const config = loadConfig({ ...process.env, ...env, BASE_URL: server.url });
  const operator = await mintToken(['--scope', 'system/*.rs', '--ttl', '86400'], config);
  const payer = await mintToken(['--fhir-user', PAYER, '--scope', 'system/*.rs', '--purpose', 'HPAYMT', '--ttl', '86400'], config);
  const rounds: Array<{ unfiltered: JobFigures; payer: JobFigures; idleP99: number; busyP99: number; busyDone: boolean }> = [];
  const read = (seconds: number) =>
    runLoad(server.url, {
      name: 'read by id',
      method: 'GET',
      path: () => `/Patient/${patientFacts(Math.floor(Math.random() * shape.patients)).id}`,
      headers: { authorization: `Bearer ${operator}` },
      seconds,
      connections: 4,
    });
  try {
    for (let round = 0; round < options.rounds; round++) {
      const unfiltered = await runJob(server, operator);
      const filtered = await runJob(server, payer);
      const idle = await read(options.seconds);
      // The same reads while an export of everything runs (started just before).
      let signal: () => void = () => undefined;
      const started = new Promise<void>((resolve) => (signal = resolve));
      const running = runJob(server, operator, () => signal());
      await started;
      const loadStart = performance.now();
      const busy = await read(options.seconds);
      const job = await running;
      // Did the export outlast the reads? Otherwise part of the "busy" window was idle.
      const busyDone = job.seconds * 1000 >= performance.now() - loadStart - 1000;
      if (idle.non2xx || busy.non2xx || idle.errors || busy.errors) process.stderr.write(`warning: export bench reads: ${idle.non2xx + busy.non2xx} non-2xx, ${idle.errors + busy.errors} errors\n`);
      process.stderr.write(`export round ${round + 1}: ${Math.round(unfiltered.resources / unfiltered.seconds)} res/s unfiltered, ${Math.round(filtered.resources / filtered.seconds)} res/s payer, read p99 ${idle.p99} → ${busy.p99} ms\n`);
      rounds.push({ unfiltered, payer: filtered, idleP99: idle.p99, busyP99: busy.p99, busyDone });
    }
  } finally {
    await server.stop();
  }
  const rate = (job: JobFigures) => Math.round(job.resources / job.seconds);
  const unfilteredRates = rounds.map((r) => rate(r.unfiltered));
  const payerRates = rounds.map((r) => rate(r.payer));
  const ratios = rounds.map((r) => Math.round((r.busyP99 / Math.max(1, r.idleP99)) * 10) / 10);
  const row = (name: string, values: number[], target: string, unit: string, extra: string) => [name, `${median(values).toLocaleString('en')} ${unit}`, spread(values), target, extra];
  const table = markdownTable(
    ['figure', `median of ${rounds.length}`, 'range', 'target', 'notes'],
    [
      row('export, operator (everything)', unfilteredRates, `≥ ${TARGETS.unfiltered.toLocaleString('en')} res/s`, 'res/s', `${rounds[0]?.unfiltered.resources.toLocaleString('en')} resources, ${median(rounds.map((r) => r.unfiltered.seconds)).toFixed(1)} s`),
      row(`export, payer ${PAYER} (consent-filtered)`, payerRates, `≥ ${TARGETS.payer.toLocaleString('en')} res/s`, 'res/s', `${rounds[0]?.payer.resources.toLocaleString('en')} resources, ${median(rounds.map((r) => r.payer.seconds)).toFixed(1)} s`),
      row('read p99 during an export / idle', ratios, `< ${TARGETS.readRatio}×`, '×', `idle ${rounds.map((r) => r.idleP99).join(', ')} ms; during ${rounds.map((r) => r.busyP99).join(', ')} ms${rounds.every((r) => r.busyDone) ? '' : ' (an export ended before the reads did)'}`),
    ],
  );
  const heading = `#### Export (SQLite, ${shape.total.toLocaleString('en')} resources loaded in ${(loadMs / 1000).toFixed(1)} s; system-level \`$export\` of every type, kick-off to manifest, polled every second; reads: 4 connections, ${options.seconds} s)`;
  return `${heading}\n\n${table}`;
}
