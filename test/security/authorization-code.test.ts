import { createLocalJWKSet, jwtVerify } from 'jose';
import t from 'tap';
import { AuthorizationCodes } from '../../src/security/auth/authorization-codes';
import { openSqliteAccountStore } from '../../src/storage/accounts/sqlite';
import {
  authorizeUrl,
  BASE_URL,
  Browser,
  decodeJwtPayload,
  exchange,
  ORIGIN,
  pkcePair,
  REDIRECT,
  redirectParameters,
  signInAndApprove,
  startAuthServerWorld,
  tokenRequest,
  CONF_SECRET,
} from './authorization-kit';

async function world(t: { teardown(fn: () => unknown): void }) {
  const w = await startAuthServerWorld();
  t.teardown(w.h.close);
  return w;
}

t.test('a patient completes the flow: the token response, the ID token and the access token at /fhir', async (t) => {
  const { h } = await world(t);
  const { code, verifier, final } = await signInAndApprove(h, {
    username: 'alice',
    parameters: { nonce: 'n-1', scope: 'openid fhirUser launch/patient offline_access online_access patient/*.rs' },
  });
  t.equal(redirectParameters(final).get('state'), 'state-1', 'state comes back');
  t.ok(String(final.headers.location).startsWith(`${REDIRECT}?`), 'to the registered redirect URI');
  const response = await exchange(h, code, verifier);
  t.equal(response.statusCode, 200, response.body);
  t.equal(response.headers['cache-control'], 'no-store');
  const body = response.json();
  t.match(body, { token_type: 'bearer', expires_in: 3600, patient: 'p1', scope: 'openid fhirUser launch/patient offline_access online_access patient/*.rs' });
  t.type(body.refresh_token, 'string');
  const access = decodeJwtPayload(body.access_token);
  t.match(access, { iss: ORIGIN, aud: BASE_URL, sub: 'alice', fhirUser: 'Patient/p1', patient: 'p1', client_id: 'app' });
  const jwks = createLocalJWKSet((await h.request({ method: 'GET', url: '/auth/jwks.json' })).json());
  const { payload: id } = await jwtVerify(body.id_token, jwks, { issuer: ORIGIN, audience: 'app' });
  t.match(id, { sub: 'alice', fhirUser: `${BASE_URL}/Patient/p1`, nonce: 'n-1' }, 'a signed OIDC ID token: aud = client, fhirUser, nonce');
  t.equal((await h.as(body.access_token, { url: '/fhir/Patient/p1' })).statusCode, 200, 'the patient reads their record');
  t.equal((await h.as(body.access_token, { url: '/fhir/Patient/p2' })).statusCode, 404, 'and no other patient');
});

t.test('the approval screen: plain words, fewer scopes granted, remembered per user and client, deny', async (t) => {
  const { h } = await world(t);
  const browser = new Browser(h);
  const { challenge } = pkcePair();
  await browser.get(authorizeUrl({ code_challenge: challenge }));
  const approval = await browser.post('/auth/login', [['username', 'alice'], ['password', 'alice-password']]);
  t.match(approval.body, /<input type="checkbox" id="scope-\d+" name="scope" value="patient\/\*\.rs" checked><label for="scope-\d+">Read your whole record<\/label>/);
  t.match(approval.body, /<button type="submit" name="decision" value="allow">Allow<\/button>/);
  t.match(approval.body, />Deny<\/button>/);
  t.equal(approval.headers['x-frame-options'], 'DENY');
  t.match(String(approval.headers['content-security-policy']), /frame-ancestors 'none'/);
  t.match(String(approval.headers['content-security-policy']), /form-action 'self' http:\/\/app\.example/);
  const narrower = await browser.post('/auth/approve', [['scope', 'launch/patient'], ['scope', 'patient/*.rs'], ['decision', 'allow']]);
  const code = redirectParameters(narrower).get('code') ?? '';
  t.ok(code, 'a code for the narrower grant');
  // The verifier of this flow's challenge is lost here on purpose; the next flow shows the granted scope.
  const second = await signInAndApprove(h, { username: 'alice', browser, parameters: { scope: 'launch/patient patient/*.rs' } });
  t.notMatch(second.browser.last?.body ?? '', /action="\/auth\/approve"/, 'approved before: no approval screen, no sign-in (session)');
  const token = (await exchange(h, second.code, second.verifier)).json();
  t.equal(token.scope, 'launch/patient patient/*.rs', 'the token response says which scopes were granted');
  t.notOk(token.refresh_token, 'no refresh token without offline_access or online_access');
  t.notOk(token.id_token, 'no ID token without openid');

  const denier = new Browser(h);
  await denier.get(authorizeUrl({ code_challenge: challenge, state: 'abc' }));
  await denier.post('/auth/login', [['username', 'alice'], ['password', 'alice-password']]);
  const denied = await denier.post('/auth/approve', [['scope', 'openid'], ['decision', 'deny']]);
  t.equal(denied.statusCode, 302);
  t.equal(redirectParameters(denied).get('error'), 'access_denied');
  t.equal(redirectParameters(denied).get('state'), 'abc');
});

