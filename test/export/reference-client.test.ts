/**
 * A Bulk Data client against the real server over HTTP.
 *
 * The reference client, smart-on-fhir's bulk-data-client, is not published
 * on npm (`npm view bulk-data-client` answers 404): it is installed from its
 * git repository. When BULK_DATA_CLIENT_DIR names such a checkout (cloned,
 * `npm i` run), it is run unchanged, as its README says (`node . --config
 * ... --global`); otherwise that test skips, saying why. The same flow
 * (kick-off, polling at the pace Retry-After asks, downloads with
 * `Accept: application/fhir+ndjson`, DELETE) always runs with this suite's
 * own client, over real HTTP.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { startServer } from '../process/entry-point';

const COUNT = 50;
const json = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };
const clientDir = process.env.BULK_DATA_CLIENT_DIR;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function serverWithData(t: Test, dir: string): Promise<string> {
  const server = await startServer({ AUTH_MODE: 'off', SQLITE_PATH: join(dir, 'concord.db'), EXPORT_DIR: join(dir, 'exports') });
  t.teardown(() => void server.child.kill('SIGKILL'));
  const entry = Array.from({ length: COUNT }, (_, i) => ({ resource: { resourceType: 'Patient', id: `p${i}` }, request: { method: 'PUT', url: `Patient/p${i}` } }));
  const loaded = await fetch(server.url, { method: 'POST', headers: json, body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }) });
  t.equal(loaded.status, 200);
  return server.url;
}

const noClient = clientDir === undefined || !existsSync(join(clientDir, 'package.json'));

t.test(
  'the reference client bulk-data-client, unchanged: a system-level export of the Patients',
  { skip: noClient ? 'bulk-data-client is not installed (not on npm: clone github.com/smart-on-fhir/bulk-data-client, npm i, set BULK_DATA_CLIENT_DIR)' : false },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'concord-bdc-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const url = await serverWithData(t, dir);
    const destination = join(dir, 'downloads');
    const config = join(dir, 'concord-config.js');
    // An open server (AUTH_MODE=off): no token endpoint.
    writeFileSync(config, `module.exports = ${JSON.stringify({ fhirUrl: url, tokenUrl: 'none', destination, reporter: 'text' })};\n`);
    const run = spawnSync(process.execPath, ['.', '--config', config, '--global', '--_type', 'Patient'], { cwd: clientDir, encoding: 'utf8', timeout: 120_000 });
    t.equal(run.status, 0, run.stderr.slice(0, 500));
    const files = readdirSync(destination).filter((name) => name.endsWith('.ndjson'));
    const lines = files.flatMap((name) => readFileSync(join(destination, name), 'utf8').split('\n').filter(Boolean));
    t.equal(lines.length, COUNT, 'every Patient downloaded');
  },
);

t.test('the same flow with this suite’s own client, over HTTP', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-bdc-own-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const url = await serverWithData(t, dir);
  const here = (absolute: string) => `${url}${new URL(absolute).pathname.replace(/^\/fhir/, '')}`;
  const kickoff = await fetch(`${url}/$export?_type=Patient`, { headers: { accept: 'application/fhir+json', prefer: 'respond-async' } });
  t.equal(kickoff.status, 202);
  const status = here(String(kickoff.headers.get('content-location')));
  let manifest: { output: Array<{ type: string; url: string; count: number }>; requiresAccessToken: boolean } | undefined;
  for (let attempt = 0; attempt < 60 && !manifest; attempt++) {
    const answer = await fetch(status, { headers: { accept: 'application/json' } });
    if (answer.status === 200) manifest = (await answer.json()) as typeof manifest;
    else {
      t.equal(answer.status, 202, 'running, or done');
      await answer.arrayBuffer();
      // As a client should: wait as long as Retry-After says.
      await sleep(Number(answer.headers.get('retry-after') ?? '1') * 1000);
    }
  }
  if (!manifest) throw new Error('the export did not finish');
  t.equal(manifest.requiresAccessToken, true);
  let lines = 0;
  for (const output of manifest.output) {
    const file = await fetch(here(output.url), { headers: { accept: 'application/fhir+ndjson' } });
    t.equal(file.status, 200, `${output.url}`);
    t.equal(file.headers.get('content-type'), 'application/fhir+ndjson');
    const got = (await file.text()).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { resourceType: string });
    t.ok(got.every((resource) => resource.resourceType === output.type), 'one type per file');
    t.equal(got.length, output.count);
    lines += got.length;
  }
  t.equal(lines, COUNT);
  t.equal((await fetch(status, { method: 'DELETE' })).status, 202, 'the client deletes the job when done');
  t.equal((await fetch(status)).status, 404);
});
