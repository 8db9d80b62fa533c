import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import type { StorageOps } from '../../src/storage/port';
import { applyPragmas } from '../../src/storage/sqlite/schema';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { contextAt, contractIndexer, searchOf, storageContract, token } from './contract';

const scratch = mkdtempSync(join(tmpdir(), 'concord-sqlite-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
let files = 0;
/** A fresh database file, in a folder that does not exist yet (the adapter creates it). */
const freshFile = () => join(scratch, `run-${++files}`, 'concord.db');

storageContract(t, 'sqlite :memory:', async () => createSqliteStorage({ path: ':memory:', indexer: contractIndexer }));
storageContract(t, 'sqlite file', async () => createSqliteStorage({ path: freshFile(), indexer: contractIndexer }));

const ctx = contextAt('2024-05-01T00:00:00.000Z');
const openFile = (path: string) => createSqliteStorage({ path, indexer: contractIndexer });

t.test('sqlite: a file keeps its data across close and reopen, index entries included', async (t) => {
  const path = freshFile();
  const first = openFile(path);
  await first.create(ctx, { resourceType: 'Patient', id: 'a', gender: 'female' });
  await first.update(ctx, { resourceType: 'Patient', id: 'a', gender: 'male' });
  await first.close();
  const second = openFile(path);
  t.teardown(() => second.close());
  t.match(await second.read(ctx, 'Patient', 'a'), { versionId: 2, resource: { gender: 'male' } });
  t.equal((await second.search(ctx, searchOf(['Patient'], { where: [token('gender', { code: 'male' })] }))).total, 1);
  t.match(await second.update(ctx, { resourceType: 'Patient', id: 'a' }), { record: { versionId: 3 } }, 'numbering continues');
});

t.test('sqlite: close is idempotent and waits for a unit of work in flight', async (t) => {
  const storage = openFile(freshFile());
  const unit = storage.unitOfWork(async (tx) => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    return tx.create(ctx, { resourceType: 'Patient', id: 'a' });
  });
  const closes = [storage.close(), storage.close()];
  t.match(await unit, { versionId: 1 });
  await Promise.all(closes);
  await storage.close();
  await t.rejects(storage.read(ctx, 'Patient', 'a'), 'a closed storage refuses work');
});

t.test('sqlite: a unit of work’s operations cannot be used once it is over', async (t) => {
  const storage = openFile(':memory:');
  t.teardown(() => storage.close());
  let leaked: StorageOps | undefined;
  await storage.unitOfWork(async (tx) => {
    leaked = tx;
  });
  await t.rejects(leaked!.create(ctx, { resourceType: 'Patient', id: 'a' }), /unit of work is over/);
  t.equal(await storage.read(ctx, 'Patient', 'a'), undefined);
});

t.test('sqlite: nothing acknowledged is lost when the process is killed (kill -9)', async (t) => {
  const path = freshFile();
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'sqlite-crash-writer.ts'), path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const acknowledged: string[] = [];
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      acknowledged.push(...lines);
      if (acknowledged.length >= 200 && child.kill('SIGKILL')) resolve();
    });
    child.on('exit', () => resolve());
    child.on('error', reject);
  });
  await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.on('exit', resolve)));
  t.ok(acknowledged.length >= 200, `the writer acknowledged ${acknowledged.length} creates before the kill`);
  const reopened = openFile(path);
  t.teardown(() => reopened.close());
  const missing: string[] = [];
  for (const id of acknowledged) if ((await reopened.read(ctx, 'Patient', id)) === undefined) missing.push(id);
  t.same(missing, [], 'every acknowledged create is in the reopened file');
});

t.test('sqlite: every connection gets the configured page cache (the 2 MB default thrashes on index inserts)', async (t) => {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  applyPragmas(db, { fsyncEveryCommit: false, readOnly: false });
  t.equal(db.pragma('cache_size', { simple: true }), -64 * 1024, 'the default, in KiB');
  applyPragmas(db, { fsyncEveryCommit: false, readOnly: false, cacheMb: 256 });
  t.equal(db.pragma('cache_size', { simple: true }), -256 * 1024);
});
