import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config';
import { mintToken } from '../../src/security/auth/cli-token';
import { userAdmin } from '../../src/security/auth/user-admin';
import { openSqliteAccountStore } from '../../src/storage/accounts/sqlite';
import { startServer, type Running } from './entry-point';

/**
 * Two server processes on one SQLite file, as behind a load balancer: what
 * one of them learns about tokens, the other knows at once. A code issued by
 * one is exchanged at the other, once; an access token revoked at one is
 * refused by the other, which had it in its verified-token cache; a refresh
 * token replayed at one revokes the family the other rotated.
 */
const REDIRECT = 'http://app.example/callback';

/** The browser side of the flow against one server, with fetch: a cookie, the forms' hidden fields, the final redirect's code. */
async function codeFrom(server: Running, baseUrl: string, challenge: string): Promise<string> {
  const { signedIn, post } = await signIn(server, baseUrl, challenge, 'alice', 'alice-password');
  // The approval is remembered in the database: the second flow, at either server, skips the screen.
  const approved =
    signedIn.status === 302 ? signedIn : await post('/auth/approve', [['scope', 'launch/patient'], ['scope', 'patient/*.rs'], ['scope', 'offline_access'], ['decision', 'allow']]);
  const code = new URL(approved.headers.get('location') ?? 'http://x/').searchParams.get('code');
  if (!code) throw new Error(`no code: ${approved.status}`);
  return code;
}

async function signIn(server: Running, baseUrl: string, challenge: string, username: string, password: string) {
  const origin = new URL(server.url).origin;
  let cookie = '';
  const remember = (response: Response) => {
    const set = response.headers.get('set-cookie');
    if (set) cookie = set.split(';')[0] ?? '';
  };
  const hidden = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? '';
  const query = new URLSearchParams({
    response_type: 'code', client_id: 'app', redirect_uri: REDIRECT, scope: 'launch/patient patient/*.rs offline_access', state: 's', aud: baseUrl,
    code_challenge: challenge, code_challenge_method: 'S256',
  });
  const login = await fetch(`${origin}/auth/authorize?${query}`, { redirect: 'manual' });
  remember(login);
  let html = await login.text();
  const post = async (path: string, fields: Array<[string, string]>) => {
    const body = new URLSearchParams([['csrf', hidden(html, 'csrf')], ['request', hidden(html, 'request')], ...fields]);
    const response = await fetch(`${origin}${path}`, { method: 'POST', body, redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' } });
    remember(response);
    html = await response.text();
    return response;
  };
  const signedIn = await post('/auth/login', [['username', username], ['password', password]]);
  return { signedIn, post };
}

const form = (server: Running, path: string, fields: Record<string, string>) =>
  fetch(`${new URL(server.url).origin}${path}`, { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

t.test('two server processes on one SQLite file agree on codes, revocations and refresh families', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-two-'));
  const clients = join(dir, 'clients.json');
  writeFileSync(clients, JSON.stringify([{ clientId: 'app', type: 'public', name: 'App', redirectUris: [REDIRECT], scope: 'launch/patient patient/*.rs offline_access' }]));
  chmodSync(clients, 0o600);
  const env = { SQLITE_PATH: join(dir, 'concord.db'), BASE_URL: 'http://127.0.0.1:0/fhir', AUTH_CLIENTS_FILE: clients };
  // One after the other: the first generates the signing key the second then loads.
  const a = await startServer(env);
  t.teardown(() => void a.child.kill('SIGKILL'));
  const b = await startServer(env);
  t.teardown(() => void b.child.kill('SIGKILL'));
  const accounts = openSqliteAccountStore(env.SQLITE_PATH);
  t.teardown(() => accounts.close());
  await userAdmin(accounts).add('alice', ['Patient/p1'], 'alice-password');
  const operator = await mintToken(['--scope', 'system/*.cruds'], loadConfig({ ...process.env, ...env }));
  const put = await fetch(`${a.url}/Patient/p1`, { method: 'PUT', body: JSON.stringify({ resourceType: 'Patient', id: 'p1' }), headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/fhir+json' } });
  t.equal(put.status, 201);
  const read = (server: Running, token: string) => fetch(`${server.url}/Patient/p1`, { headers: { authorization: `Bearer ${token}` } }).then((response) => response.status);

  const verifier = randomBytes(32).toString('base64url');
  const code = await codeFrom(a, env.BASE_URL, createHash('sha256').update(verifier).digest('base64url'));
  const exchange = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: 'app' };
  const issued = await form(b, '/auth/token', exchange);
  t.equal(issued.status, 200, 'a code issued by A is exchanged at B');
  const tokens = (await issued.json()) as { access_token: string; refresh_token: string };
  t.equal(await read(a, tokens.access_token), 200, 'A accepts the token (and caches it as verified)');
  t.equal(await read(b, tokens.access_token), 200, 'B too');
  const again = await form(a, '/auth/token', exchange);
  t.equal(again.status, 400, 'the same code at A: used once, across both');
  t.equal(await read(b, tokens.access_token), 401, "the replay at A revoked the code's tokens, and B refuses them at once");
  t.equal(await read(a, tokens.access_token), 401);

  const verifier2 = randomBytes(32).toString('base64url');
  const code2 = await codeFrom(b, env.BASE_URL, createHash('sha256').update(verifier2).digest('base64url'));
  const second = (await (await form(a, '/auth/token', { ...exchange, code: code2, code_verifier: verifier2 })).json()) as { access_token: string; refresh_token: string };
  t.equal(await read(b, second.access_token), 200, 'cached as verified at B');
  t.equal((await form(a, '/auth/revoke', { token: second.access_token, client_id: 'app' })).status, 200, 'revoked at A');
  t.equal(await read(b, second.access_token), 401, 'B refuses it at once, cache included');

  const rotated = await form(b, '/auth/token', { grant_type: 'refresh_token', refresh_token: second.refresh_token, client_id: 'app' });
  t.equal(rotated.status, 200, 'B rotates the refresh token');
  const fresh = (await rotated.json()) as { access_token: string; refresh_token: string };
  t.equal(await read(b, fresh.access_token), 200);
  const replay = await form(a, '/auth/token', { grant_type: 'refresh_token', refresh_token: second.refresh_token, client_id: 'app' });
  t.equal(replay.status, 400, 'the old refresh token replayed at A');
  t.equal(await read(b, fresh.access_token), 401, "and B refuses the family's newest access token");
  t.equal((await form(b, '/auth/token', { grant_type: 'refresh_token', refresh_token: fresh.refresh_token, client_id: 'app' })).status, 400, 'and its refresh token');

  // AUTH_LOGIN_MAX_FAILURES is 5: three failures at A and two at B lock the username (and the address) at both.
  const attempt = async (server: Running, password: string) => (await signIn(server, env.BASE_URL, createHash('sha256').update(verifier).digest('base64url'), 'alice', password)).signedIn.status;
  for (const server of [a, a, a, b]) t.equal(await attempt(server, 'wrong-password'), 401);
  t.equal(await attempt(b, 'wrong-password'), 401, 'the fifth failure, at B');
  t.equal(await attempt(a, 'alice-password'), 429, 'A refuses even the right password');
  t.equal(await attempt(b, 'alice-password'), 429, 'so does B');
});
