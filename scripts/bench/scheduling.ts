import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { markdownTable, runLoad, type LoadResult } from './http-load';
import { startServerProcess } from './server-process';
import { storeResources } from './store-resources';

const PRACTITIONERS = 50;
const DAYS = 90;
/** 08:00 to 16:15 in 15-minute slots: 33 a day, 50 × 90 × 33 = 148,500 Slots. */
const SLOTS_PER_DAY = 33;
const FIRST_SLOT_MINUTES = 8 * 60;
const SLOT_MS = 15 * 60_000;
const DAY_MS = 24 * 3600_000;
/** Patients the bookings are spread over (none ever double-booked, see bookingOf). */
const PATIENTS = 1000;

export interface SchedulingBenchOptions {
  seconds: number;
  rounds: number;
  findConnections: number;
  bookConnections: number;
}

/** The clinic starts at midnight UTC two days ahead, so every Slot is still in the future while the bench runs. */
export const clinicStart = () => Math.floor(Date.now() / DAY_MS) * DAY_MS + 2 * DAY_MS;

const slotStart = (start: number, day: number, index: number) => start + day * DAY_MS + FIRST_SLOT_MINUTES * 60_000 + index * SLOT_MS;
const slotId = (practitioner: number, day: number, index: number) => `s-${practitioner}-${day}-${index}`;

function* clinic(start: number): Generator<Record<string, unknown>> {
  for (let p = 0; p < PATIENTS; p++) yield { resourceType: 'Patient', id: `pat-${p}`, name: [{ family: `Bench${p}` }] };
  for (let n = 0; n < PRACTITIONERS; n++) {
    yield { resourceType: 'Practitioner', id: `pr-${n}`, name: [{ family: `Doctor${n}` }] };
    yield { resourceType: 'Schedule', id: `sched-${n}`, active: true, actor: [{ reference: `Practitioner/pr-${n}` }] };
  }
  for (let day = 0; day < DAYS; day++) {
    for (let n = 0; n < PRACTITIONERS; n++) {
      for (let i = 0; i < SLOTS_PER_DAY; i++) {
        const begins = slotStart(start, day, i);
        yield {
          resourceType: 'Slot',
          id: slotId(n, day, i),
          schedule: { reference: `Schedule/sched-${n}` },
          status: 'free',
          start: new Date(begins).toISOString(),
          end: new Date(begins + SLOT_MS).toISOString(),
        };
      }
    }
  }
}

/** Loads the clinic through the storage port, as an import tool would; answers how many resources. */
export async function loadClinic(sqlitePath: string, start: number): Promise<number> {
  const resources = [...clinic(start)];
  await storeResources(sqlitePath, resources.length, (i) => resources[i]!);
  return resources.length;
}

/**
 * Booking n: Slots in time order, the 50 practitioners of one time in turn;
 * its patient is one of 20 for that practitioner, so a patient's bookings
 * are 20 slots apart and never overlap (every booking should be 201).
 */
export function bookingOf(start: number, n: number): string {
  const practitioner = n % PRACTITIONERS;
  const time = Math.floor(n / PRACTITIONERS);
  const day = Math.floor(time / SLOTS_PER_DAY);
  const index = time % SLOTS_PER_DAY;
  const patient = practitioner + PRACTITIONERS * (time % (PATIENTS / PRACTITIONERS));
  const begins = slotStart(start, day, index);
  const appointment = {
    resourceType: 'Appointment',
    status: 'proposed',
    slot: [{ reference: `Slot/${slotId(practitioner, day, index)}` }],
    start: new Date(begins).toISOString(),
    end: new Date(begins + SLOT_MS).toISOString(),
    participant: [
      { actor: { reference: `Practitioner/pr-${practitioner}` }, status: 'accepted' },
      { actor: { reference: `Patient/pat-${patient}` }, status: 'accepted' },
    ],
  };
  return JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'appointment-resource', resource: appointment }] });
}

/** One practitioner, one week, drawn at random inside the 90 days. */
export function findPath(start: number): string {
  const practitioner = Math.floor(Math.random() * PRACTITIONERS);
  const from = start + Math.floor(Math.random() * (DAYS - 7)) * DAY_MS;
  const window = `start=${new Date(from).toISOString()}&end=${new Date(from + 7 * DAY_MS).toISOString()}`;
  return `/Appointment/$find?${window}&practitioner=Practitioner/pr-${practitioner}&_count=500`;
}

/**
 * CPU milliseconds the server process has used (user + system, /proc on
 * Linux; undefined elsewhere): per request, a figure the other programs on
 * a shared machine do not inflate the way they inflate latencies.
 */
