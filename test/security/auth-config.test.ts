import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config';
import { systemContext } from '../../src/context';
import type { AnyResource } from '../../src/fhir/types';
import { createAuth } from '../../src/security/auth/auth-service';
import { mintToken } from '../../src/security/auth/cli-token';
import { principalFromClaims } from '../../src/security/auth/principal';
import { verifyAccessToken } from '../../src/security/auth/verify-token';
import { AUTH_OFF_WARNING, authOffWarning } from '../../src/security/auth-off-warning';
import { startHarness } from '../http/harness';
import { BASE_URL } from './auth-kit';

t.test('AUTH_* variables are validated with a one-line error naming the variable', async (t) => {
  t.equal(loadConfig({}).auth.mode, 'on', 'security is on by default');
  t.equal(loadConfig({ AUTH_MODE: 'off' }).auth.mode, 'off');
  const variableOf = async (run: () => unknown) => {
    try {
      await run();
      return 'no error';
    } catch (error) {
      return error instanceof ConfigError && !error.message.includes('\n') ? error.variable : String(error);
    }
  };
  const fail = async (env: Record<string, string>, variable: string) => t.equal(await variableOf(() => loadConfig(env)), variable, variable);
  await fail({ AUTH_MODE: 'maybe' }, 'AUTH_MODE');
  await fail({ AUTH_MODE: 'off', NODE_ENV: 'production' }, 'AUTH_MODE');
  await fail({ AUTH_TRUSTED_ISSUERS: '/nonexistent/issuers.json' }, 'AUTH_TRUSTED_ISSUERS');
  await fail({ AUTH_CLIENTS_FILE: '/nonexistent/clients.json' }, 'AUTH_CLIENTS_FILE');
  const dir = t.testdir({ 'bad.json': '{"not": "an array"}', 'nokeys.json': JSON.stringify([{ issuer: 'https://idp.example.org' }]) });
  const settings = { mode: 'on' as const, baseUrl: BASE_URL, sqlitePath: join(dir, 'db.sqlite') };
  t.equal(await variableOf(() => createAuth({ ...settings, trustedIssuersFile: join(dir, 'bad.json') })), 'AUTH_TRUSTED_ISSUERS');
  t.equal(await variableOf(() => createAuth({ ...settings, trustedIssuersFile: join(dir, 'nokeys.json') })), 'AUTH_TRUSTED_ISSUERS');
  t.equal(await variableOf(() => createAuth({ ...settings, clientsFile: join(dir, 'bad.json') })), 'AUTH_CLIENTS_FILE');
  writeFileSync(join(dir, 'not-a-key.pem'), 'hello');
  t.equal(await variableOf(() => createAuth({ ...settings, signingKeyFile: join(dir, 'not-a-key.pem') })), 'AUTH_SIGNING_KEY_FILE');
});

t.test('AUTH_MODE=off warns at start, then at most once a minute while requests arrive', async (t) => {
  let clock = 1_000_000;
  const h = await startHarness({ auth: { mode: 'off', now: () => clock } });
  t.teardown(h.close);
  const warnings = () => h.logs.filter((line) => line.level === 40 && /AUTH_MODE=off/.test(String(line.msg))).length;
  t.equal(warnings(), 1, 'at start');
  t.equal((await h.request({ method: 'GET', url: '/fhir/Patient' })).statusCode, 200, 'no token needed');
  await h.request({ method: 'GET', url: '/fhir/Patient' });
  t.equal(warnings(), 1, 'not once per request');
  clock += 59_999;
  await h.request({ method: 'GET', url: '/fhir/Patient' });
  t.equal(warnings(), 1, 'not again within the minute');
  clock += 1;
  await h.request({ method: 'GET', url: '/fhir/Patient' });
  await h.request({ method: 'GET', url: '/fhir/Patient' });
  t.equal(warnings(), 2, 'a reminder once the minute has passed, once');
  clock += 60_000;
  await h.request({ method: 'GET', url: '/fhir/Patient' });
  t.equal(warnings(), 3, 'and again a minute later');
});

t.test('under steady load the AUTH_MODE=off warning is one line a minute', async (t) => {
  const lines: string[] = [];
  let clock = 0;
  const warning = authOffWarning((message) => lines.push(message), { now: () => clock });
  for (let i = 0; i < 10_000; i++) {
    clock += 10; // 100 requests a second for 100 seconds
    warning.remind();
  }
  t.equal(lines.length, 2, 'start, then one reminder after the first minute');
  t.equal(lines[0], AUTH_OFF_WARNING);
});

t.test('purpose_of_use defaults follow the actor; a payer organization is HPAYMT', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  const ctx = systemContext(BASE_URL);
  const payerType = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'pay' }] };
  await h.storage.update(ctx, { resourceType: 'Organization', id: 'payer', type: [payerType] } as AnyResource);
  await h.storage.update(ctx, { resourceType: 'Organization', id: 'clinic', type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov' }] }] } as AnyResource);
  const purposeOf = async (claims: Record<string, unknown>) => {
    const principal = await principalFromClaims({ iss: 'x', scope: 'user/*.rs', ...claims }, h.storage, BASE_URL);
    return principal.kind === 'user' ? principal.purpose : 'operator';
  };
  t.equal(await purposeOf({ fhirUser: 'Patient/p1' }), 'PATRQT');
  t.equal(await purposeOf({ fhirUser: 'RelatedPerson/r1' }), 'FAMRQT');
  t.equal(await purposeOf({ fhirUser: 'Practitioner/d1' }), 'TREAT');
  t.equal(await purposeOf({ fhirUser: 'PractitionerRole/pr1' }), 'TREAT');
  t.equal(await purposeOf({ fhirUser: 'Organization/payer' }), 'HPAYMT');
  t.equal(await purposeOf({ fhirUser: 'Organization/clinic' }), 'TREAT');
  t.equal(await purposeOf({ fhirUser: 'Practitioner/d1', purpose_of_use: 'HRESCH' }), 'HRESCH', 'a stated purpose wins');
  const operator = await principalFromClaims({ iss: 'x', scope: 'system/*.rs', client_id: 'job' }, h.storage, BASE_URL);
  t.match(operator, { kind: 'operator', token: { clientId: 'job' } }, 'system/ scopes without fhirUser: the operator, with its token');
});

t.test('npm run token: a token signed with the key the server uses', async (t) => {
  const dir = t.testdir({});
  const config = { baseUrl: BASE_URL, sqlitePath: join(dir, 'concord.db'), auth: { mode: 'on' as const } };
  const token = await mintToken(['--fhir-user', 'Practitioner/123', '--scope', 'user/*.rs', '--patient', '123', '--purpose', 'TREAT', '--ttl', '60'], config);
  const auth = await createAuth({ ...config.auth, baseUrl: BASE_URL, sqlitePath: config.sqlitePath });
  if (auth.mode !== 'on') throw new Error('auth is on');
  const claims = await verifyAccessToken(auth.verifier, token);
  t.match(claims, { fhirUser: 'Practitioner/123', scope: 'user/*.rs', patient: '123', purpose_of_use: 'TREAT', aud: BASE_URL });
  t.ok((claims.exp as number) - (claims.iat as number) === 60, '--ttl sets the lifetime');
  await t.rejects(mintToken(['--fhir-user', 'Device/1', '--scope', 'user/*.rs'], config), /fhir-user/);
  await t.rejects(mintToken(['--fhir-user', 'Practitioner/1'], config), /--scope/);
});
