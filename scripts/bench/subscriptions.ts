import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { markdownTable, runLoad } from './http-load';
import { startServerProcess, type ServerProcess } from './server-process';

const TOPIC = (code: string) => `http://concord.example.org/fhir/SubscriptionTopic/${code}`;
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/';
const PATIENTS = 100;
const SUBSCRIPTIONS = 1000;
/** The delivery-latency rows' write rate. */
const RATE = 200;

/**
 * The subscription kinds, cycled over the 1,000 subscriptions, each filtered
 * to one patient: four topics (two of them on the written types), the generic
 * resource-changed, and the R4 form.
 */
const KINDS: Array<(patient: string, endpoint: string) => Record<string, unknown>> = [
  (p, e) => backport(e, 'encounter-started', `Encounter?patient=${p}`),
  (p, e) => backport(e, 'encounter-finished', `Encounter?patient=${p}`),
  (p, e) => backport(e, 'appointment-booked', `Appointment?patient=${p}`),
  (p, e) => backport(e, 'claim-submitted', `Claim?patient=${p}`),
  (p, e) => backport(e, 'resource-changed', `Observation?subject=${p}`),
  (p, e) => ({ resourceType: 'Subscription', status: 'requested', reason: 'bench', criteria: `Encounter?subject=${p}&status=in-progress`, channel: { type: 'rest-hook', endpoint: e } }),
];

function backport(endpoint: string, topic: string, filter: string): Record<string, unknown> {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'bench',
    criteria: TOPIC(topic),
    _criteria: { extension: [{ url: `${BACKPORT}backport-filter-criteria`, valueString: filter }] },
    channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json', _payload: { extension: [{ url: `${BACKPORT}backport-payload-content`, valueCode: 'id-only' }] } },
  };
}

/** The written mix: in-progress Encounters and Observations, for patients in turn. */
function write(n: number): { path: string; body: string } {
  const subject = { reference: `Patient/p${n % PATIENTS}` };
  const resource =
    n % 2 === 0
      ? { resourceType: 'Encounter', status: 'in-progress', class: { code: 'AMB' }, subject }
      : { resourceType: 'Observation', status: 'final', code: { text: 'bench' }, subject };
  return { path: `/${resource.resourceType}`, body: JSON.stringify(resource) };
}