t.test('authorize errors: unknown client or redirect is a page, never a redirect; other errors redirect with state', async (t) => {
  const { h } = await world(t);
  const { challenge } = pkcePair();
  for (const [name, parameters] of [
    ['unknown client', { client_id: 'nobody' }],
    ['unregistered redirect URI', { redirect_uri: 'http://evil.example/cb' }],
    ['redirect URI differing by a path', { redirect_uri: `${REDIRECT}/x` }],
  ] as const) {
    const response = await h.request({ method: 'GET', url: authorizeUrl({ code_challenge: challenge, ...parameters }) });
    t.equal(response.statusCode, 400, name);
    t.notOk(response.headers.location, `${name}: no redirect`);
    t.match(response.headers['content-type'], /text\/html/);
  }
  for (const [name, parameters, error] of [
    ['plain PKCE', { code_challenge_method: 'plain', code_challenge: challenge }, 'invalid_request'],
    ['no PKCE', { code_challenge_method: undefined, code_challenge: undefined }, 'invalid_request'],
    ['a short challenge', { code_challenge: 'short' }, 'invalid_request'],
    ['aud of another server', { code_challenge: challenge, aud: 'http://other.example/fhir' }, 'invalid_request'],
    ['response_type token', { code_challenge: challenge, response_type: 'token' }, 'unsupported_response_type'],
    ['no allowed scope', { code_challenge: challenge, scope: 'system/*.cruds' }, 'invalid_scope'],
  ] as const) {
    const response = await h.request({ method: 'GET', url: authorizeUrl(parameters) });
    t.equal(response.statusCode, 302, name);
    const query = redirectParameters(response);
    t.equal(query.get('error'), error, name);
    t.equal(query.get('state'), 'state-1', `${name}: state`);
    t.notOk(query.get('code'), `${name}: no code`);
  }
});

