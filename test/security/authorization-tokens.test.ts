import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError } from '../../src/config';
import { clientsFileWarning, loadClients } from '../../src/security/auth/clients';
import { userAdmin } from '../../src/security/auth/user-admin';
import {
  authorizeUrl,
  Browser,
  CONF_SECRET,
  decodeJwtPayload,
  exchange,
  ORIGIN,
  pkcePair,
  signInAndApprove,
  startAuthServerWorld,
  tokenRequest,
} from './authorization-kit';
import type { SecureHarness } from './auth-kit';

async function world(t: { teardown(fn: () => unknown): void }, options: Parameters<typeof startAuthServerWorld>[0] = {}) {
  const w = await startAuthServerWorld(options);
  t.teardown(w.h.close);
  return w;
}

async function tokensFor(h: SecureHarness, username: 'alice' | 'dana' = 'alice', scope = 'launch/patient offline_access patient/*.rs', client = 'app') {
  const flow = await signInAndApprove(h, { username, parameters: { scope, client_id: client }, patient: 'p1' });
  const extra: Record<string, string> = client === 'conf' ? { client_id: 'conf', client_secret: CONF_SECRET } : {};
  const response = await exchange(h, flow.code, flow.verifier, extra);
  if (response.statusCode !== 200) throw new Error(response.body);
  return response.json() as { access_token: string; refresh_token: string; scope: string; patient: string };
}

const refresh = (h: SecureHarness, token: string, extra: Record<string, string> = {}) =>
  tokenRequest(h, { grant_type: 'refresh_token', refresh_token: token, client_id: 'app', ...extra });

const basic = { authorization: `Basic ${Buffer.from(`conf:${CONF_SECRET}`).toString('base64')}` };
const introspect = (h: SecureHarness, token: string, headers: Record<string, string> = basic) =>
  h.request({ method: 'POST', url: '/auth/introspect', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: new URLSearchParams({ token }).toString() });
const revoke = (h: SecureHarness, token: string) =>
  h.request({ method: 'POST', url: '/auth/revoke', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ token, client_id: 'app' }).toString() });

t.test('refresh: rotation on every use, same fields, reuse revokes the whole family', async (t) => {
  const { h } = await world(t);
  const first = await tokensFor(h);
  const second = await refresh(h, first.refresh_token);
  t.equal(second.statusCode, 200, second.body);
  const body = second.json();
  t.match(body, { token_type: 'bearer', expires_in: 3600, scope: first.scope, patient: 'p1' }, 'the same fields as the first response, patient included');
  t.not(body.refresh_token, first.refresh_token, 'a new refresh token');
  t.equal((await h.as(body.access_token, { url: '/fhir/Patient/p1' })).statusCode, 200);
  t.equal((await h.as(first.access_token, { url: '/fhir/Patient/p1' })).statusCode, 200, 'the first access token, in the cache');
  const third = await refresh(h, body.refresh_token, { scope: 'patient/*.rs' });
  t.equal(third.json().scope, 'patient/*.rs', 'a narrower scope on refresh');
  t.equal((await refresh(h, body.refresh_token, { scope: 'user/*.rs' })).json().error, 'invalid_grant', 'the rotated token is spent');
  const replay = await refresh(h, first.refresh_token);
  t.equal(replay.statusCode, 400);
  t.equal(replay.json().error, 'invalid_grant', 'an old refresh token is refused');
  t.equal((await h.as(first.access_token, { url: '/fhir/Patient/p1' })).statusCode, 401, 'and the family is revoked: access tokens (cache included)');
  t.equal((await h.as(third.json().access_token, { url: '/fhir/Patient/p1' })).statusCode, 401, 'the newest access token too');
  t.equal((await h.as(body.access_token, { url: '/fhir/Patient/p1' })).statusCode, 401);
  const another = await tokensFor(h);
  t.equal((await refresh(h, another.refresh_token, { scope: 'user/*.cruds' })).json().error, 'invalid_scope', 'a refresh cannot widen');
  t.equal((await refresh(h, another.refresh_token, { client_id: 'conf', client_secret: CONF_SECRET })).json().error, 'invalid_grant', "another client's");
});