function cpuMillis(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

interface Round extends LoadResult {
  /** Server CPU ms per request, when measurable. */
  cpuPerRequest?: number;
}

async function measuredRound(pid: number, run: () => Promise<LoadResult>, seconds: number): Promise<Round> {
  const before = cpuMillis(pid);
  const result = await run();
  const after = cpuMillis(pid);
  const requests = result.requestsPerSecond * seconds;
  return before === undefined || after === undefined || requests === 0 ? result : { ...result, cpuPerRequest: Math.round(((after - before) / requests) * 100) / 100 };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const spread = (values: number[]) => `${Math.min(...values)}–${Math.max(...values)}`;

/** Checks a few answers before the load: autocannon only counts statuses. */
async function checkFind(url: string, start: number): Promise<void> {
  const response = await fetch(`${url}${findPath(start)}`);
  const bundle = (await response.json()) as { entry?: unknown[] };
  if (response.status !== 200 || (bundle.entry?.length ?? 0) !== 7 * SLOTS_PER_DAY) throw new Error(`$find answered ${response.status} with ${bundle.entry?.length} proposals, not ${7 * SLOTS_PER_DAY}`);
}

/** What one core could do at the CPU cost measured (the load of other programs taken out; the machine's other core runs the load generator). */
function cpuRows(finds: Round[], books: Round[]): Array<Array<string | number>> {
  const cpu = (rounds: Round[]) => rounds.flatMap((r) => (r.cpuPerRequest === undefined ? [] : [r.cpuPerRequest]));
  const [findCpu, bookCpu] = [cpu(finds), cpu(books)];
  if (findCpu.length === 0 || bookCpu.length === 0) return [];
  return [
    ['$find: server CPU ms per request', median(findCpu), spread(findCpu), '< 20 (as p99 on an idle core)'],
    ['$book: bookings/s one core could serve at that CPU cost', Math.round(1000 / median(bookCpu)), spread(bookCpu.map((ms) => Math.round(1000 / ms))), '≥ 500'],
  ];
}

/**
 * `$find` over a clinic of 50 practitioners × 90 days of 15-minute Slots
 * (148,500 Slots), one practitioner and one week per request, and `$book`
 * of distinct Slots by 32 concurrent clients, each for `rounds` rounds.
 * SQLite, AUTH_MODE=off (the operator: no consent filter, no audit), so the
 * figures are the scheduling itself.
 */
export async function benchScheduling(dir: string, options: SchedulingBenchOptions): Promise<string> {
  const start = clinicStart();
  const sqlitePath = join(dir, 'scheduling.db');
  const loaded = Date.now();
  const total = await loadClinic(sqlitePath, start);
  const loadSeconds = (Date.now() - loaded) / 1000;
  // BENCH_CPU_PROF=dir: the server writes a CPU profile there when it stops (node --cpu-prof).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const server = await startServerProcess({ SQLITE_PATH: sqlitePath, AUTH_MODE: 'off', LOG_LEVEL: 'error' }, profile);
  const finds: Round[] = [];
  const books: Round[] = [];
  let booked = 0;
  const book = (connections: number, seconds: number, name: string) =>
    runLoad(server.url, { name, method: 'POST', path: () => '/Appointment/$book', body: () => bookingOf(start, booked++), seconds, connections });
  try {
    await checkFind(server.url, start);
    // Warm-up (schemas compiled on first use, SQLite's cache): not measured.
    await runLoad(server.url, { name: 'warm-up', method: 'GET', path: () => findPath(start), seconds: 2, connections: 1 });
    await book(4, 2, 'warm-up');
    for (let round = 1; round <= options.rounds; round++) {
      const find = () => runLoad(server.url, { name: `$find round ${round}`, method: 'GET', path: () => findPath(start), seconds: options.seconds, connections: options.findConnections });
      finds.push(await measuredRound(server.pid, find, options.seconds));
    }
    for (let round = 1; round <= options.rounds; round++) {
      books.push(await measuredRound(server.pid, () => book(options.bookConnections, options.seconds, `$book round ${round}`), options.seconds));
    }
  } finally {
    await server.stop();
  }
  for (const r of [...finds, ...books]) if (r.errors || r.non2xx) process.stderr.write(`warning: ${r.name}: ${r.errors} errors, ${r.non2xx} non-2xx\n`);
  const findP99 = finds.map((r) => r.p99);
  const bookRate = books.map((r) => r.requestsPerSecond);
  return [
    `### Scheduling (SQLite, AUTH_MODE=off, ${total} resources of which ${PRACTITIONERS * DAYS * SLOTS_PER_DAY} Slots, loaded in ${loadSeconds.toFixed(0)} s; ${options.rounds} rounds of ${options.seconds} s)`,
    '',
    markdownTable(
      ['row', 'connections', 'req/s', 'p50 ms', 'p99 ms', 'server CPU ms/request', 'non-2xx'],
      [...finds, ...books].map((r) => [
        r.name,
        r.name.startsWith('$find') ? options.findConnections : options.bookConnections,
        r.requestsPerSecond,
        r.p50,
        r.p99,
        r.cpuPerRequest ?? 'n/a',
        r.non2xx + r.errors,
      ]),
    ),
    '',
    markdownTable(
      ['figure', 'median of rounds', 'spread', 'target'],
      [
        ['$find, one practitioner, one week: p50 ms', median(finds.map((r) => r.p50)), spread(finds.map((r) => r.p50)), ''],
        ['$find, one practitioner, one week: p99 ms', median(findP99), spread(findP99), `< 20 ${median(findP99) < 20 ? '(met)' : '(missed)'}`],
        ['$book, distinct Slots: bookings/s', median(bookRate), spread(bookRate), `≥ 500 ${median(bookRate) >= 500 ? '(met)' : '(missed)'}`],
        ...cpuRows(finds, books),
      ],
    ),
  ].join('\n');
}
