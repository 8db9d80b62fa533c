import { createHmac } from 'node:crypto';
import { statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SignJWT, UnsecuredJWT } from 'jose';
import t from 'tap';
import { createAuth } from '../../src/security/auth/auth-service';
import { loadSigningKey } from '../../src/security/auth/signing-key';
import { BASE_URL, makeKey, ORIGIN, signWith, startSecureHarness } from './auth-kit';

const OPERATOR_SCOPES = 'system/*.cruds';

t.test('requests without a usable token answer 401 with a Bearer challenge and an OperationOutcome', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  const missing = await h.request({ method: 'GET', url: '/fhir/Patient' });
  t.equal(missing.statusCode, 401, 'no Authorization header');
  t.equal(missing.headers['www-authenticate'], 'Bearer realm="concord"');
  t.match(missing.json(), { resourceType: 'OperationOutcome', issue: [{ code: 'login' }] });
  t.ok(missing.headers['x-request-id'], 'the 401 carries the request id');

  const unknownPath = await h.request({ method: 'GET', url: '/fhir/Patient/1/nothing/here' });
  t.equal(unknownPath.statusCode, 401, 'an unknown path is not revealed without a token');

  const notBearer = await h.request({ method: 'GET', url: '/fhir/Patient', headers: { authorization: 'Basic dXNlcjpwYXNz' } });
  t.equal(notBearer.statusCode, 401, 'Basic is not accepted');
  t.match(notBearer.headers['www-authenticate'], /error="invalid_token"/);

  const garbage = await h.as('not.a.jwt', { url: '/fhir/Patient' });
  t.equal(garbage.statusCode, 401, 'a malformed token');
  t.match(garbage.json(), { issue: [{ code: 'login', diagnostics: /well-formed/ }] });
});

t.test('exp, nbf, aud and the signature are checked', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  const good = await h.token({ scope: OPERATOR_SCOPES });
  t.equal((await h.as(good, { url: '/fhir/Patient' })).statusCode, 200, 'a valid server token is accepted');

  const key = h.auth.tokenIssuer.signingKey;
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT({ scope: OPERATOR_SCOPES, ...claims }).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey);
  const now = Math.floor(Date.now() / 1000);
  const cases: Array<[string, string, RegExp]> = [
    ['expired', await sign({ iss: ORIGIN, aud: BASE_URL, exp: now - 120 }), /expired/],
    ['without exp', await sign({ iss: ORIGIN, aud: BASE_URL }), /exp/],
    ['not yet valid', await sign({ iss: ORIGIN, aud: BASE_URL, exp: now + 600, nbf: now + 300 }), /not valid yet/],
    ['wrong audience', await sign({ iss: ORIGIN, aud: 'https://other.example.org/fhir', exp: now + 300 }), /aud/],
    ['unknown issuer', await sign({ iss: 'https://idp.unknown.example', aud: BASE_URL, exp: now + 300 }), /trusted issuer/],
  ];
  for (const [name, token, diagnostics] of cases) {
    const response = await h.as(token, { url: '/fhir/Patient' });
    t.equal(response.statusCode, 401, name);
    t.match(response.json(), { issue: [{ code: 'login', diagnostics }] }, `${name}: says why`);
  }

  const impostor = await makeKey('RS256', key.kid);
  const forged = await signWith(impostor, { iss: ORIGIN, aud: BASE_URL, scope: OPERATOR_SCOPES });
  t.equal((await h.as(forged, { url: '/fhir/Patient' })).statusCode, 401, 'a token signed by another key with the same kid');
});

t.test('alg none and HMAC with the public key are refused', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  const claims = { iss: ORIGIN, aud: BASE_URL, scope: OPERATOR_SCOPES, exp: Math.floor(Date.now() / 1000) + 300 };
  const none = new UnsecuredJWT(claims).encode();
  t.equal((await h.as(none, { url: '/fhir/Patient' })).statusCode, 401, 'alg none');

  // The classic confusion attack: HS256 keyed with the server's published public key.
  const publicKeyText = JSON.stringify(h.auth.tokenIssuer.signingKey.publicJwk);
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', kid: h.auth.tokenIssuer.signingKey.kid })}.${encode(claims)}`;
  const hmac = `${unsigned}.${createHmac('sha256', publicKeyText).update(unsigned).digest('base64url')}`;
  const response = await h.as(hmac, { url: '/fhir/Patient' });
  t.equal(response.statusCode, 401, 'HS256');
  t.match(response.json(), { issue: [{ diagnostics: /RS256, RS384, ES256, ES384/ }] });
});

t.test('external issuers from AUTH_TRUSTED_ISSUERS: jwksFile, kid selects the key', async (t) => {
  const first = await makeKey('ES384');
  const second = await makeKey('RS384');
  const jwksFile = join(t.testdir({ 'idp-jwks.json': JSON.stringify({ keys: [first.publicJwk, second.publicJwk] }) }), 'idp-jwks.json');
  const h = await startSecureHarness({ trustedIssuers: [{ issuer: 'https://idp.example.org', jwksFile }] });
  t.teardown(h.close);
  for (const key of [first, second]) {
    const token = await signWith(key, { iss: 'https://idp.example.org', aud: BASE_URL, scope: OPERATOR_SCOPES });
    t.equal((await h.as(token, { url: '/fhir/Patient' })).statusCode, 200, `${key.alg} key chosen by its kid`);
  }
  const unknownKid = await signWith(first, { iss: 'https://idp.example.org', aud: BASE_URL, scope: OPERATOR_SCOPES }, { kid: 'nope' });
  t.equal((await h.as(unknownKid, { url: '/fhir/Patient' })).statusCode, 401, 'a kid the issuer does not have');
  const otherIssuer = await signWith(first, { iss: 'https://idp.other.org', aud: BASE_URL, scope: OPERATOR_SCOPES });
  t.equal((await h.as(otherIssuer, { url: '/fhir/Patient' })).statusCode, 401, 'the right key under an issuer that is not listed');
});

