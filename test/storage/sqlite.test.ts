import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { contractIndexer, storageContract } from './contract';

const scratch = mkdtempSync(join(tmpdir(), 'concord-sqlite-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
let files = 0;
/** A fresh database file, in a folder that does not exist yet (the adapter creates it). */
const freshFile = () => join(scratch, `run-${++files}`, 'concord.db');

storageContract(t, 'sqlite :memory:', async () => createSqliteStorage({ path: ':memory:', indexer: contractIndexer }));
storageContract(t, 'sqlite file', async () => createSqliteStorage({ path: freshFile(), indexer: contractIndexer }));
