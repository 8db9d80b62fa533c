/**
 * Rules of the authorization server that the flow tests do not reach on
 * their own: lifetimes measured from the right moment, throttling by
 * username whatever the address, private_key_jwt in the code flow, the
 * start-up warning about the clients file, what the database holds of
 * codes and refresh tokens, and the Secure cookie on https.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config';
import { OFFLINE_REFRESH_SECONDS, SESSION_SECONDS } from '../../src/security/auth/lifetimes';
import { tokenHash } from '../../src/security/auth/secrets';
import { Sessions } from '../../src/security/auth/sessions';
import { issueToken } from '../../src/security/auth/token-endpoint';
import { makeKey, ORIGIN, signWith } from './auth-kit';
import {
  authorizeUrl,
  Browser,
  CLIENTS,
  decodeJwtPayload,
  exchange,
  pkcePair,
  REDIRECT,
  signInAndApprove,
  startAuthServerWorld,
  tokenRequest,
} from './authorization-kit';

const DAY = 86_400_000;

async function world(t: { teardown(fn: () => unknown): void }, options: Parameters<typeof startAuthServerWorld>[0] = {}) {
  const w = await startAuthServerWorld(options);
  t.teardown(w.h.close);
  return w;
}

t.test('offline_access lasts 30 days from the last use; online_access 12 hours from sign-in; expired tokens are refused', async (t) => {
  const { h, accounts } = await world(t);
  const flow = await signInAndApprove(h, { username: 'alice', parameters: { scope: 'launch/patient offline_access patient/*.rs' } });
  const first = (await exchange(h, flow.code, flow.verifier)).json();
  const issuer = h.auth.tokenIssuer;
  const refreshAt = (token: string, nowMs: number) => issueToken(issuer, [['grant_type', 'refresh_token'], ['refresh_token', token], ['client_id', 'app']], undefined, nowMs);
  const later = Date.now() + 29 * DAY;
  const rotated = await refreshAt(first.refresh_token, later);
  const record = await accounts.findRefreshToken(tokenHash(rotated.refresh_token ?? ''));
  t.equal(record?.expiresAt, later + OFFLINE_REFRESH_SECONDS * 1000, 'used on day 29: the new token lives 30 days from then');
  await t.rejects(refreshAt(rotated.refresh_token ?? '', later + 30 * DAY + 1), { error: 'invalid_grant', message: /expired/ }, 'unused for 30 days: expired');

  const online = await signInAndApprove(h, { username: 'alice', parameters: { scope: 'launch/patient online_access patient/*.rs' } });
  const onlineTokens = (await exchange(h, online.code, online.verifier)).json();
  const onlineRecord = await accounts.findRefreshToken(tokenHash(onlineTokens.refresh_token));
  t.ok(onlineRecord && onlineRecord.expiresAt <= Date.now() + SESSION_SECONDS * 1000, '12 hours from sign-in at most');
  await t.rejects(refreshAt(onlineTokens.refresh_token, (onlineRecord?.expiresAt ?? 0) + 1), { error: 'invalid_grant', message: /expired/ }, 'after 12 hours: expired, used or not');
});

t.test('throttling counts failures per username from any address (TRUST_PROXY)', async (t) => {
  const { h } = await world(t, { authorizationServer: { loginMaxFailures: 3, trustProxy: true } });
  const attempt = async (username: string, password: string, address: string) => {
    const browser = new Browser(h, { 'x-forwarded-for': `198.51.100.1, ${address}` });
    await browser.get(authorizeUrl({ code_challenge: pkcePair().challenge }));
    return browser.post('/auth/login', [['username', username], ['password', password]]);
  };
  for (const address of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) t.equal((await attempt('alice', 'wrong-password', address)).statusCode, 401);
  t.equal((await attempt('alice', 'alice-password', '203.0.113.4')).statusCode, 429, 'alice is locked, from a fourth address too');
  const dana = await attempt('dana', 'dana-password', '203.0.113.4');
  t.equal(dana.statusCode, 200, 'another username from that address signs in: the lock is the username, and the address is the last entry');
  t.equal((await attempt('dana', 'dana-password', '198.51.100.1')).statusCode, 200, 'an address seen only as an earlier, client-supplied X-Forwarded-For entry has no failures');
});

t.test('a confidential-asymmetric client completes the code flow with private_key_jwt', async (t) => {
  const key = await makeKey('ES256');
  const client = { clientId: 'kiosk', type: 'confidential-asymmetric', name: 'Kiosk', jwks: { keys: [key.publicJwk] }, redirectUris: [REDIRECT], scope: 'launch/patient patient/*.rs' };
  const { h } = await world(t, { clients: [...CLIENTS, client] });
  const assertion = (claims: Record<string, unknown> = {}) => signWith(key, { iss: 'kiosk', sub: 'kiosk', aud: `${ORIGIN}/auth/token`, jti: randomUUID(), ...claims });
  const flow = await signInAndApprove(h, { username: 'alice', parameters: { client_id: 'kiosk', scope: 'launch/patient patient/*.rs' } });
  const fields = { grant_type: 'authorization_code', code: flow.code, code_verifier: flow.verifier, redirect_uri: REDIRECT };
  t.equal((await tokenRequest(h, { ...fields, client_id: 'kiosk' })).statusCode, 401, 'without an assertion: invalid_client');
  const other = await makeKey('ES256');
  const forged = await signWith(other, { iss: 'kiosk', sub: 'kiosk', aud: `${ORIGIN}/auth/token`, jti: randomUUID() });
  const forgedAnswer = await tokenRequest(h, { ...fields, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: forged });
  t.equal(forgedAnswer.json().error, 'invalid_client', 'an assertion signed by another key');
  const answer = await tokenRequest(h, { ...fields, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await assertion() });
  t.equal(answer.statusCode, 200, answer.body);
  t.equal(answer.json().patient, 'p1');
});

t.test('the server warns at start when the clients file is readable by others', async (t) => {
  // The harness writes the file with the default umask (0644): readable by others.
  const { h } = await world(t);
  t.ok(
    h.logs.some((line) => line.level === 40 && /readable by group or others/.test(String(line.msg))),
    'one warning line at start',
  );
});

t.test('the database holds only hashes of codes and refresh tokens', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'concord-hashes-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'accounts.db');
  const { h, accounts } = await world(t, { accountsPath: path });
  t.teardown(() => accounts.close());
  const flow = await signInAndApprove(h, { username: 'alice', parameters: { scope: 'launch/patient offline_access patient/*.rs' } });
  const everything = () => {
    const db = new Database(path, { readonly: true });
    try {
      const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all();
      return JSON.stringify(tables.map(({ name }) => db.prepare(`SELECT * FROM "${name}"`).all()));
    } finally {
      db.close();
    }
  };
  const beforeExchange = everything();
  t.notOk(beforeExchange.includes(flow.code), 'the code is not stored');
  t.ok(beforeExchange.includes(tokenHash(flow.code)), 'its hash is');
  const tokens = (await exchange(h, flow.code, flow.verifier)).json();
  const afterExchange = everything();
  t.notOk(afterExchange.includes(tokens.refresh_token), 'the refresh token is not stored');
  t.ok(afterExchange.includes(tokenHash(tokens.refresh_token)), 'its hash is');
  t.notOk(afterExchange.includes('alice-password'), 'nor the password');
});

t.test('the session cookie is Secure when BASE_URL is https', async (t) => {
  const baseUrl = 'https://concord.example/fhir';
  const { h } = await world(t, { baseUrl });
  const browser = new Browser(h);
  const page = await browser.get(authorizeUrl({ code_challenge: pkcePair().challenge, aud: baseUrl }));
  t.equal(page.statusCode, 200, page.body.slice(0, 200));
  const cookie = page.cookies.find((candidate) => candidate.name === 'concord_session');
  t.equal(cookie?.secure, true, 'Secure');
  t.ok(cookie?.httpOnly);
  t.equal(cookie?.sameSite, 'Lax');
});

t.test('introspection: a public client may not ask; a refresh token of a revoked family is inactive', async (t) => {
  const { h } = await world(t);
  const flow = await signInAndApprove(h, { username: 'alice', parameters: { scope: 'launch/patient offline_access patient/*.rs' } });
  const tokens = (await exchange(h, flow.code, flow.verifier)).json();
  const ask = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
    h.request({ method: 'POST', url: '/auth/introspect', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: new URLSearchParams(fields).toString() });
  t.equal((await ask({ token: tokens.access_token, client_id: 'app' })).statusCode, 401, 'a public client is refused');
  const basic = { authorization: `Basic ${Buffer.from('conf:conf-secret-0123456789').toString('base64')}` };
  t.match((await ask({ token: tokens.refresh_token }, basic)).json(), { active: true });
  await h.request({ method: 'POST', url: '/auth/revoke', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ token: tokens.refresh_token, client_id: 'app' }).toString() });
  t.same((await ask({ token: tokens.refresh_token }, basic)).json(), { active: false });
  t.same((await ask({ token: tokens.access_token }, basic)).json(), { active: false }, 'its access token too');
});

t.test('AUTH_ACCESS_TOKEN_SECONDS sets the lifetime of the flow access tokens', async (t) => {
  t.equal(loadConfig({}).auth.authorizationServer?.accessTokenSeconds, 3600, 'one hour by default');
  t.equal(loadConfig({ AUTH_ACCESS_TOKEN_SECONDS: '600' }).auth.authorizationServer?.accessTokenSeconds, 600);
  t.throws(() => loadConfig({ AUTH_ACCESS_TOKEN_SECONDS: 'soon' }), ConfigError);
  const { h } = await world(t, { authorizationServer: { accessTokenSeconds: 600 } });
  const flow = await signInAndApprove(h, { username: 'alice', parameters: { scope: 'openid fhirUser launch/patient patient/*.rs' } });
  const body = (await exchange(h, flow.code, flow.verifier)).json();
  t.equal(body.expires_in, 600);
  const claims = decodeJwtPayload(body.access_token);
  t.equal(Number(claims.exp) - Number(claims.iat), 600, 'the access token expires 600 seconds after issue');
});

t.test('the sign-in session lasts 12 hours', async (t) => {
  const { h } = await world(t);
  const browser = new Browser(h);
  await browser.get(authorizeUrl({ code_challenge: pkcePair().challenge }));
  const signedIn = await browser.post('/auth/login', [['username', 'alice'], ['password', 'alice-password']]);
  t.equal(signedIn.cookies.find((cookie) => cookie.name === 'concord_session')?.maxAge, 12 * 3600, 'the cookie says 12 hours');
  const sessions = new Sessions();
  const start = 1_000_000;
  const session = sessions.signIn(sessions.create(start), 'alice', start);
  t.equal(sessions.get(session.id, start + 12 * 3600 * 1000)?.username, 'alice', 'signed in until the 12th hour');
  t.equal(sessions.get(session.id, start + 12 * 3600 * 1000 + 1), undefined, 'and out after it');
});

t.test("CORS by default: the server's own origin only", async (t) => {
  const { h, operator } = await world(t);
  const own = await h.as(operator, { url: '/fhir/Patient/p1', headers: { origin: ORIGIN } });
  t.equal(own.headers['access-control-allow-origin'], ORIGIN, 'the own origin (the privacy page) is answered');
  const app = await h.as(operator, { url: '/fhir/Patient/p1', headers: { origin: 'http://app.example' } });
  t.notOk(app.headers['access-control-allow-origin'], 'an app origin not in CORS_ORIGINS is not');
  const token = await h.request({ method: 'OPTIONS', url: '/auth/token', headers: { origin: 'http://app.example', 'access-control-request-method': 'POST' } });
  t.notOk(token.headers['access-control-allow-origin'], 'nor its preflight of the token endpoint');
});