t.test('jwksUri: fetched once, refetched on an unknown kid (rotation), at most once per cooldown', async (t) => {
  const oldKey = await makeKey('ES256');
  const newKey = await makeKey('ES256');
  let published = [oldKey.publicJwk];
  let fetches = 0;
  const idp = createServer((_request, response) => {
    fetches += 1;
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  t.teardown(() => idp.close());
  const jwksUri = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks`;
  const h = await startSecureHarness({ trustedIssuers: [{ issuer: 'https://idp.example.org', jwksUri }], jwksCooldownMs: 300 });
  t.teardown(h.close);
  const tokenBy = (key: typeof oldKey) => signWith(key, { iss: 'https://idp.example.org', aud: BASE_URL, scope: OPERATOR_SCOPES });

  t.equal((await h.as(await tokenBy(oldKey), { url: '/fhir/Patient' })).statusCode, 200);
  t.equal((await h.as(await tokenBy(oldKey), { url: '/fhir/Patient' })).statusCode, 200);
  t.equal(fetches, 1, 'the key set is cached');

  published = [oldKey.publicJwk, newKey.publicJwk];
  t.equal((await h.as(await tokenBy(newKey), { url: '/fhir/Patient' })).statusCode, 401, 'within the cooldown an unknown kid does not refetch');
  t.equal(fetches, 1, 'no fetch during the cooldown');
  await new Promise((resolve) => setTimeout(resolve, 350));
  t.equal((await h.as(await tokenBy(newKey), { url: '/fhir/Patient' })).statusCode, 200, 'after the cooldown the rotated key is fetched');
  t.equal(fetches, 2);
});

t.test('public endpoints: metadata, discovery (at the origin and under /fhir) and the key set', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  t.equal((await h.request({ method: 'GET', url: '/fhir/metadata' })).statusCode, 200);
  for (const url of ['/.well-known/smart-configuration', '/fhir/.well-known/smart-configuration']) {
    const response = await h.request({ method: 'GET', url });
    t.equal(response.statusCode, 200, url);
    t.match(response.json(), {
      issuer: ORIGIN,
      jwks_uri: `${ORIGIN}/auth/jwks.json`,
      token_endpoint: `${ORIGIN}/auth/token`,
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic', 'client_secret_post', 'none'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256', 'RS384', 'ES256', 'ES384'],
      scopes_supported: Array,
    });
    const capabilities = response.json().capabilities as string[];
    for (const capability of ['permission-v1', 'permission-v2', 'client-confidential-asymmetric', 'context-ehr-patient']) {
      t.ok(capabilities.includes(capability), `${url} has ${capability}`);
    }
  }
  const jwks = (await h.request({ method: 'GET', url: '/auth/jwks.json' })).json();
  t.equal(jwks.keys.length, 1);
  t.equal(jwks.keys[0].kid, h.auth.tokenIssuer.signingKey.kid);
  t.notOk('d' in jwks.keys[0], 'only the public half is published');
});

t.test('claims: patient/ scopes need a patient, user/ scopes a fhirUser, purpose_of_use is one code', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  const noPatient = await h.token({ scope: 'patient/*.rs', fhirUser: 'Patient/p1' });
  t.equal((await h.as(noPatient, { url: '/fhir/Observation' })).statusCode, 401, 'patient/ scope without patient claim');
  const noUser = await h.token({ scope: 'user/*.rs' });
  t.equal((await h.as(noUser, { url: '/fhir/Observation' })).statusCode, 401, 'user/ scope without fhirUser');
  const badUser = await h.token({ scope: 'user/*.rs', fhirUser: 'Device/d1' });
  t.equal((await h.as(badUser, { url: '/fhir/Observation' })).statusCode, 401, 'fhirUser of a type that cannot act');
  const badPurpose = await h.token({ scope: 'user/*.rs', fhirUser: 'Practitioner/d1', purpose_of_use: 'treat me' });
  t.equal((await h.as(badPurpose, { url: '/fhir/Observation' })).statusCode, 401, 'purpose_of_use that is not a code');
  const absolute = await h.token({ scope: 'user/*.rs', fhirUser: 'https://ehr.example.org/fhir/Practitioner/d1' });
  t.equal((await h.as(absolute, { url: '/fhir/Observation' })).statusCode, 200, 'an absolute fhirUser');
});

t.test('the server signing key: generated owner-only on first start, reused afterwards', async (t) => {
  const dir = t.testdir({});
  const settings = { mode: 'on' as const, baseUrl: BASE_URL, sqlitePath: join(dir, 'db', 'concord.db') };
  const first = await createAuth(settings);
  const path = join(dir, 'db', 'concord-signing-key.pem');
  t.equal(statSync(path).mode & 0o777, 0o600, 'the key file is readable by its owner only');
  const second = await createAuth(settings);
  t.ok(first.mode === 'on' && second.mode === 'on');
  if (first.mode === 'on' && second.mode === 'on') t.equal(second.tokenIssuer.signingKey.kid, first.tokenIssuer.signingKey.kid, 'the same key on the next start');
  const explicit = await loadSigningKey(path);
  t.equal(explicit.kid, first.mode === 'on' ? first.tokenIssuer.signingKey.kid : '', 'AUTH_SIGNING_KEY_FILE can name it');
});