t.test('parallel refreshes with one token: one claim at most, the others are replays that revoke the family', async (t) => {
  const { h } = await world(t);
  const first = await tokensFor(h);
  const answers = await Promise.all(Array.from({ length: 4 }, () => refresh(h, first.refresh_token)));
  const winners = answers.filter((answer) => answer.statusCode === 200);
  t.ok(winners.length <= 1, 'never two sets of tokens from one refresh token');
  t.ok(answers.filter((answer) => answer.json().error === 'invalid_grant').length >= 3, 'the replays are refused');
  for (const winner of winners) {
    const body = winner.json();
    t.equal((await refresh(h, body.refresh_token)).json().error, 'invalid_grant', "the replays revoked the family, the winner's new token included");
    t.equal((await h.as(body.access_token, { url: '/fhir/Patient/p1' })).statusCode, 401);
  }
  t.equal((await h.as(first.access_token, { url: '/fhir/Patient/p1' })).statusCode, 401, 'the first access token too');
});

t.test('online_access refresh tokens live 12 hours from sign-in; offline_access 30 days from last use', async (t) => {
  const { h, accounts } = await world(t);
  const online = await tokensFor(h, 'alice', 'launch/patient online_access patient/*.rs');
  const offline = await tokensFor(h, 'alice', 'launch/patient offline_access patient/*.rs');
  const { tokenHash } = await import('../../src/security/auth/secrets');
  const onlineRecord = await accounts.findRefreshToken(tokenHash(online.refresh_token));
  const offlineRecord = await accounts.findRefreshToken(tokenHash(offline.refresh_token));
  const hours = (ms: number) => Math.round((ms - Date.now()) / 3_600_000);
  t.equal(hours(onlineRecord?.expiresAt ?? 0), 12);
  t.equal(onlineRecord?.offline, false);
  t.equal(hours(offlineRecord?.expiresAt ?? 0), 30 * 24);
  const rotated = (await refresh(h, online.refresh_token)).json();
  t.equal((await accounts.findRefreshToken(tokenHash(rotated.refresh_token)))?.expiresAt, onlineRecord?.expiresAt, 'rotation never extends an online token');
});

t.test('sign-in throttling per username and per address; failures audited with outcome 4; one answer for every failure', async (t) => {
  const { h, operator } = await world(t, { authorizationServer: { loginMaxFailures: 3, loginLockSeconds: 900 } });
  const attempt = async (username: string, password: string, headers: Record<string, string> = {}) => {
    const browser = new Browser(h, headers);
    await browser.get(authorizeUrl({ code_challenge: pkcePair().challenge }));
    return browser.post('/auth/login', [['username', username], ['password', password]]);
  };
  const wrongPassword = await attempt('alice', 'nope-nope');
  const unknownUser = await attempt('mallory', 'alice-password');
  t.equal(wrongPassword.statusCode, 401);
  t.equal(unknownUser.statusCode, 401);
  const message = (body: string) => /role="alert">([^<]*)</.exec(body)?.[1];
  t.equal(message(wrongPassword.body), message(unknownUser.body), 'the answer never says which part was wrong');
  t.match(wrongPassword.body, /name="username"/, 'the form again');
  await attempt('alice', 'nope-again');
  const locked = await attempt('alice', 'alice-password', { 'x-forwarded-for': '203.0.113.9' });
  t.equal(locked.statusCode, 429, 'after 3 failures the right password is refused too');
  t.notMatch(String(locked.headers.location ?? ''), /code=/);
  // The address has 3 failures too (inject's 127.0.0.1); X-Forwarded-For is not trusted without TRUST_PROXY.
  t.equal((await attempt('dana', 'dana-password', { 'x-forwarded-for': '198.51.100.7' })).statusCode, 429, 'the address is locked for every username');
  await h.app.auditTrail.flush();
  const events = (await h.as(operator, { url: '/fhir/AuditEvent?outcome=4&_count=50' })).json();
  const logins = (events.entry ?? []).filter((entry: { resource: { subtype?: Array<{ code: string }> } }) => entry.resource.subtype?.[0]?.code === '110122');
  t.equal(logins.length, 5, 'every failed sign-in is an AuditEvent with outcome 4');
  t.notOk(JSON.stringify(logins).includes('nope-nope'), 'never the password');
  t.ok(logins.some((entry: { resource: { agent: Array<{ who: { identifier: { value: string } } }> } }) => entry.resource.agent[0]?.who.identifier.value === 'mallory'));
});

t.test('TRUST_PROXY: the address comes from X-Forwarded-For', async (t) => {
  const { h } = await world(t, { authorizationServer: { loginMaxFailures: 2, trustProxy: true } });
  const attempt = async (username: string, password: string, address: string) => {
    const browser = new Browser(h, { 'x-forwarded-for': address });
    await browser.get(authorizeUrl({ code_challenge: pkcePair().challenge }));
    return browser.post('/auth/login', [['username', username], ['password', password]]);
  };
  await attempt('nobody-1', 'x-x-x-x-x', '203.0.113.1');
  await attempt('nobody-2', 'x-x-x-x-x', '203.0.113.1');
  t.equal((await attempt('alice', 'alice-password', '203.0.113.1')).statusCode, 429, 'that address is locked');
  const other = await attempt('alice', 'alice-password', '203.0.113.2');
  t.equal(other.statusCode, 200, 'another address is not');
  t.match(other.body, /action="\/auth\/approve"/, 'signed in: the approval screen');
});

