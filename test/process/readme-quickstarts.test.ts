/**
 * The README's quick starts, run as written against a fresh server: every
 * ```sh block that sets BASE is extracted from README.md and run with
 * `bash -e`, BASE pointing at a server this test spawns (fresh SQLite file,
 * free loopback port). The blocks must create what they use.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ROOT, startServer } from './entry-point';

/** The quick-start blocks: ```sh fences whose text sets BASE (the others need ../shared, MongoDB or Docker). */
export function quickStartBlocks(readme: string): string[] {
  return [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!).filter((block) => /^BASE=/m.test(block));
}

/**
 * A block as the test runs it: the server is already running (this test
 * started it), so `npm start` lines are left out; everything else runs as written.
 */
const runnable = (block: string) =>
  block
    .split('\n')
    .filter((line) => !/^npm (install && npm )?start\b/.test(line))
    .join('\n');

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

/** What each block must print, in order (status lines and key fields of the answers). */
const expectations: Array<{ name: string; check: (t: Test, out: string) => void }> = [
  {
    name: 'Try it: metadata, then a created Patient',
    check: (t, out) => {
      t.match(out, /"resourceType":"CapabilityStatement"/, 'the CapabilityStatement');
      t.match(out, /"resourceType":"Patient","id":"[^"]+".*"family":"Chalmers"/s, 'the created Patient, with its id');
    },
  },
  {
    name: 'Tokens quick start: a practitioner search and two tokens',
    check: (t, out) => {
      t.match(out, /"resourceType":"Bundle"/, 'the search answers a Bundle (no 401)');
      t.notMatch(out, /OperationOutcome/, 'no error');
      t.equal(out.match(/\bey[\w-]+\.ey[\w-]+\.[\w-]+/g)?.length, 2, 'two tokens printed (JWTs)');
    },
  },
  {
    name: 'Consent quick start: the daughter sees the Encounter, and $evaluate says why',
    check: (t, out) => {
      t.notMatch(out, /is not known/, 'every resource it names exists');
      t.notMatch(out, /"resourceType":"OperationOutcome"/, 'no write or read refused');
      t.match(out, /"resourceType":"Bundle".*"id":"e1"/s, 'the daughter finds Encounter e1');
      t.match(out, /"resourceType":"Parameters"/, '$evaluate answers Parameters');
      t.match(out, /permit/, 'a permit, by Consent c1');
    },
  },
  {
    name: 'Claims quick start: submitted, queued, decided by the insurer, read by the clinic',
    check: (t, out) => {
      t.notMatch(out, /"resourceType":"OperationOutcome"/, 'nothing refused');
      t.match(out, /"resourceType":"ClaimResponse","id":"[^"]+".*"outcome":"queued"/s, '$submit answers the queued ClaimResponse');
      t.match(out, /"resourceType":"Bundle".*"outcome":"queued"/s, 'the insurer finds it in its queue');
      t.match(out, /"outcome":"complete".*"disposition":"Approved"/s, 'the insurer decides');
      t.match(out.trim().split('\n').pop(), /^\{"resourceType":"Bundle".*"outcome":"complete"/, 'the clinic reads the decision (the last answer)');
    },
  },
  {
    name: 'Patient apps quick start: a user added while the server runs, OIDC discovery and the privacy page',
    check: (t, out) => {
      t.match(out, /^anna\tPatient\/p1\tenabled$/m, 'npm run user -- list shows the new user');
      t.match(out, /"authorization_endpoint":"http:\/\/[^"]+\/auth\/authorize"/, 'the discovery names the authorization endpoint');
      t.match(out, /^<h1>My privacy<\/h1>$/m, 'the privacy page is served');
    },
  },
  {
    name: 'Scheduling: $find, $hold, $book with an idempotent retry, cancel, $bulk-publish and its Slot file',
    check: (t, out) => {
      t.notMatch(out, /"resourceType":"OperationOutcome"/, 'no write or operation refused');
      t.match(out, /"type":"searchset".*"status":"proposed".*"reference":"Slot\/slot-0900"/s, '$find offers the free slots');
      t.match(out, /"status":"pending".*appointment-hold-expires/s, '$hold answers the pending Appointment with its expiry');
      t.match(out, /"status":"booked".*\} 201.*\} 200/s, '$book books (201), the retry answers the first booking (200)');
      t.match(out, /# Cancel[^\n]*\n200 "status":"free"/, 'the cancellation (200) frees the Slot');
      t.match(out, /"transactionTime".*"output":\[\{"type":"Location"/s, 'the bulk-publish manifest');
      t.match(out, /\{"resourceType":"Slot","id":"slot-0900".*"status":"busy-tentative".*\n\{"resourceType":"Slot","id":"slot-0915".*"status":"free"/s, 'its Slot file, one Slot a line');
    },
  },
  {
    name: 'Bulk export quick start: a payer kicks off, polls and downloads its members’ data',
    check: (t, out) => {
      t.notMatch(out, /PUT \S+ (4|5)\d\d/, 'every resource is stored');
      t.match(out, /^status URL: http:\/\/\S+\/\$export-status\/[0-9a-f-]{36}$/m, 'the kick-off names the status URL');
      t.match(out, /"transactionTime".*"requiresAccessToken":true.*"output":\[/s, 'the manifest');
      t.match(out, /^\{"resourceType":"Patient","id":"x1"/m, 'the member');
      t.match(out, /^\{"resourceType":"Claim","id":"x1-claim"/m, 'its Claim');
      t.match(out, /^\{"resourceType":"Coverage","id":"x1-plan"/m, 'its Coverage');
      t.notMatch(out, /"id":"x1-visit"/, 'not its Encounter');
      t.notMatch(out, /"id":"m1"|"id":"p1"|"id":"pat1"/, 'nobody else’s data');
    },
  },
  {
    name: 'Operations quick start: a served OperationDefinition, a checked query parameter, a form POST',
    check: (t, out) => {
      t.match(out, /"resourceType":"OperationDefinition","id":"Consent-evaluate"/, 'the definition of $evaluate, read by id');
      t.match(out, /"resourceType":"Bundle".*"total":1/s, 'the definition of $everything, found by its base');
      t.match(out, /parameter \\"_count\\" must be of type integer/, 'a mistyped query parameter is named');
      t.match(out, /"resourceType":"Parameters".*"decision"/s, 'the form POST is answered like a Parameters body');
    },
  },
  {
    name: 'Check-in quick start: the Appointment arrives with its Encounter and the filled form',
    check: (t, out) => {
      t.notMatch(out, /PUT \S+ (4|5)\d\d/, 'every resource is stored');
      const answer = JSON.parse(out.trim().split('\n').pop() ?? '{}');
      const part = (name: string) => answer.parameter?.find((p: { name: string }) => p.name === name);
      t.equal(part('appointment')?.resource.status, 'arrived', 'the Appointment arrived');
      t.equal(part('encounter')?.resource.status, 'arrived', 'its Encounter');
      t.equal(part('queue-position')?.valueInteger, 0, 'first in line');
      const form = JSON.stringify(part('questionnaire-response')?.resource);
      t.match(form, /"valueString":"Ada"/, 'the form has the name from the record');
      t.match(form, /"value":68/, 'and the latest weight');
    },
  },
  {
    name: 'Subscriptions quick start: a rest-hook subscription to appointment-booked and its receiver',
    check: (t, out) => {
      t.notMatch(out, /"resourceType":"OperationOutcome"/, 'nothing refused');
      t.match(out, /"resourceType":"Subscription".*"status":"requested"/s, 'the subscription is created, requested');
      t.match(out, /^received: .*"valueCode":"handshake"/m, 'the receiver gets the handshake');
      t.match(out, /^received: .*"valueCode":"event-notification".*"reference":"http:[^"]+\/Appointment\/appt2"/m, 'then the event, with the Appointment as focus');
      t.match(out, /^20[01]$/m, 'the Appointment is stored');
      t.match(out.trim().split('\n').pop(), /"type":"searchset".*"name":"events-since-subscription-start","valueString":"1"/, '$status: one event');
    },
  },
];

t.test('every README quick start runs as written on a fresh database', async (t) => {
  const blocks = quickStartBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  t.equal(blocks.length, expectations.length, 'each quick start has its expectations here');
  const dir = mkdtempSync(join(tmpdir(), 'concord-readme-'));
  const port = await freePort();
  // The Subscriptions quick start's receiver: its port, allowlisted as the README says to start the server.
  const hook = await freePort();
  const env = { SQLITE_PATH: join(dir, 'concord.db'), PORT: String(port), AUTH_MODE: 'on', HOOK: String(hook), SUBSCRIPTION_ENDPOINT_ALLOWLIST: `http://127.0.0.1:${hook}/` };
  const server = await startServer(env);
  t.teardown(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
    rmSync(dir, { recursive: true, force: true });
  });
  blocks.forEach((block, i) => {
    const expected = expectations[i]!;
    t.test(expected.name, async (t) => {
      const run = spawnSync('bash', ['-e', '-c', runnable(block)], {
        cwd: ROOT,
        env: { ...process.env, ...env, BASE: server.url },
        encoding: 'utf8',
        timeout: 120_000,
      });
      t.equal(run.status, 0, `bash -e exits 0${run.stderr ? `: ${run.stderr.slice(0, 500)}` : ''}`);
      expected.check(t, run.stdout);
    });
  });
});
