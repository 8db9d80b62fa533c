import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { dataFiles, formatSummary, inProcessSink, Loader } from '../../scripts/load';
import { systemContext } from '../../src/context';
import { createIndexer } from '../../src/search/indexer';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { createValidator } from '../../src/validation/validator';
import { BASE_URL } from '../http/harness';
import { expectedCounts, firstBundleFile, fixtureDir, readBundle } from './synthea';

t.test('npm run load: bundles and ndjson through processBundle, with a summary of errors by kind', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-load-'));
  const storage = createSqliteStorage({ path: ':memory:', indexer: createIndexer({ baseUrl: BASE_URL }) });
  t.teardown(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const bundle = firstBundleFile(fixtureDir);
  copyFileSync(bundle, join(dir, 'a-bundle.json'));
  const lines = [
    { resourceType: 'Patient', id: 'p1', gender: 'female' },
    { resourceType: 'Patient', id: 'p1', gender: 'male' },
    { resourceType: 'Patient', gender: 'other' },
    { resourceType: 'Patient', id: 'p2', birthDate: 'not a date' },
  ];
  writeFileSync(join(dir, 'b.ndjson'), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n{not json\n`);
  writeFileSync(join(dir, 'notes.txt'), 'ignored');
  const files = dataFiles([dir]);
  t.same(files.map((f) => f.slice(dir.length + 1)), ['a-bundle.json', 'b.ndjson'], 'folders are walked; only .json and .ndjson');

  const progress: Array<[number, number]> = [];
  const summary = await new Loader(inProcessSink({ storage, validator: createValidator() }, BASE_URL)).load(files, (done, total) => progress.push([done, total]));
  const bundleResources = Object.values(expectedCounts([readBundle(bundle)])).reduce((a, b) => a + b, 0);
  t.equal(summary.resources, bundleResources + 3, 'the bundle, then the good ndjson lines (a failed transaction chunk retried as a batch)');
  t.equal(summary.failed, 2);
  t.same(summary.errors, { '422 value': 1, 'unreadable JSON': 1 }, 'errors by kind');
  const p1 = await storage.read(systemContext(BASE_URL), 'Patient', 'p1');
  t.equal(p1?.versionId, 2, 'ndjson lines are upserts: the second line updated p1');
  t.same(progress.at(-1), [progress.at(-1)![1], progress.at(-1)![1]], 'the progress ends full');
  t.match(formatSummary(summary), /loaded \d+ resources in [\d.]+ s \(\d+ resources\/s\), 2 failed\n {2}1\t422 value/);
});
