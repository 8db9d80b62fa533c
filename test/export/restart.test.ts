/**
 * An export job across `kill -9` of the real server process: after the
 * restart the job runs again with its original transactionTime (so writes
 * made after the kick-off, before or after the kill, stay out), exports
 * every resource once, and no file is served before the job is complete.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startServer } from '../process/entry-point';

const COUNT = 2000;
const id = (i: number) => `p${String(i).padStart(4, '0')}`;
const json = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };
/** The server's own base URL (BASE_URL) is not where the test reaches it: keep the path after `/fhir`. */
const at = (base: string, url: string) => `${base}${new URL(url).pathname.replace(/^\/fhir/, '')}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, ms = 30000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

t.test('kill -9 in the middle of a job: it runs again after start, same transactionTime, nothing partial delivered', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-export-kill-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const exportDir = join(dir, 'exports');
  // One resource per chunk and small files: the job is slow enough to be killed half-way, with some files already complete.
  const env = { AUTH_MODE: 'off', SQLITE_PATH: join(dir, 'concord.db'), EXPORT_DIR: exportDir, EXPORT_CHUNK_RESOURCES: '1', EXPORT_FILE_MAX_RESOURCES: '300' };
  const first = await startServer(env);
  t.teardown(() => void first.child.kill('SIGKILL'));
  const entry = Array.from({ length: COUNT }, (_, i) => ({ resource: { resourceType: 'Patient', id: id(i), gender: 'female' }, request: { method: 'PUT', url: `Patient/${id(i)}` } }));
  const loaded = await fetch(first.url, { method: 'POST', headers: json, body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }) });
  t.equal(loaded.status, 200);

  const before = new Date().toISOString();
  const kickoff = await fetch(`${first.url}/$export?_type=Patient`, { headers: { ...json, prefer: 'respond-async' } });
  const after = new Date().toISOString();
  t.equal(kickoff.status, 202);
  const statusUrl = String(kickoff.headers.get('content-location'));
  const job = statusUrl.split('/').pop() ?? '';
  const put = (base: string, patient: string) => fetch(`${base}/Patient/${patient}`, { method: 'PUT', headers: json, body: JSON.stringify({ resourceType: 'Patient', id: patient, gender: 'male' }) });
  t.equal((await put(first.url, id(1))).status, 200, 'an update after kick-off, before the kill');

  // Kill once the first file is complete and the job is still writing.
  const jobDir = join(exportDir, job);
  await until(() => (existsSync(jobDir) && readdirSync(jobDir).some((name) => name.endsWith('.ndjson')) ? true : undefined), 'a complete file');
  first.child.kill('SIGKILL');
  await first.exited;
  const left = readdirSync(jobDir);
  t.ok(left.some((name) => name.endsWith('.part')), `the killed run left a file in progress (${left.join(', ')})`);

  const second = await startServer(env);
  t.teardown(() => void second.child.kill('SIGKILL'));
  t.equal((await put(second.url, id(2))).status, 200, 'an update after the restart');
  t.equal((await put(second.url, 'late')).status, 201, 'a create after the restart');
  const early = await fetch(`${second.url}/$export-status/${job}/Patient-1.ndjson`);
  t.equal(early.status, 404, 'no file is served while the job runs again');
  await early.arrayBuffer();

  // Polled at the pace Retry-After asks (2 s; faster than half of it is 429).
  const statuses: number[] = [];
  const done = await until(async () => {
    const status = await fetch(at(second.url, statusUrl));
    const body = await status.text();
    statuses.push(status.status);
    if (status.status !== 200) await sleep(1100);
    return status.status === 200 ? (JSON.parse(body) as { transactionTime: string; output: Array<{ url: string; count: number }> }) : undefined;
  }, 'the job to complete', 90000);
  t.ok(statuses.slice(0, -1).every((code) => code === 202), `running until complete (${statuses.join(' ')})`);
  t.ok(done.transactionTime >= before && done.transactionTime <= after, 'the original transactionTime, from the kick-off');
  t.notOk(readdirSync(jobDir).some((name) => name.endsWith('.part')), 'nothing in progress is left');
  const lines: Array<{ id: string; gender: string }> = [];
  for (const output of done.output) {
    const file = await fetch(at(second.url, output.url));
    t.equal(file.status, 200);
    const got = (await file.text()).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { id: string; gender: string });
    t.equal(got.length, output.count, 'each file holds the count the manifest gives');
    lines.push(...got);
  }
  t.equal(lines.length, COUNT, 'every resource of the snapshot');
  t.equal(new Set(lines.map((p) => p.id)).size, COUNT, 'each once');
  t.notOk(lines.some((p) => p.id === 'late'), 'a create after the kick-off stays out');
  t.equal(lines.find((p) => p.id === id(1))?.gender, 'female', 'an update before the kill: the version as of transactionTime');
  t.equal(lines.find((p) => p.id === id(2))?.gender, 'female', 'an update after the restart: likewise');
});
