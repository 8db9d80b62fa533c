import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config';
import { systemContext } from '../../src/context';
import { createIndexer } from '../../src/search/indexer';
import { createSqliteStorage } from '../../src/storage/sqlite/sqlite-storage';
import { mintToken } from '../../src/security/auth/cli-token';
import { startServer } from './entry-point';

/**
 * The real entry point with its default security: tokens required, and the
 * patient's consent applied beside the scopes. A practitioner whose scopes
 * allow reading every Encounter still must not see one of a patient they
 * have no treatment relationship with, unless they break the glass.
 */
t.test('npm start enforces tokens and consent', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-wiring-'));
  const env = { SQLITE_PATH: join(dir, 'concord.db'), BASE_URL: 'http://127.0.0.1:0/fhir' };
  const server = await startServer(env);
  t.teardown(() => void server.child.kill('SIGKILL'));
  // Tokens are minted as `npm run token` does, with the key the server generated beside its database.
  const config = loadConfig({ ...process.env, ...env });
  const token = (...args: string[]) => mintToken(args, config);
  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: await res.text() };
  };

  t.equal((await fetch(`${server.url}/Patient`)).status, 401, 'no token: 401');
  const operator = await token('--scope', 'system/*.cruds');
  t.equal((await call(operator, 'PUT', '/Patient/p1', { resourceType: 'Patient', id: 'p1', gender: 'female' })).status, 201);
  const encounter = { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p1' } };
  t.equal((await call(operator, 'PUT', '/Encounter/e1', encounter)).status, 201);

  const stranger = await token('--fhir-user', 'Practitioner/x', '--scope', 'user/*.rs', '--purpose', 'TREAT');
  t.equal((await call(stranger, 'GET', '/Encounter/e1')).status, 404, 'consent hides the encounter from an unrelated practitioner');
  const search = JSON.parse((await call(stranger, 'GET', '/Encounter')).body);
  t.equal(search.total, 0, 'and searches do not reveal it');

  const glass = await token('--fhir-user', 'Practitioner/x', '--scope', 'user/*.rs', '--purpose', 'ETREAT');
  const broken = await call(glass, 'GET', '/Encounter/e1');
  t.equal(broken.status, 200, 'break-the-glass reads it');
  t.equal(broken.headers.get('x-break-glass'), 'true');
});

t.test('the buffered AuditEvents are written on SIGTERM, and before a read of the log (which a kill -9 then cannot undo)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-audit-'));
  const env = { SQLITE_PATH: join(dir, 'concord.db'), BASE_URL: 'http://127.0.0.1:0/fhir' };
  const config = loadConfig({ ...process.env, ...env });
  const auditEventsStored = async () => {
    const storage = createSqliteStorage({ path: env.SQLITE_PATH, indexer: createIndexer({ baseUrl: env.BASE_URL }) });
    try {
      const found = await storage.search(systemContext(env.BASE_URL), { types: ['AuditEvent'], where: [], sort: [], count: 100, offset: 0, total: 'accurate' });
      return found.total ?? 0;
    } finally {
      await storage.close();
    }
  };
  const operator = await mintToken(['--scope', 'system/*.cruds'], config);
  const get = (url: string, path: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${operator}` } });

  const first = await startServer(env);
  t.teardown(() => void first.child.kill('SIGKILL'));
  t.equal((await get(first.url, '/Patient/none')).status, 404);
  first.child.kill('SIGTERM');
  t.equal(await first.exited, 0, 'a clean stop');
  t.equal(await auditEventsStored(), 1, 'the read’s AuditEvent was written on the way out');

  const second = await startServer(env);
  t.teardown(() => void second.child.kill('SIGKILL'));
  t.equal((await get(second.url, '/Patient/none')).status, 404);
  t.equal((await get(second.url, '/AuditEvent?_total=accurate')).status, 200, 'reading the log first writes what is buffered');
  second.child.kill('SIGKILL');
  await second.exited;
  t.ok((await auditEventsStored()) >= 2, 'so a kill -9 after it loses none of it');
});