t.test('the code exchange: PKCE, redirect URI, client, single use with revocation, expiry', async (t) => {
  const { h } = await world(t);
  const first = await signInAndApprove(h, { username: 'alice' });
  const wrongVerifier = await exchange(h, first.code, pkcePair().verifier);
  t.equal(wrongVerifier.statusCode, 400);
  t.equal(wrongVerifier.json().error, 'invalid_grant', 'PKCE mismatch');
  const second = await signInAndApprove(h, { username: 'alice' });
  t.equal((await exchange(h, second.code, second.verifier, { redirect_uri: `${REDIRECT}?x=1` })).json().error, 'invalid_grant', 'redirect URI mismatch');
  const third = await signInAndApprove(h, { username: 'alice' });
  t.equal((await exchange(h, third.code, third.verifier, { client_id: 'conf', client_secret: CONF_SECRET })).json().error, 'invalid_grant', 'another client');
  const fourth = await signInAndApprove(h, { username: 'alice' });
  const issued = await exchange(h, fourth.code, fourth.verifier);
  t.equal(issued.statusCode, 200);
  const { access_token: access, refresh_token: refresh } = issued.json();
  t.equal((await h.as(access, { url: '/fhir/Patient/p1' })).statusCode, 200, 'in use (and in the verified-token cache)');
  const reused = await exchange(h, fourth.code, fourth.verifier);
  t.equal(reused.statusCode, 400);
  t.equal(reused.json().error, 'invalid_grant', 'a code works once');
  const afterReuse = await h.as(access, { url: '/fhir/Patient/p1' });
  t.equal(afterReuse.statusCode, 401, 'the reuse revoked the access token issued from the code, cache included');
  t.match(afterReuse.json().issue[0].diagnostics, /revoked/);
  t.equal((await tokenRequest(h, { grant_type: 'refresh_token', refresh_token: refresh, client_id: 'app' })).json().error, 'invalid_grant', 'and its refresh token');

  const codes = new AuthorizationCodes(openSqliteAccountStore(':memory:'));
  const grant = { clientId: 'app', redirectUri: REDIRECT, codeChallenge: 'c', scope: 's', username: 'u', fhirUser: 'Patient/p1', authTime: 0 };
  const code = await codes.issue(grant, 1_000);
  t.equal((await codes.redeem(code, 'f', 1_000 + 60_001)).outcome, 'invalid', 'a code is dead after 60 seconds');
  const fresh = await codes.issue(grant, 1_000);
  t.same(await codes.redeem(fresh, 'f', 1_000 + 60_000), { outcome: 'ok', grant }, 'and alive until then');
});

t.test('a confidential-symmetric client authenticates with its secret', async (t) => {
  const { h } = await world(t);
  const flow = await signInAndApprove(h, { username: 'alice', parameters: { client_id: 'conf' } });
  const fields = { grant_type: 'authorization_code', code: flow.code, code_verifier: flow.verifier, redirect_uri: REDIRECT };
  const noSecret = await tokenRequest(h, { ...fields, client_id: 'conf' });
  t.equal(noSecret.statusCode, 401);
  t.equal(noSecret.json().error, 'invalid_client', 'a confidential client cannot act as a public one');
  const wrong = await tokenRequest(h, fields, { authorization: `Basic ${Buffer.from('conf:wrong-secret').toString('base64')}` });
  t.equal(wrong.statusCode, 401);
  t.equal(wrong.headers['www-authenticate'], 'Basic realm="concord"');
  const basic = await tokenRequest(h, fields, { authorization: `Basic ${Buffer.from(`conf:${CONF_SECRET}`).toString('base64')}` });
  t.equal(basic.statusCode, 200, basic.body);
  t.equal(decodeJwtPayload(basic.json().access_token).client_id, 'conf');
  t.notOk(JSON.stringify([...h.auth.tokenIssuer.clients.values()]).includes(CONF_SECRET), 'only a hash of the secret is kept');
});

t.test('the patient picker for a RelatedPerson of two patients', async (t) => {
  const { h } = await world(t);
  const browser = new Browser(h);
  const { verifier, challenge } = pkcePair();
  await browser.get(authorizeUrl({ code_challenge: challenge }));
  await browser.post('/auth/login', [['username', 'dana'], ['password', 'dana-password']]);
  const picker = await browser.post('/auth/approve', [['scope', 'launch/patient'], ['scope', 'patient/*.rs'], ['scope', 'openid'], ['scope', 'fhirUser'], ['decision', 'allow']]);
  t.match(picker.body, /<input type="radio" id="patient-0" name="patient" value="p1"[^>]*><label for="patient-0">Alice Moreau<\/label>/);
  t.match(picker.body, /<input type="radio" id="patient-1" name="patient" value="p2"[^>]*><label for="patient-1">Bruno Moreau<\/label>/);
  t.match(picker.body, /<button type="submit">Continue<\/button>/);
  const hidden: Array<[string, string]> = [['csrf', browser.field('csrf') ?? ''], ['request', browser.field('request') ?? '']];
  const stranger = await browser.post('/auth/pick', [...hidden, ['patient', 'p9']]);
  t.equal(stranger.statusCode, 400, 'only a listed patient');
  const chosen = await browser.post('/auth/pick', [...hidden, ['patient', 'p2']]);
  const token = (await exchange(h, redirectParameters(chosen).get('code') ?? '', verifier)).json();
  t.equal(token.patient, 'p2');
  t.equal(decodeJwtPayload(token.access_token).fhirUser, 'RelatedPerson/r2', 'the RelatedPerson of the chosen patient');
  t.equal(decodeJwtPayload(token.id_token).fhirUser, `${BASE_URL}/RelatedPerson/r2`);
});

