import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, startServer as startEntryPoint } from './entry-point';

/**
 * A POST whose body arrives in two halves, with `between` run after the
 * server has the headers: the request is truly in flight while it runs.
 */
function postInTwoHalves(url: string, body: unknown, between: () => void): Promise<number> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/fhir+json', 'content-length': payload.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.write(payload.subarray(0, 10));
    setTimeout(() => {
      between();
      setTimeout(() => req.end(payload.subarray(10)), 300);
    }, 300);
  });
}

// These tests are about the process (durability, shutdown), not security: explicitly open.
const startServer = (env: Record<string, string>) => startEntryPoint({ AUTH_MODE: 'off', ...env });

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) });

t.test('refuses to start with a one-line error naming the invalid variable', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: { ...process.env, PORT: 'abc' } });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.equal(code, 1);
  t.equal(stderr.trim().split('\n').length, 1, 'one line');
  t.match(stderr, /PORT/);
});

t.test('SIGTERM finishes in-flight work, closes the database and exits 0; data survives a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-life-'));
  const env = { SQLITE_PATH: join(dir, 'nested', 'concord.db') };
  const first = await startServer(env);
  const created = await post(`${first.url}/Patient`, { resourceType: 'Patient', gender: 'female' });
  t.equal(created.status, 201);
  const { id } = (await created.json()) as { id: string };
  // A request in flight when the signal arrives must still be answered.
  const inFlight = await postInTwoHalves(`${first.url}/Patient`, { resourceType: 'Patient', gender: 'male' }, () => first.child.kill('SIGTERM'));
  t.equal(inFlight, 201, 'the in-flight request completed');
  t.equal(await first.exited, 0, 'exit code 0');

  const second = await startServer(env);
  t.teardown(() => void second.child.kill('SIGKILL'));
  const read = await fetch(`${second.url}/Patient/${id}`);
  t.equal(read.status, 200, 'the resource survived the restart');
});

t.test('nothing acknowledged is lost across kill -9', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-kill-'));
  const env = { SQLITE_PATH: join(dir, 'concord.db') };
  const first = await startServer(env);
  const ids: string[] = [];
  for (let i = 0; i < 25; i++) {
    const res = await post(`${first.url}/Patient`, { resourceType: 'Patient', gender: 'other' });
    t.equal(res.status, 201);
    ids.push(((await res.json()) as { id: string }).id);
  }
  first.child.kill('SIGKILL');
  await first.exited;

  const second = await startServer(env);
  t.teardown(() => void second.child.kill('SIGKILL'));
  for (const id of ids) {
    const read = await fetch(`${second.url}/Patient/${id}`);
    if (read.status !== 200) t.fail(`Patient/${id} was acknowledged but lost`);
  }
  t.pass(`all ${ids.length} acknowledged creates survived`);
});
