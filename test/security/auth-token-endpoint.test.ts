import { randomUUID } from 'node:crypto';
import t from 'tap';
import { BASE_URL, makeKey, ORIGIN, signWith, startSecureHarness, type TestKey } from './auth-kit';

const TOKEN_URL = `${ORIGIN}/auth/token`;
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

async function setup(t: { teardown(fn: () => unknown): void }) {
  const key = await makeKey('ES384');
  const h = await startSecureHarness({
    clients: [{ clientId: 'payer-app', jwks: { keys: [key.publicJwk] }, scope: 'system/Claim.rs system/Coverage.rs', fhirUser: 'Organization/payer-1' }],
  });
  t.teardown(h.close);
  const assertion = (claims: Record<string, unknown> = {}, signer: TestKey = key) =>
    signWith(signer, { iss: 'payer-app', sub: 'payer-app', aud: TOKEN_URL, jti: randomUUID(), ...claims });
  const post = (fields: Record<string, string>) =>
    h.request({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() });
  const form = async (extra: Record<string, string> = {}, claims: Record<string, unknown> = {}) => ({
    grant_type: 'client_credentials',
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: await assertion(claims),
    scope: 'system/Claim.rs',
    ...extra,
  });
  return { h, key, assertion, post, form };
}

t.test('client_credentials with a private_key_jwt assertion issues a token the FHIR API accepts', async (t) => {
  const { h, post, form } = await setup(t);
  const response = await post(await form({ scope: 'system/Claim.rs system/Patient.rs system/Coverage.r' }));
  t.equal(response.statusCode, 200, response.body);
  t.equal(response.headers['cache-control'], 'no-store');
  const body = response.json();
  t.match(body, { token_type: 'bearer', expires_in: 300 });
  t.equal(body.scope, 'system/Claim.rs system/Coverage.r', 'the intersection of requested and allowed scopes (a narrower request is covered)');
  const payload = JSON.parse(Buffer.from(body.access_token.split('.')[1], 'base64url').toString());
  t.match(payload, { iss: ORIGIN, aud: BASE_URL, fhirUser: 'Organization/payer-1', client_id: 'payer-app' });
  t.equal((await h.as(body.access_token, { url: '/fhir/Claim' })).statusCode, 200, 'the token works at /fhir');
  t.equal((await h.as(body.access_token, { url: '/fhir/Patient' })).statusCode, 403, 'and grants no more than it says');
});

t.test('client assertion problems answer 401 invalid_client', async (t) => {
  const { post, form, assertion } = await setup(t);
  const stranger = await makeKey('ES384');
  const now = Math.floor(Date.now() / 1000);
  const cases: Array<[string, Record<string, string>]> = [
    ['unknown client', await form({ client_assertion: await assertion({ iss: 'nobody', sub: 'nobody' }) })],
    ['bad signature', await form({ client_assertion: await assertion({}, { ...stranger, kid: (await makeKey()).kid }) })],
    ['signed by a key the client does not have', await form({ client_assertion: await assertion({}, stranger) })],
    ['wrong aud', await form({}, { aud: `${BASE_URL}/auth/token` })],
    ['iss and sub differ', await form({}, { sub: 'someone-else' })],
    ['exp more than 5 minutes ahead', await form({}, { exp: now + 600 })],
    ['expired', await form({}, { exp: now - 120 })],
    ['no jti', await form({ client_assertion: await signWith(await makeKey(), {}) })],
    ['wrong assertion type', await form({ client_assertion_type: 'urn:other' })],
  ];
  for (const [name, fields] of cases) {
    const response = await post(fields);
    t.equal(response.statusCode, 401, name);
    t.equal(response.json().error, 'invalid_client', name);
  }
  const noExp = await post(await form({ client_assertion: await assertion({ exp: undefined }) }));
  t.equal(noExp.statusCode, 401, 'exp missing');
});

t.test('a jti is never accepted twice', async (t) => {
  const { post, assertion } = await setup(t);
  const once = await assertion();
  const fields = { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: once, scope: 'system/Claim.rs' };
  t.equal((await post(fields)).statusCode, 200, 'first use');
  const again = await post(fields);
  t.equal(again.statusCode, 401, 'replayed');
  t.equal(again.json().error, 'invalid_client');
  const sameJti = await assertion({ jti: JSON.parse(Buffer.from(once.split('.')[1]!, 'base64url').toString()).jti });
  t.equal((await post({ ...fields, client_assertion: sameJti })).statusCode, 401, 'a new assertion reusing the jti');
});

t.test('no allowed scope is 400 invalid_scope; another grant type 400 unsupported_grant_type', async (t) => {
  const { post, form } = await setup(t);
  const scope = await post(await form({ scope: 'system/Patient.rs' }));
  t.equal(scope.statusCode, 400);
  t.equal(scope.json().error, 'invalid_scope');
  const grant = await post(await form({ grant_type: 'password' }));
  t.equal(grant.statusCode, 400);
  t.equal(grant.json().error, 'unsupported_grant_type');
});