t.test('a disabled user: no sign-in, no refresh; a changed password ends refresh tokens', async (t) => {
  const { h, accounts } = await world(t);
  const alice = await tokensFor(h);
  const dana = await tokensFor(h, 'dana');
  await userAdmin(accounts).disable('alice');
  t.equal((await refresh(h, alice.refresh_token)).json().error, 'invalid_grant', 'refresh refused');
  const browser = new Browser(h);
  await browser.get(authorizeUrl({ code_challenge: pkcePair().challenge }));
  t.equal((await browser.post('/auth/login', [['username', 'alice'], ['password', 'alice-password']])).statusCode, 401, 'sign-in refused');
  await userAdmin(accounts).setPassword('dana', 'a-new-password');
  t.equal((await refresh(h, dana.refresh_token)).json().error, 'invalid_grant');
});

t.test('introspection: active and revoked tokens; only confidential clients ask', async (t) => {
  const { h } = await world(t);
  const tokens = await tokensFor(h);
  const active = await introspect(h, tokens.access_token);
  t.equal(active.statusCode, 200, active.body);
  t.match(active.json(), { active: true, scope: tokens.scope, client_id: 'app', sub: 'alice', fhirUser: 'Patient/p1', patient: 'p1', exp: Number });
  t.match((await introspect(h, tokens.refresh_token)).json(), { active: true, token_type: 'refresh_token', patient: 'p1' });
  t.same((await introspect(h, 'not-a-token')).json(), { active: false });
  t.equal((await introspect(h, tokens.access_token, {})).statusCode, 401, 'no client authentication');
  t.equal((await revoke(h, tokens.access_token)).statusCode, 200);
  t.same((await introspect(h, tokens.access_token)).json(), { active: false }, 'a revoked access token is inactive');
  t.equal((await h.as(tokens.access_token, { url: '/fhir/Patient/p1' })).statusCode, 401, 'and refused at once');
  t.match((await introspect(h, tokens.refresh_token)).json(), { active: true }, 'revoking an access token leaves the refresh token');
});

t.test('revoking a refresh token revokes its family, access tokens included', async (t) => {
  const { h } = await world(t);
  const tokens = await tokensFor(h);
  t.equal((await h.as(tokens.access_token, { url: '/fhir/Patient/p1' })).statusCode, 200, 'cached as verified');
  t.equal((await revoke(h, tokens.refresh_token)).statusCode, 200);
  t.equal((await h.as(tokens.access_token, { url: '/fhir/Patient/p1' })).statusCode, 401);
  t.equal((await refresh(h, tokens.refresh_token)).json().error, 'invalid_grant');
  t.equal((await revoke(h, 'unknown-token')).statusCode, 200, 'unknown tokens: 200 too (RFC 7009 section 2.2)');
});

t.test('revocations survive a restart (kept in the account store)', async (t) => {
  const { h, accounts } = await world(t);
  const tokens = await tokensFor(h);
  await revoke(h, tokens.access_token);
  const { Revocations } = await import('../../src/security/auth/revocations');
  const reloaded = new Revocations(accounts);
  t.equal(await reloaded.isRevoked(decodeJwtPayload(tokens.access_token).jti), true);
});

