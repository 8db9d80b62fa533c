import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { hashPassword, verifyPassword } from '../../src/security/auth/passwords';
import { userAdmin } from '../../src/security/auth/user-admin';
import { openSqliteAccountStore } from '../../src/storage/accounts/sqlite';

t.test('scrypt hashes: salted, verified in constant time, never the password', async (t) => {
  const one = await hashPassword('correct horse');
  const two = await hashPassword('correct horse');
  t.not(one, two, 'a fresh salt each time');
  t.notOk(one.includes('correct'), 'the password is not in the hash');
  t.match(one, /^scrypt\$16384\$8\$1\$/);
  t.equal(await verifyPassword('correct horse', one), true);
  t.equal(await verifyPassword('correct horsf', one), false);
  t.equal(await verifyPassword('correct horse', 'plain'), false, 'a malformed hash never matches');
});

t.test('user admin: validation, disable and set-password revoke refresh tokens', async (t) => {
  const store = openSqliteAccountStore(':memory:');
  t.teardown(() => store.close());
  const admin = userAdmin(store);
  await admin.add('alice', ['Patient/p1'], 'password-1');
  await admin.add('dana', ['RelatedPerson/r1', 'RelatedPerson/r2'], 'password-2');
  await t.rejects(admin.add('alice', ['Patient/p1'], 'password-1'), /taken/);
  await t.rejects(admin.add('eve', ['Organization/o1'], 'password-1'), /Patient\/<id>, RelatedPerson/);
  await t.rejects(admin.add('eve', ['Patient/p1', 'Patient/p2'], 'password-1'), /only with RelatedPerson/);
  await t.rejects(admin.add('eve', [], 'password-1'), /at least one/);
  await t.rejects(admin.add('eve', ['Patient/p1'], 'short'), /at least 8/);
  await t.rejects(admin.add('bad name', ['Patient/p1'], 'password-1'), /username/);
  t.same(await admin.list(), ['alice\tPatient/p1\tenabled', 'dana\tRelatedPerson/r1,RelatedPerson/r2\tenabled']);

  const token = (hash: string, username: string) =>
    store.saveRefreshToken({ hash, familyId: hash, username, clientId: 'app', scope: 's', fhirUser: 'Patient/p1', offline: true, expiresAt: Date.now() + 1e6, revoked: false });
  await token('a1', 'alice');
  await token('d1', 'dana');
  await admin.disable('alice');
  t.equal((await store.findRefreshToken('a1'))?.revoked, true, 'disable revokes the refresh tokens');
  t.equal((await store.findRefreshToken('d1'))?.revoked, false, 'of that user only');
  t.match(await admin.list(), ['alice\tPatient/p1\tdisabled']);
  const before = (await store.getUser('dana'))?.passwordHash;
  await admin.setPassword('dana', 'another-password');
  t.not((await store.getUser('dana'))?.passwordHash, before);
  t.equal((await store.findRefreshToken('d1'))?.revoked, true, 'a changed password revokes the refresh tokens');
  await t.rejects(admin.disable('nobody'), /no user/);
  await admin.remove('dana');
  t.same((await admin.list()).length, 1);
});

function cli(args: string[], env: Record<string, string>, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', 'scripts/user.ts', ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? '');
  });
}

t.test('npm run user works against the database a running server holds open', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-users-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = { SQLITE_PATH: join(dir, 'concord.db'), MONGODB_URI: '' };
  // The server's connection, open throughout.
  const server = openSqliteAccountStore(env.SQLITE_PATH);
  t.teardown(() => server.close());
  const added = await cli(['add', '--username', 'dana', '--fhir-user', 'RelatedPerson/r1', '--fhir-user', 'RelatedPerson/r2', '--password-stdin'], env, 'daughter-pw\n');
  t.equal(added.code, 0, added.stderr);
  const user = await server.getUser('dana');
  t.same(user?.fhirUsers, ['RelatedPerson/r1', 'RelatedPerson/r2'], 'the running server sees the new user');
  t.equal(await verifyPassword('daughter-pw', user?.passwordHash ?? ''), true, 'the password came from stdin, without its newline');
  t.equal((await cli(['disable', '--username', 'dana'], env)).code, 0);
  t.equal((await server.getUser('dana'))?.disabled, true);
  const listed = await cli(['list'], env);
  t.equal(listed.stdout, 'dana\tRelatedPerson/r1,RelatedPerson/r2\tdisabled\n');
  const noStdin = await cli(['add', '--username', 'x', '--fhir-user', 'Patient/p1'], env);
  t.equal(noStdin.code, 1);
  t.match(noStdin.stderr, /--password-stdin is required/);
  const unknown = await cli(['remove', '--username', 'nobody'], env);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /no user "nobody"/);
});
