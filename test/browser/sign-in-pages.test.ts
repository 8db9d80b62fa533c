/**
 * The sign-in, approval and picker pages in a real browser (Debian's
 * Chromium driven by playwright-core), on a phone-sized screen: found by
 * their labels and button names, as a screen reader finds them, with no
 * serious or critical axe-core violation, and the CSP letting the final
 * redirect through.
 */
import t from 'tap';
import { exchange, PASSWORDS, REDIRECT, pkcePair, startAuthServerWorld, decodeJwtPayload } from '../security/authorization-kit';
import { CHROMIUM, freePort, launch, screenshot, seriousViolations } from './browser-kit';

t.test('sign-in, approval and patient picker in Chromium', { skip: CHROMIUM ? false : 'no Chromium (apt-get install chromium): browser tests skipped' }, async (t) => {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}/fhir`;
  const { h } = await startAuthServerWorld({ baseUrl });
  t.teardown(h.close);
  await h.app.listen({ port, host: '127.0.0.1' });
  const browser = await launch();
  t.teardown(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 375, height: 700 } });
  const page = await context.newPage();
  // The app's redirect URI: answered here, so the browser never leaves the machine.
  const arrivals: string[] = [];
  await page.route('http://app.example/**', (route) => {
    arrivals.push(route.request().url());
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>App</title><p>back in the app</p>' });
  });

  const authorize = (challenge: string) =>
    `http://127.0.0.1:${port}/auth/authorize?${new URLSearchParams({
      response_type: 'code', client_id: 'app', redirect_uri: REDIRECT, state: 's-1', aud: baseUrl,
      scope: 'openid fhirUser launch/patient patient/*.rs offline_access', code_challenge: challenge, code_challenge_method: 'S256',
    })}`;

  const alice = pkcePair();
  await page.goto(authorize(alice.challenge));
  await screenshot(page, '01-sign-in');
  t.same(await seriousViolations(page), [], 'sign-in page: no serious or critical axe violation');
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill(PASSWORDS.alice);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Allow' }).waitFor();
  await screenshot(page, '02-approval');
  t.same(await seriousViolations(page), [], 'approval page: no serious or critical axe violation');
  const offline = page.getByLabel('Keep access after you close the app (until 30 days after its last use)');
  t.equal(await offline.getAttribute('value'), 'offline_access', 'the scope string is the checkbox value');
  await offline.uncheck();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(/app\.example\/callback/);
  const back = new URL(arrivals.at(-1) ?? '');
  t.equal(back.searchParams.get('state'), 's-1');
  const token = (await exchange(h, back.searchParams.get('code') ?? '', alice.verifier)).json();
  t.equal(token.scope, 'openid fhirUser launch/patient patient/*.rs', 'the unticked scope is not granted');
  t.equal(token.patient, 'p1');

  await context.clearCookies();
  const dana = pkcePair();
  await page.goto(authorize(dana.challenge));
  await page.getByLabel('Username').fill('dana');
  await page.getByLabel('Password').fill(PASSWORDS.dana);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.getByRole('button', { name: 'Continue' }).waitFor();
  await screenshot(page, '03-patient-picker');
  t.same(await seriousViolations(page), [], 'picker: no serious or critical axe violation');
  await page.getByLabel('Bruno Moreau').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(/app\.example\/callback/);
  const picked = (await exchange(h, new URL(arrivals.at(-1) ?? '').searchParams.get('code') ?? '', dana.verifier)).json();
  t.equal(picked.patient, 'p2');
  t.equal(decodeJwtPayload(picked.access_token).fhirUser, 'RelatedPerson/r2');
});