t.test('discovery: SMART configuration and OpenID configuration', async (t) => {
  const { h } = await world(t);
  const smart = (await h.request({ method: 'GET', url: '/.well-known/smart-configuration' })).json();
  t.match(smart, {
    authorization_endpoint: `${ORIGIN}/auth/authorize`,
    introspection_endpoint: `${ORIGIN}/auth/introspect`,
    revocation_endpoint: `${ORIGIN}/auth/revoke`,
    code_challenge_methods_supported: ['S256'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
  });
  for (const capability of [
    'launch-standalone', 'client-public', 'client-confidential-symmetric', 'client-confidential-asymmetric', 'context-standalone-patient',
    'permission-patient', 'permission-user', 'permission-v2', 'permission-offline', 'sso-openid-connect',
  ]) t.ok(smart.capabilities.includes(capability), capability);
  t.ok(smart.scopes_supported.includes('openid') && smart.scopes_supported.includes('offline_access'));
  const oidc = (await h.request({ method: 'GET', url: '/.well-known/openid-configuration' })).json();
  t.match(oidc, { issuer: ORIGIN, jwks_uri: `${ORIGIN}/auth/jwks.json`, response_types_supported: ['code'], id_token_signing_alg_values_supported: ['RS256'] });
});

t.test('CORS: only CORS_ORIGINS and the own origin; preflights answered without a token', async (t) => {
  const { h, operator } = await world(t, { authorizationServer: { corsOrigins: ['http://app.example'] } });
  const allowed = await h.as(operator, { url: '/fhir/Patient/p1', headers: { origin: 'http://app.example' } });
  t.equal(allowed.headers['access-control-allow-origin'], 'http://app.example');
  t.match(String(allowed.headers['access-control-expose-headers']), /etag/i);
  const other = await h.as(operator, { url: '/fhir/Patient/p1', headers: { origin: 'http://evil.example' } });
  t.notOk(other.headers['access-control-allow-origin'], 'another origin gets no CORS header');
  const unauthenticated = await h.request({ method: 'GET', url: '/fhir/Patient/p1', headers: { origin: 'http://app.example' } });
  t.equal(unauthenticated.statusCode, 401);
  t.equal(unauthenticated.headers['access-control-allow-origin'], 'http://app.example', 'a 401 is readable by the app');
  const preflight = await h.request({
    method: 'OPTIONS',
    url: '/auth/token',
    headers: { origin: 'http://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  t.equal(preflight.statusCode, 204);
  t.equal(preflight.headers['access-control-allow-origin'], 'http://app.example');
  t.notOk(preflight.headers['access-control-allow-credentials'], 'no credentials: bearer tokens only');
});

t.test('AUTH_CLIENTS_FILE: types, required fields, a warning when others can read it', async (t) => {
  const dir = t.testdir({});
  const write = (entries: unknown[], mode = 0o600) => {
    const path = join(dir, `clients-${Math.random()}.json`);
    writeFileSync(path, JSON.stringify(entries));
    chmodSync(path, mode);
    return path;
  };
  const fails = (entries: unknown[], pattern: RegExp) => t.throws(() => loadClients(write(entries)), pattern);
  fails([{ clientId: 'a', type: 'public', scope: 'x' }], /needs redirectUris/);
  fails([{ clientId: 'a', type: 'confidential-symmetric', scope: 'x', redirectUris: ['http://a/cb'] }], /secret/);
  fails([{ clientId: 'a', type: 'public', scope: 'x', redirectUris: ['http://a/cb'], secret: '0123456789abcdef' }], /only a confidential-symmetric/);
  fails([{ clientId: 'a', type: 'other', scope: 'x' }], /type must be/);
  fails([{ clientId: 'a', type: 'public', scope: 'x', redirectUris: ['/relative'] }], /absolute URL/);
  fails([{ clientId: 'a', type: 'public', scope: 'x', redirectUris: ['http://a/cb#f'] }], /fragment/);
  t.throws(() => loadClients(write([{ clientId: 'a', type: 'public', scope: 'x', redirectUris: 'http://a/cb' }])), ConfigError);
  const clients = loadClients(write([{ clientId: 'a', type: 'public', name: 'App A', scope: 'patient/*.rs', redirectUris: ['http://a/cb'] }]));
  t.match(clients.get('a'), { type: 'public', name: 'App A', redirectUris: ['http://a/cb'], allowedScopes: ['patient/*.rs'] });
  const legacy = loadClients(write([{ clientId: 'b', scope: 'system/*.rs', jwks: { keys: [] } }]));
  t.equal(legacy.get('b')?.type, 'confidential-asymmetric', 'an entry without type is a Backend Services client, as before');
  t.match(clientsFileWarning(write([], 0o644)), /readable by group or others/);
  t.equal(clientsFileWarning(write([], 0o600)), undefined);
});

t.test('a public client may refresh without naming itself; a confidential one must authenticate', async (t) => {
  const { h } = await world(t);
  const mine = await tokensFor(h);
  const anonymous = await tokenRequest(h, { grant_type: 'refresh_token', refresh_token: mine.refresh_token });
  t.equal(anonymous.statusCode, 200, 'public: the client the token was issued to');
  const theirs = await tokensFor(h, 'alice', 'launch/patient offline_access patient/*.rs', 'conf');
  const unauthenticated = await tokenRequest(h, { grant_type: 'refresh_token', refresh_token: theirs.refresh_token });
  t.equal(unauthenticated.statusCode, 401);
  t.equal(unauthenticated.json().error, 'invalid_client');
  t.equal((await refresh(h, theirs.refresh_token, { client_id: 'conf', client_secret: CONF_SECRET })).statusCode, 200);
});
