import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { AuthorizationServerConfig } from '../../src/config';
import type { AccessPartSource } from '../../src/security/access-filter';
import type { AccountStore } from '../../src/storage/accounts/port';
import { createAuth, DEFAULT_AUTHORIZATION_SERVER, type AuthOn } from '../../src/security/auth/auth-service';
import { signAccessToken, type AccessTokenClaims } from '../../src/security/auth/token-endpoint';
import { BASE_URL, startHarness, type Harness, type HarnessOptions } from '../http/harness';

export { BASE_URL };
export const ORIGIN = new URL(BASE_URL).origin;

/** A key pair made for one test run; never written to the repository. */
export interface TestKey {
  privateKey: KeyObject;
  publicJwk: JWK;
  kid: string;
  alg: 'RS256' | 'RS384' | 'ES256' | 'ES384';
}

export async function makeKey(alg: TestKey['alg'] = 'ES256', kid: string = randomUUID()): Promise<TestKey> {
  const pair = alg.startsWith('RS')
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: alg === 'ES256' ? 'P-256' : 'P-384' });
  return { privateKey: pair.privateKey, publicJwk: { ...(await exportJWK(pair.publicKey)), kid, alg }, kid, alg };
}

/** A JWT signed with `key`; `exp` 5 minutes ahead unless the payload sets it. */
export async function signWith(key: TestKey, payload: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ exp: now + 300, iat: now, ...payload }).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.privateKey);
}

export interface SecureHarness extends Harness {
  auth: AuthOn;
  dir: string;
  /** A token from the server's own key, as `npm run token` makes them. */
  token(claims: Omit<AccessTokenClaims, 'sub'> & { sub?: string }, ttlSeconds?: number): Promise<string>;
  /** GET/POST... with `Authorization: Bearer token`. */
  as(token: string, options: { method?: string; url: string; payload?: unknown; headers?: Record<string, string> }): ReturnType<Harness['request']>;
}

export interface SecureOptions {
  trustedIssuers?: unknown[];
  clients?: unknown[];
  jwksCooldownMs?: number;
  accessSources?: readonly AccessPartSource[];
  /** A database file in the harness folder (with its access-log thread) instead of ':memory:'. */
  fileDatabase?: boolean;
  claims?: HarnessOptions['claims'];
  /** The authorization server's users and tokens (an empty in-memory store otherwise). */
  accounts?: AccountStore;
  /** Settings of the authorization server (defaults otherwise). */
  authorizationServer?: Partial<AuthorizationServerConfig>;
  /** Another BASE_URL (for a server listening on a real port). */
  baseUrl?: string;
  exports?: HarnessOptions['exports'];
  /** The booking rule's clock and hold settings. */
  scheduling?: HarnessOptions['scheduling'];
}

/** A harness with security on: a fresh signing key in a temporary folder, issuers and clients as given. */
export async function startSecureHarness(options: SecureOptions = {}): Promise<SecureHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'concord-auth-'));
  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(content));
    return path;
  };
  const auth = (await createAuth({
    mode: 'on',
    baseUrl: options.baseUrl ?? BASE_URL,
    sqlitePath: join(dir, 'concord.db'),
    trustedIssuersFile: options.trustedIssuers ? file('issuers.json', options.trustedIssuers) : undefined,
    clientsFile: options.clients ? file('clients.json', options.clients) : undefined,
    jwksCooldownMs: options.jwksCooldownMs,
    ...(options.accounts ? { accounts: options.accounts } : {}),
    authorizationServer: { ...DEFAULT_AUTHORIZATION_SERVER, ...options.authorizationServer },
  })) as AuthOn;
  const harness = await startHarness({ auth, accessSources: options.accessSources, ...(options.claims ? { claims: options.claims } : {}), ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}), ...(options.exports ? { exports: options.exports } : {}), ...(options.scheduling ? { scheduling: options.scheduling } : {}), ...(options.fileDatabase ? { sqlitePath: join(dir, 'concord.db') } : {}) });
  return {
    ...harness,
    auth,
    dir,
    token: (claims, ttl = 300) =>
      signAccessToken(auth.tokenIssuer.signingKey, auth.origin, auth.baseUrl, { sub: claims.fhirUser ?? 'test', ...claims }, ttl),
    as: (token, { method = 'GET', url, payload, headers = {} }) =>
      harness.request({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${token}`, ...(payload !== undefined ? { 'content-type': 'application/fhir+json' } : {}), ...headers },
        ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
      }),
    close: async () => {
      await harness.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
