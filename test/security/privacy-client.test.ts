/**
 * The privacy page as the server sees it (no browser needed): its files are
 * served without a token under a strict Content-Security-Policy, it is a
 * built-in public client whose only redirect URI is the page itself, and no
 * file-registered client can take its id. What the page does in a browser
 * is test/browser/privacy-page.test.ts.
 */
import t from 'tap';
import { ConfigError } from '../../src/config';
import { PRIVACY_CLIENT_ID, PRIVACY_SCOPES } from '../../src/security/auth/built-in-clients';
import { startHarness } from '../http/harness';
import { BASE_URL, ORIGIN, startSecureHarness } from './auth-kit';
import { Browser, pkcePair, startAuthServerWorld } from './authorization-kit';

t.test('the page and its files are served without a token, under a strict CSP', async (t) => {
  const h = await startSecureHarness();
  t.teardown(h.close);
  for (const url of ['/privacy/', '/privacy']) {
    const page = await h.request({ method: 'GET', url });
    t.equal(page.statusCode, 200, `${url}: no token needed`);
    t.match(page.headers['content-type'], /^text\/html/);
    t.equal(page.headers['cache-control'], 'no-store', 'the page where the code arrives is never cached');
    t.equal(page.headers['x-frame-options'], 'DENY');
    t.equal(page.headers['referrer-policy'], 'no-referrer', 'the code in its URL is never sent on');
    const csp = String(page.headers['content-security-policy']);
    for (const directive of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "style-src 'self'", "frame-ancestors 'none'"]) t.ok(csp.includes(directive), directive);
    t.ok(page.body.includes(`<meta name="concord-fhir-base" content="${BASE_URL}">`), 'the FHIR base the page calls (its aud)');
    t.ok(page.body.includes(`<meta name="concord-client-id" content="${PRIVACY_CLIENT_ID}">`));
    t.notMatch(page.body, /https?:\/\/(?!localhost)/, 'no external asset');
  }
  const script = await h.request({ method: 'GET', url: '/privacy/privacy.js' });
  t.equal(script.statusCode, 200);
  t.match(script.headers['content-type'], /^text\/javascript/);
  const style = await h.request({ method: 'GET', url: '/privacy/privacy.css' });
  t.match(style.headers['content-type'], /^text\/css/);
  t.equal((await h.request({ method: 'GET', url: '/privacy/index.html' })).statusCode, 404, 'only the listed files');
  t.equal((await h.request({ method: 'GET', url: '/privacy/..%2Fpackage.json' })).statusCode, 404, 'a name, never a path');
  t.equal((await h.request({ method: 'GET', url: '/fhir/Patient' })).statusCode, 401, 'the FHIR API still needs a token');
});

t.test('without security (AUTH_MODE=off) there is no page: nobody could sign in', async (t) => {
  const h = await startHarness();
  t.teardown(h.close);
  t.equal((await h.request({ method: 'GET', url: '/privacy/' })).statusCode, 404);
});

t.test('a built-in public client whose one redirect URI is the page', async (t) => {
  const { h } = await startAuthServerWorld();
  t.teardown(h.close);
  const client = h.auth.tokenIssuer.clients.get(PRIVACY_CLIENT_ID);
  t.match(client, { type: 'public', redirectUris: [`${ORIGIN}/privacy/`], allowedScopes: PRIVACY_SCOPES.split(' ') });
  t.equal(client?.secretHash, undefined, 'no secret: PKCE only');
  const authorize = (redirect: string) =>
    `/auth/authorize?${new URLSearchParams({
      response_type: 'code', client_id: PRIVACY_CLIENT_ID, redirect_uri: redirect, scope: PRIVACY_SCOPES, state: 's',
      aud: BASE_URL, code_challenge: pkcePair().challenge, code_challenge_method: 'S256',
    })}`;
  const elsewhere = await new Browser(h).get(authorize('https://evil.example/privacy/'));
  t.equal(elsewhere.statusCode, 400, 'another redirect URI is an error page, never a redirect');
  const browser = new Browser(h);
  t.equal((await browser.get(authorize(`${ORIGIN}/privacy/`))).statusCode, 200, 'the sign-in page');
  const approval = await browser.post('/auth/login', [['username', 'alice'], ['password', 'alice-password']]);
  t.match(approval.body, /Concord privacy page/, 'the approval screen names the page');
  for (const scope of PRIVACY_SCOPES.split(' ')) t.ok(approval.body.includes(`value="${scope}"`), `asks for ${scope}`);
});

t.test('AUTH_CLIENTS_FILE may not take the privacy page\'s client id', async (t) => {
  await t.rejects(
    startSecureHarness({ clients: [{ clientId: PRIVACY_CLIENT_ID, type: 'public', redirectUris: ['https://evil.example/cb'], scope: 'patient/*.rs' }] }),
    ConfigError,
  );
});
