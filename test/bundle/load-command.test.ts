import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { main, parseLoadArgs } from '../../scripts/load';
import { systemContext } from '../../src/context';
import { createIndexer } from '../../src/search/indexer';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { BASE_URL, startHarness } from '../http/harness';

// `npm run load` as the README writes it: the command's main with real argument lists.

const patientLine = (id: string) => JSON.stringify({ resourceType: 'Patient', id, gender: 'female' });

function dataDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'concord-load-cmd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.ndjson'), `${patientLine('a1')}\n${patientLine('a2')}\n`);
  writeFileSync(join(dir, 'b.ndjson'), `${patientLine('b1')}\n`);
  writeFileSync(
    join(dir, 'c.json'),
    JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient', id: 'c1' }, request: { method: 'PUT', url: 'Patient/c1' } }] }),
  );
  return dir;
}

/** Captures stdout and stderr while the command runs (it prints its summary and usage there). */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const write = { out: process.stdout.write, err: process.stderr.write, log: console.log };
  console.log = (...parts: unknown[]) => void (out += `${parts.join(' ')}\n`);
  process.stderr.write = ((chunk: string | Uint8Array) => ((err += String(chunk)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv), out, err };
  } finally {
    console.log = write.log;
    process.stderr.write = write.err;
  }
}


t.test('parseLoadArgs: every positional is a path; --url needs a value', async (t) => {
  const inProcess = (paths: string[], extra = {}) => ({ paths, deferIndexes: false, batch: 10, ...extra });
  t.same(parseLoadArgs(['../shared/data/synthea']), inProcess(['../shared/data/synthea']), 'one folder, no --url (the README example): the batch path');
  t.same(parseLoadArgs(['a.ndjson', 'b.ndjson']), inProcess(['a.ndjson', 'b.ndjson']), 'several paths: none dropped');
  t.same(parseLoadArgs(['a.ndjson', '--url', 'http://x/fhir', 'b.ndjson']), { paths: ['a.ndjson', 'b.ndjson'], url: 'http://x/fhir', deferIndexes: false });
  t.same(parseLoadArgs(['--url=http://x/fhir', 'a.ndjson']), { paths: ['a.ndjson'], url: 'http://x/fhir', deferIndexes: false });
  t.same(parseLoadArgs(['a', '--batch', '50', '--defer-indexes']), inProcess(['a'], { batch: 50, deferIndexes: true }));
  t.same(parseLoadArgs(['a', '--sequential']), { paths: ['a'], deferIndexes: false }, 'the sequential path: no batch');
  t.equal(parseLoadArgs([]), undefined, 'no path');
  t.equal(parseLoadArgs(['a.ndjson', '--url']), undefined, '--url without a value');
  t.equal(parseLoadArgs(['--url', 'http://x/fhir']), undefined, '--url without a path');
  t.equal(parseLoadArgs(['a.ndjson', '--urll', 'x']), undefined, 'an unknown option is not taken as a path');
  for (const bad of ['0', '-1', '2.5', 'ten']) t.equal(parseLoadArgs(['a', '--batch', bad]), undefined, `--batch ${bad}`);
  t.equal(parseLoadArgs(['a', '--batch', '5', '--sequential']), undefined, '--batch with --sequential');
  t.equal(parseLoadArgs(['a', '--url', 'http://x/fhir', '--batch', '5']), undefined, '--batch is in-process only');
  t.equal(parseLoadArgs(['a', '--url', 'http://x/fhir', '--defer-indexes']), undefined, '--defer-indexes is in-process only');
});

t.test('main with a missing argument prints the usage and loads nothing', async (t) => {
  for (const argv of [[], ['--url'], ['--url', 'http://127.0.0.1:1/fhir'], [join(tmpdir(), 'x.ndjson'), '--url']]) {
    const { code, out, err } = await run(argv);
    t.equal(code, 2, `exit 2 for ${JSON.stringify(argv)}`);
    t.match(err, /^usage: npm run load -- /);
    t.equal(out, '', 'no summary');
  }
});

t.test('main --url: a folder, several files, against a real server on loopback', async (t) => {
  const dir = dataDir(t);
  const h = await startHarness();
  t.teardown(h.close);
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}/fhir`;
  const count = async () => (await h.request({ method: 'GET', url: '/fhir/Patient?_summary=count' })).json().total as number;
  const list = async () =>
    ((await h.request({ method: 'GET', url: '/fhir/Patient?_elements=id&_sort=_id' })).json().entry ?? []).map((e: { resource: { id: string } }) => e.resource.id);

  const files = await run([join(dir, 'a.ndjson'), join(dir, 'b.ndjson'), '--url', url]);
  t.equal(files.code, 0);
  t.match(files.out, /^loaded 3 resources in/, 'both files, the first one included');
  t.same(await list(), ['a1', 'a2', 'b1'], 'exactly the lines of both files');

  const folder = await run(['--url', `${url}/`, dir]);
  t.equal(folder.code, 0);
  t.match(folder.out, /^loaded 4 resources in/, 'the folder: both ndjson files and the bundle');
  t.same(await list(), ['a1', 'a2', 'b1', 'c1']);
  t.equal(await count(), 4);
});

t.test('main without --url: the folder goes into the storage SQLITE_PATH names', async (t) => {
  const dir = dataDir(t);
  const dbDir = mkdtempSync(join(tmpdir(), 'concord-load-db-'));
  const saved = { SQLITE_PATH: process.env.SQLITE_PATH, MONGODB_URI: process.env.MONGODB_URI, AUTH_MODE: process.env.AUTH_MODE };
  process.env.SQLITE_PATH = join(dbDir, 'load.db');
  delete process.env.MONGODB_URI;
  process.env.AUTH_MODE = 'off';
  t.teardown(() => {
    for (const [key, value] of Object.entries(saved)) if (value === undefined) delete process.env[key];
    else process.env[key] = value;
    rmSync(dbDir, { recursive: true, force: true });
  });
  const { code, out } = await run([dir]);
  t.equal(code, 0);
  t.match(out, /^loaded 4 resources in/);
  t.match(out, /validated ahead on the worker thread: 4, in the write: 0/, 'the batch path, every body validated ahead');
  const storage = await createSqliteStorage({ path: join(dbDir, 'load.db'), indexer: createIndexer({ baseUrl: BASE_URL }) });
  t.teardown(() => storage.close());
  for (const id of ['a1', 'a2', 'b1', 'c1']) t.ok(await storage.read(systemContext(BASE_URL), 'Patient', id), `Patient/${id} stored`);
});