/** A receiver in this process: answers 200 and, for each event, the time from its commit (the event's timestamp) to receipt. */
async function startReceiver() {
  const state = { handshakes: 0, events: 0, latencies: [] as number[], recording: false };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const at = Date.now();
      response.writeHead(200).end();
      const text = Buffer.concat(chunks).toString('utf8');
      if (text === '' || !text.includes('"Parameters"')) return void (state.events += 1); // the R4 form's resource
      const status = (JSON.parse(text) as { entry: Array<{ resource: { parameter: Array<{ name: string; valueCode?: string; part?: Array<{ name: string; valueInstant?: string }> }> } }> }).entry[0]?.resource;
      const type = status?.parameter.find((p) => p.name === 'type')?.valueCode;
      if (type === 'handshake') return void (state.handshakes += 1);
      for (const event of status?.parameter.filter((p) => p.name === 'notification-event') ?? []) {
        state.events += 1;
        const stamp = event.part?.find((part) => part.name === 'timestamp')?.valueInstant;
        if (state.recording && stamp) state.latencies.push(at - Date.parse(stamp));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, state, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function send(server: ServerProcess, method: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${server.url}${path}`, { method, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });
  if (response.status >= 300) throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the receiver has seen nothing new for a while: the previous row's deliveries are done. */
async function drained(state: { events: number; handshakes: number }, quietMs = 500, limitMs = 60_000): Promise<void> {
  const until = Date.now() + limitMs;
  let last = -1;
  while (Date.now() < until) {
    const seen = state.events + state.handshakes;
    if (seen === last) return;
    last = seen;
    await sleep(quietMs);
  }
}

/** Writes at `rate` per second for `seconds`, each request sent on schedule whether or not the previous answered. */
async function paced(server: ServerProcess, rate: number, seconds: number, start: number): Promise<number> {
  const total = rate * seconds;
  const began = Date.now();
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const due = began + (i * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    const { path, body } = write(start + i);
    pending.push(send(server, 'POST', path, JSON.parse(body)));
  }
  await Promise.all(pending);
  return total;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0) : 0;
};
const median = (values: number[]) => percentile(values, 50);

/**
 * Subscriptions: write throughput on a server with no subscription and on
 * one with 1,000 active rest-hook subscriptions (mixed topics, each filtered
 * to one of 100 patients, so a write notifies a few of them and is matched
 * against all), and the delivery latency from commit (the event's
 * timestamp, taken in the unit of work) to receipt, at 200 writes/s on the
 * latter. Both servers run at once and the rows alternate, `rounds` times,
 * each after the previous row's deliveries have drained.
 */
export async function benchSubscriptions(dir: string, options: { seconds: number; connections: number; rounds: number }): Promise<string> {
  const receiver = await startReceiver();
  const env = { AUTH_MODE: 'off', LOG_LEVEL: 'error', SUBSCRIPTION_ENDPOINT_ALLOWLIST: `${receiver.origin}/` };
  const plain = await startServerProcess({ ...env, SQLITE_PATH: join(dir, 'subscriptions-0.db') });
  const subscribed = await startServerProcess({ ...env, SQLITE_PATH: join(dir, 'subscriptions-1000.db') });
  const rows = { without: [] as number[], with: [] as number[], p50: [] as number[], p99: [] as number[], delivered: [] as number[] };
  try {
    for (const server of [plain, subscribed]) for (let p = 0; p < PATIENTS; p++) await send(server, 'PUT', `/Patient/p${p}`, { resourceType: 'Patient', id: `p${p}` });
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      await send(subscribed, 'POST', '/Subscription', KINDS[i % KINDS.length]!(`Patient/p${Math.floor(i / KINDS.length) % PATIENTS}`, `${receiver.origin}/hook/${i}`));
    }
    const until = Date.now() + 120_000;
    while (receiver.state.handshakes < SUBSCRIPTIONS && Date.now() < until) await sleep(200);
    if (receiver.state.handshakes < SUBSCRIPTIONS) throw new Error(`only ${receiver.state.handshakes} of ${SUBSCRIPTIONS} handshakes arrived`);
    await sleep(1000); // the activations (a status write each) settle
    let n = 0;
    const load = (server: ServerProcess, name: string) =>
      runLoad(server.url, {
        name,
        method: 'POST',
        seconds: options.seconds,
        connections: options.connections,
        path: () => write(n).path,
        body: () => write(n++).body,
      });
    // Unmeasured: both servers' code paths warmed up (JIT, caches) before the first round.
    await load(plain, 'warm-up');
    await load(subscribed, 'warm-up');
    await drained(receiver.state);
    for (let round = 0; round < options.rounds; round++) {
      const without = await load(plain, 'without');
      const withSubs = await load(subscribed, 'with');
      for (const r of [without, withSubs]) if (r.errors || r.non2xx) process.stderr.write(`warning: subscriptions ${r.name}: ${r.errors} errors, ${r.non2xx} non-2xx\n`);
      rows.without.push(without.requestsPerSecond);
      rows.with.push(withSubs.requestsPerSecond);
      await drained(receiver.state);
      receiver.state.latencies = [];
      receiver.state.recording = true;
      await paced(subscribed, RATE, options.seconds, n);
      n += RATE * options.seconds;
      await drained(receiver.state);
      receiver.state.recording = false;
      rows.p50.push(percentile(receiver.state.latencies, 50));
      rows.p99.push(percentile(receiver.state.latencies, 99));
      rows.delivered.push(receiver.state.latencies.length);
    }
  } finally {
    await plain.stop();
    await subscribed.stop();
    await receiver.close();
  }
  const ratios = rows.with.map((value, i) => Math.round((100 * value) / (rows.without[i] || 1)));
  const spread = (values: number[]) => `${median(values)} (${Math.min(...values)}–${Math.max(...values)})`;
  const rounds = Array.from({ length: options.rounds }, (_, i) => `round ${i + 1}`);
  return [
    `### Subscriptions (SQLite, AUTH_MODE=off; ${SUBSCRIPTIONS} rest-hook subscriptions on ${KINDS.length} kinds, each filtered to one of ${PATIENTS} patients; writes: Encounter and Observation creates; ${options.connections} connections, ${options.seconds} s per row, ${options.rounds} rounds)`,
    '',
    markdownTable(
      ['measure', ...rounds, 'median (min–max)', 'target'],
      [
        ['writes/s, no subscription', ...rows.without, spread(rows.without), ''],
        [`writes/s, ${SUBSCRIPTIONS} active subscriptions`, ...rows.with, spread(rows.with), ''],
        ['with / without, %', ...ratios, spread(ratios), '≥ 80'],
        [`delivery p50 ms, commit → receipt, ${RATE} writes/s`, ...rows.p50, spread(rows.p50), ''],
        [`delivery p99 ms, commit → receipt, ${RATE} writes/s`, ...rows.p99, spread(rows.p99), '< 500'],
        ['events received in the latency row', ...rows.delivered, spread(rows.delivered), ''],
      ],
    ),
    '',
    'Both servers and the receiver share the machine with the load generator; the rows alternate so that a change in the machine’s load touches both.',
  ].join('\n');
}
