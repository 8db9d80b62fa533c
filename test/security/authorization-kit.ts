import { createHash, randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { AccessPartSource } from '../../src/security/access-filter';
import { userAdmin } from '../../src/security/auth/user-admin';
import { consentAccessSource } from '../../src/security/consent/consent-source';
import type { AccountStore } from '../../src/storage/accounts/port';
import { openSqliteAccountStore } from '../../src/storage/accounts/sqlite';
import { BASE_URL, ORIGIN, startSecureHarness, type SecureHarness, type SecureOptions } from './auth-kit';

export { BASE_URL, ORIGIN };
export const REDIRECT = 'http://app.example/callback';
export const APP_SCOPES = 'openid fhirUser launch/patient offline_access online_access patient/*.rs user/*.rs';
export const CONF_SECRET = 'conf-secret-0123456789';

export const CLIENTS = [
  { clientId: 'app', type: 'public', name: 'Health Diary', redirectUris: [REDIRECT], scope: APP_SCOPES },
  { clientId: 'conf', type: 'confidential-symmetric', name: 'Clinic Portal', secret: CONF_SECRET, redirectUris: [REDIRECT], scope: APP_SCOPES },
];

export const PASSWORDS = { alice: 'alice-password', dana: 'dana-password', paul: 'paul-password' };

export interface AuthServerWorld {
  h: SecureHarness;
  accounts: AccountStore;
  operator: string;
}

/**
 * A secure server with users (alice: Patient/p1; dana: RelatedPerson r1 of
 * p1 and r2 of p2; paul: a Practitioner), the two patients and dana's
 * RelatedPersons, and the clients above. `consent`: the consent layer on,
 * as the server runs it (src/main.ts); otherwise the scopes alone decide.
 * `accountsPath`: the users and tokens in that SQLite file instead of memory.
 */
export async function startAuthServerWorld(options: SecureOptions & { consent?: boolean; accountsPath?: string } = {}): Promise<AuthServerWorld> {
  const { consent, accountsPath, ...secure } = options;
  const accounts = openSqliteAccountStore(accountsPath ?? ':memory:');
  const admin = userAdmin(accounts);
  await admin.add('alice', ['Patient/p1'], PASSWORDS.alice);
  await admin.add('dana', ['RelatedPerson/r1', 'RelatedPerson/r2'], PASSWORDS.dana);
  await admin.add('paul', ['Practitioner/d1'], PASSWORDS.paul);
  let source: AccessPartSource | undefined;
  const accessSources = consent ? [...(secure.accessSources ?? []), (request: Parameters<AccessPartSource>[0]) => source?.(request)] : secure.accessSources;
  const h = await startSecureHarness({ clients: CLIENTS, accounts, ...secure, ...(accessSources ? { accessSources } : {}) });
  if (consent) source = consentAccessSource(h.storage, h.auth.baseUrl);
  const operator = await h.token({ scope: 'system/*.cruds' });
  const put = async (resource: Record<string, unknown>) => {
    const response = await h.as(operator, { method: 'PUT', url: `/fhir/${resource.resourceType}/${resource.id}`, payload: resource });
    if (response.statusCode >= 300) throw new Error(`${resource.resourceType}/${resource.id}: ${response.body}`);
  };
  await put({ resourceType: 'Patient', id: 'p1', name: [{ given: ['Alice'], family: 'Moreau' }] });
  await put({ resourceType: 'Patient', id: 'p2', name: [{ given: ['Bruno'], family: 'Moreau' }] });
  await put({ resourceType: 'Practitioner', id: 'd1', name: [{ given: ['Lee'], family: 'Chen' }] });
  await put({ resourceType: 'RelatedPerson', id: 'r1', patient: { reference: 'Patient/p1' }, name: [{ text: 'Dana Moreau' }] });
  await put({ resourceType: 'RelatedPerson', id: 'r2', patient: { reference: 'Patient/p2' }, name: [{ text: 'Dana Moreau' }] });
  return { h, accounts, operator };
}

export const pkcePair = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

export const decodeJwtPayload = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());

/** A browser: a cookie jar and the hidden fields of the last page. */
export class Browser {
  private cookies = new Map<string, string>();
  last?: LightMyRequestResponse;

