/**
 * SMART's own JavaScript client, fhirclient (npm), completes the standalone
 * launch against Concord unchanged: it discovers the endpoints, sends the
 * authorization request with PKCE S256, exchanges the code and calls the
 * FHIR API. The browser's part (sign-in, approval) is driven with HTTP
 * requests; fhirclient runs in Node with an in-memory storage.
 */
import t from 'tap';
import smart from 'fhirclient';
import { freePort } from '../http/free-port';
import { Browser, PASSWORDS, REDIRECT, startAuthServerWorld } from './authorization-kit';

/** The app's side of one HTTP exchange, as the Node adapter sees it. */
function appRequest(url: string) {
  const { pathname, search } = new URL(url);
  const request = { url: `${pathname}${search}`, headers: { host: 'app.example' }, socket: { encrypted: false } };
  const response = { location: '', writeHead: (_status: number, headers: { location: string }) => void (response.location = headers.location), end: () => {} };
  return { request, response };
}

t.test('fhirclient: authorize, code exchange with PKCE, then a FHIR read', async (t) => {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}/fhir`;
  const { h } = await startAuthServerWorld({ baseUrl });
  t.teardown(h.close);
  await h.app.listen({ port, host: '127.0.0.1' });
  const store = new Map<string, unknown>();
  const storage = {
    get: async (key: string) => store.get(key),
    set: async (key: string, value: unknown) => void store.set(key, value),
    unset: async (key: string) => store.delete(key),
  };

  const start = appRequest('http://app.example/launch');
  const authorizeUrl = (await smart(start.request as never, start.response as never, storage as never).authorize({
    clientId: 'app',
    scope: 'openid fhirUser launch/patient offline_access patient/*.rs',
    redirectUri: REDIRECT,
    iss: baseUrl,
    pkceMode: 'required',
    noRedirect: true,
  })) as unknown as string;
  const sent = new URL(authorizeUrl);
  t.equal(sent.searchParams.get('code_challenge_method'), 'S256', 'fhirclient sends PKCE S256');
  t.equal(sent.searchParams.get('aud'), baseUrl);

  const browser = new Browser(h);
  await browser.get(`${sent.pathname}${sent.search}`);
  await browser.post('/auth/login', [['username', 'alice'], ['password', PASSWORDS.alice]]);
  const done = await browser.post('/auth/approve', [
    ...['openid', 'fhirUser', 'launch/patient', 'offline_access', 'patient/*.rs'].map((scope): [string, string] => ['scope', scope]),
    ['decision', 'allow'],
  ]);
  t.equal(done.statusCode, 302, done.body.slice(0, 200));

  const back = appRequest(String(done.headers.location));
  const client = await smart(back.request as never, back.response as never, storage as never).ready();
  t.equal(client.patient.id, 'p1', 'the patient of the launch context');
  t.match(String(client.user.fhirUser), /Patient\/p1$/, 'fhirUser from the ID token');
  t.ok(client.state.tokenResponse?.refresh_token, 'a refresh token (offline_access)');
  const patient = await client.patient.read();
  t.equal(patient.id, 'p1');
  t.equal(patient.name?.[0]?.family, 'Moreau', 'fhirclient reads the record with its access token');
  const firstRefresh = client.state.tokenResponse?.refresh_token;
  const refreshed = await client.refresh();
  t.ok(refreshed.tokenResponse?.access_token, 'and refreshes');
  t.not(refreshed.tokenResponse?.refresh_token, firstRefresh, 'with a rotated refresh token');
});
