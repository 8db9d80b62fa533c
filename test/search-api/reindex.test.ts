/**
 * `npm run reindex`: after the definitions change, existing resources become
 * findable by the new parameters, with versions and history untouched.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { stderrProgressBar } from '../../scripts/progress-bar';
import { reindex } from '../../scripts/reindex';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { parseSearch } from '../../src/search/parse';
import { createIndexer } from '../../src/search/indexer';
import type { Indexer } from '../../src/search/index-entry';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { BASE_URL } from './helpers';

const ctx = systemContext(BASE_URL);
const realIndexer = createIndexer({ baseUrl: BASE_URL });
/** The "old definitions": they knew no parameter at all. */
const oldIndexer: Indexer = () => [];

async function familyMatches(path: string, family: string): Promise<string[]> {
  const storage = createSqliteStorage({ path, indexer: realIndexer });
  try {
    const { query } = parseSearch(['Patient'], [['family', family]], { strict: true, baseUrl: BASE_URL });
    return (await storage.search(ctx, query)).records.map((r) => r.id);
  } finally {
    await storage.close();
  }
}

const observation = (patient: string) =>
  ({ resourceType: 'Observation', id: 'o', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${patient}` } }) as AnyResource;

async function seed(path: string): Promise<void> {
  const storage = createSqliteStorage({ path, indexer: oldIndexer });
  await storage.create(ctx, { resourceType: 'Patient', id: 'a', name: [{ family: 'Chalmers' }] });
  await storage.create(ctx, { resourceType: 'Patient', id: 'b', name: [{ family: 'Chalmers' }] });
  await storage.update(ctx, { resourceType: 'Patient', id: 'b', name: [{ family: 'Chalmers-Smith' }] });
  await storage.create(ctx, { resourceType: 'Patient', id: 'gone', name: [{ family: 'Chalmers' }] });
  await storage.delete(ctx, 'Patient', 'gone');
  await storage.create(ctx, observation('a'));
  await storage.update(ctx, observation('b'));
  await storage.close();
}

t.test('reindex rewrites the entries of current resources and the patients of every version, leaving versions alone', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-reindex-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'db.sqlite');
  await seed(path);
  t.same(await familyMatches(path, 'chalmers'), [], 'written under the old definitions: not findable');

  const progress: Array<[number, number]> = [];
  const summary = await reindex({ sqlitePath: path, baseUrl: BASE_URL, mongodbDb: 'unused' }, (done, total) => progress.push([done, total]), realIndexer);
  t.equal(summary.resources, 3, 'the three current resources; the tombstone has no body');
  t.ok(summary.entries > 3);
  t.equal(summary.versions, 6, 'every version but the tombstone');
  t.same(progress.at(-1), [9, 9], 'progress ends at total');

  t.same((await familyMatches(path, 'chalmers')).sort(), ['a', 'b']);
  t.same(await familyMatches(path, 'chalmers-smith'), ['b'], 'the current version is what got indexed');
  const storage = createSqliteStorage({ path, indexer: realIndexer });
  t.teardown(() => storage.close());
  t.equal((await storage.read(ctx, 'Patient', 'b'))!.versionId, 2, 'no new version');
  t.equal((await storage.history(ctx, { resourceType: 'Patient', id: 'b', count: 10, offset: 0 })).total, 2, 'history untouched');
  // Written when the definitions put the Observation in no compartment; the audit takes them from the row.
  t.same((await storage.read(ctx, 'Observation', 'o'))!.patients, ['b'], 'the current version gets its patients');
  t.same((await storage.vread(ctx, 'Observation', 'o', 1))!.patients, ['a'], 'and so does an older one');
});

t.test('reindex refuses :memory: (there is nothing stored to re-index)', async (t) => {
  await t.rejects(reindex({ sqlitePath: ':memory:', baseUrl: BASE_URL, mongodbDb: 'unused' }, () => {}));
});

t.test('the progress bar draws on its writer, throttled, and always ends with the total and a newline', async (t) => {
  const lines: string[] = [];
  const bar = stderrProgressBar('reindex', { intervalMs: 60_000, write: (text) => lines.push(text) });
  bar(1, 4);
  bar(2, 4);
  bar(4, 4);
  t.equal(lines.length, 2, 'the middle call was throttled');
  t.match(lines[0], /^\rreindex \[#{8}\.{22}\] 1\/4 25%/);
  t.match(lines[1], /4\/4 100%.*\n$/);
});

t.test('the script: progress on stderr, the summary on stdout', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-reindex-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'db.sqlite');
  await seed(path);
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(__dirname, '../../scripts/reindex.ts')], {
    env: { ...process.env, SQLITE_PATH: path, BASE_URL },
  });
  t.match(stdout, /^re-indexed 3 resources, \d+ index entries, the patients of 6 versions\n$/);
  t.match(stderr, /reindex \[#{30}\] 9\/9 100%/);
  t.same((await familyMatches(path, 'chalmers')).sort(), ['a', 'b']);
});