  constructor(
    private readonly h: SecureHarness,
    private readonly headers: Record<string, string> = {},
  ) {}

  private remember(response: LightMyRequestResponse): LightMyRequestResponse {
    for (const cookie of response.cookies) this.cookies.set(cookie.name, cookie.value);
    this.last = response;
    return response;
  }

  private cookieHeader(): Record<string, string> {
    return this.cookies.size ? { cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') } : {};
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    return this.remember(await this.h.request({ method: 'GET', url, headers: { ...this.headers, ...this.cookieHeader() } }));
  }

  /** Posts a form, with the last page's csrf and request fields unless given. */
  async post(url: string, fields: Array<[string, string]>): Promise<LightMyRequestResponse> {
    const hiddenFields: Array<[string, string]> = (['csrf', 'request'] as const)
      .filter((name) => !fields.some(([key]) => key === name))
      .map((name) => [name, this.field(name) ?? '']);
    const payload = new URLSearchParams([...hiddenFields, ...fields]).toString();
    return this.remember(
      await this.h.request({ method: 'POST', url, payload, headers: { ...this.headers, ...this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' } }),
    );
  }

  field(name: string): string | undefined {
    return new RegExp(`name="${name}" value="([^"]*)"`).exec(this.last?.body ?? '')?.[1];
  }
}

export interface AuthorizeParameters {
  client_id?: string;
  redirect_uri?: string;
  scope?: string;
  state?: string;
  aud?: string;
  code_challenge?: string;
  code_challenge_method?: string;
  response_type?: string;
  nonce?: string;
}

export function authorizeUrl(parameters: AuthorizeParameters): string {
  const defaults = { response_type: 'code', client_id: 'app', redirect_uri: REDIRECT, scope: APP_SCOPES, state: 'state-1', aud: BASE_URL, code_challenge_method: 'S256' };
  const all = Object.entries({ ...defaults, ...parameters }).filter(([, value]) => value !== undefined) as Array<[string, string]>;
  return `/auth/authorize?${new URLSearchParams(all).toString()}`;
}

/** The redirect's query parameters. */
export const redirectParameters = (response: LightMyRequestResponse): URLSearchParams => new URL(String(response.headers.location)).searchParams;

/**
 * Drives the whole browser side for one user: authorize, sign in, approve
 * (with the given scopes ticked, all by default), pick a patient when asked.
 */
export async function signInAndApprove(
  h: SecureHarness,
  options: { username: keyof typeof PASSWORDS; parameters?: AuthorizeParameters; approve?: string[]; patient?: string; browser?: Browser },
): Promise<{ code: string; verifier: string; browser: Browser; final: LightMyRequestResponse }> {
  const browser = options.browser ?? new Browser(h);
  const { verifier, challenge } = pkcePair();
  let page = await browser.get(authorizeUrl({ code_challenge: challenge, ...options.parameters }));
  if (page.body.includes('action="/auth/login"')) {
    page = await browser.post('/auth/login', [['username', options.username], ['password', PASSWORDS[options.username]]]);
  }
  if (page.body.includes('action="/auth/approve"')) {
    const offered = [...page.body.matchAll(/name="scope" value="([^"]*)"/g)].map((match) => match[1] ?? '');
    const ticked = options.approve ?? offered;
    page = await browser.post('/auth/approve', [...ticked.map((scope): [string, string] => ['scope', scope]), ['decision', 'allow']]);
  }
  if (page.body.includes('action="/auth/pick"')) page = await browser.post('/auth/pick', [['patient', options.patient ?? '']]);
  const code = page.statusCode === 302 ? redirectParameters(page).get('code') : null;
  if (!code) throw new Error(`no code: ${page.statusCode} ${page.headers.location ?? page.body.slice(0, 300)}`);
  return { code, verifier, browser, final: page };
}

export function tokenRequest(h: SecureHarness, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return h.request({
    method: 'POST',
    url: '/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(fields).toString(),
  });
}

export const exchange = (h: SecureHarness, code: string, verifier: string, extra: Record<string, string> = {}) =>
  tokenRequest(h, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: 'app', ...extra });