t.test('forms: CSRF token required, session cookie flags, a new session id on sign-in', async (t) => {
  const { h } = await world(t);
  const browser = new Browser(h);
  const first = await browser.get(authorizeUrl({ code_challenge: pkcePair().challenge }));
  const cookie = first.cookies.find((candidate) => candidate.name === 'concord_session');
  t.ok(cookie?.httpOnly, 'HttpOnly');
  t.equal(cookie?.sameSite, 'Lax');
  t.notOk(cookie?.secure, 'not Secure on an http BASE_URL');
  t.equal(cookie?.path, '/auth');
  t.match(first.body, /<label for="username">Username<\/label><input id="username" name="username"/);
  t.match(first.body, /<label for="password">Password<\/label><input id="password" name="password" type="password"/);
  t.match(first.body, /<button type="submit">Sign in<\/button>/);
  t.equal(first.headers['x-frame-options'], 'DENY');
  t.match(String(first.headers['content-security-policy']), /default-src 'none'/);
  const forged = await browser.post('/auth/login', [['csrf', 'guessed'], ['username', 'alice'], ['password', 'alice-password']]);
  t.equal(forged.statusCode, 403, 'a wrong CSRF token is refused');
  const noCookie = await h.request({
    method: 'POST',
    url: '/auth/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ csrf: browser.field('csrf') ?? '', request: browser.field('request') ?? '', username: 'alice', password: 'alice-password' }).toString(),
  });
  t.equal(noCookie.statusCode, 403, 'the CSRF token without its session cookie is refused');
  await browser.get(authorizeUrl({ code_challenge: pkcePair().challenge }));
  const signedIn = await browser.post('/auth/login', [['username', 'alice'], ['password', 'alice-password']]);
  const renewed = signedIn.cookies.find((candidate) => candidate.name === 'concord_session');
  t.ok(renewed && renewed.value !== cookie?.value, 'sign-in issues a new session id (no fixation)');
});

t.test('sign-out ends the sign-in session: the next authorization asks for the password again', async (t) => {
  const { h } = await world(t);
  const { browser } = await signInAndApprove(h, { username: 'alice' });
  const stillSignedIn = await browser.get(authorizeUrl({ code_challenge: pkcePair().challenge }));
  t.notMatch(stillSignedIn.body, /action="\/auth\/login"/, 'before: the session signs alice in without a password');
  const out = await browser.post('/auth/logout', []);
  t.equal(out.statusCode, 204, out.body);
  t.equal(out.headers['cache-control'], 'no-store');
  const cleared = out.cookies.find((cookie) => cookie.name === 'concord_session');
  t.equal(cleared?.value, '', 'the cookie is cleared');
  t.equal(cleared?.path, '/auth');
  const after = await browser.get(authorizeUrl({ code_challenge: pkcePair().challenge }));
  t.match(after.body, /action="\/auth\/login"/, 'after: the sign-in form');
  t.equal((await browser.post('/auth/logout', [])).statusCode, 204, 'signing out again, or without a session, is harmless');

  // Another site's page cannot sign the user out: its Origin is refused and the session lives on.
  const elsewhere = new Browser(h, { origin: 'https://other.example' });
  await signInAndApprove(h, { username: 'alice', browser: elsewhere });
  const forged = await elsewhere.post('/auth/logout', []);
  t.equal(forged.statusCode, 403);
  const kept = await elsewhere.get(authorizeUrl({ code_challenge: pkcePair().challenge }));
  t.notMatch(kept.body, /action="\/auth\/login"/, 'the session was not ended');
  const own = new Browser(h, { origin: ORIGIN });
  await signInAndApprove(h, { username: 'alice', browser: own });
  t.equal((await own.post('/auth/logout', [])).statusCode, 204, "this server's own Origin is accepted");
});
