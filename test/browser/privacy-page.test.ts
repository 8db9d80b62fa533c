/**
 * The privacy page in a real browser (Debian's Chromium driven by
 * playwright-core), on a phone-sized screen, found by the page contract's
 * headings, labels and button names: a patient signs in through the SMART
 * flow, sees an existing share, shares with her daughter (the daughter's
 * own token then reads the patient's Encounters over the API), asks what
 * the daughter can see, stops sharing (she no longer reads them), and finds
 * the daughter's reads, a denied attempt and a break-the-glass access in the
 * log. The daughter then opens the page read-only. Screenshots of each step
 * go to test-artifacts/browser/ (git-ignored).
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import t from 'tap';
import type { AccessPartSource } from '../../src/security/access-filter';
import { userAdmin } from '../../src/security/auth/user-admin';
import { consentAccessSource } from '../../src/security/consent';
import { ownershipAccessSource } from '../../src/subscriptions';
import { openSqliteAccountStore } from '../../src/storage/accounts/sqlite';
import { startSecureHarness, type SecureHarness } from '../security/auth-kit';
import { ARTIFACTS, CHROMIUM, freePort, launch, screenshot, seriousViolations } from './browser-kit';

const PASSWORDS = { alice: 'alice-password', dana: 'dana-password' };
const PSY = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' };

/** Patient p1 (Alice) with her daughter Dana (RelatedPerson r1), her GP, a cardiologist she already shares with, an emergency doctor; p2 is someone else. */
async function world(h: SecureHarness): Promise<string> {
  const operator = await h.token({ scope: 'system/*.cruds' });
  const put = async (resource: Record<string, unknown>) => {
    const response = await h.as(operator, { method: 'PUT', url: `/fhir/${resource.resourceType}/${resource.id}`, payload: resource });
    if (response.statusCode >= 300) throw new Error(`${resource.resourceType}/${resource.id}: ${response.body}`);
  };
  await put({ resourceType: 'Practitioner', id: 'gp', name: [{ prefix: ['Dr'], given: ['Lee'], family: 'Chen' }] });
  await put({ resourceType: 'Practitioner', id: 'cardio', name: [{ prefix: ['Dr'], given: ['Priya'], family: 'Patel' }] });
  await put({ resourceType: 'Practitioner', id: 'er', name: [{ prefix: ['Dr'], given: ['Sam'], family: 'Okafor' }] });
  await put({ resourceType: 'Organization', id: 'insurer', name: 'Mutual Health', type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'pay' }] }] });
  await put({ resourceType: 'Practitioner', id: 'stranger', name: [{ prefix: ['Dr'], given: ['Max'], family: 'Wolf' }] });
  await put({ resourceType: 'Patient', id: 'p1', name: [{ given: ['Alice'], family: 'Moreau' }], generalPractitioner: [{ reference: 'Practitioner/gp' }] });
  await put({ resourceType: 'Patient', id: 'p2', name: [{ given: ['Bruno'], family: 'Zephyr' }] });
  await put({
    resourceType: 'RelatedPerson', id: 'r1', patient: { reference: 'Patient/p1' }, name: [{ text: 'Dana Moreau' }],
    relationship: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'DAU' }] }],
  });
  for (const [id, patient] of [['e1', 'p1'], ['e2', 'p2']]) {
    await put({ resourceType: 'Encounter', id, status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: `Patient/${patient}` } });
  }
  await put({
    resourceType: 'Observation', id: 'o-psy', status: 'final', meta: { security: [PSY] }, code: { text: 'Depression screening' },
    subject: { reference: 'Patient/p1' }, encounter: { reference: 'Encounter/e1' },
  });
  // The share Alice made earlier, written as docs/access-control.md's specialist example.
  await put({
    resourceType: 'Consent', id: 'c-cardio', status: 'active', dateTime: '2026-01-01',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: 'Patient/p1' },
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTINR' }] },
    provision: { type: 'permit', period: { start: '2026-01-01', end: '2030-06-30' }, actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: 'Practitioner/cardio' } }] },
  });
  return operator;
}

/** The visible text of one share (the list item holding `text`) in a list. */
const shareItem = (page: Page, listId: string, text: string) => page.locator(`#${listId} > li`, { hasText: text });

async function signIn(page: Page, origin: string, username: keyof typeof PASSWORDS): Promise<void> {
  await page.goto(`${origin}/privacy/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORDS[username]);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.getByRole('heading', { level: 2, name: 'Who can see my record' }).waitFor();
  await page.locator('#access-log tbody tr').first().waitFor();
}

t.test('the privacy page in Chromium', { skip: CHROMIUM ? false : 'no Chromium (apt-get install chromium): browser tests skipped' }, async (t) => {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const accounts = openSqliteAccountStore(':memory:');
  await userAdmin(accounts).add('alice', ['Patient/p1'], PASSWORDS.alice);
  await userAdmin(accounts).add('dana', ['RelatedPerson/r1'], PASSWORDS.dana);
  // The access layers main.ts installs: the patient's Consents, and who owns each Subscription.
  let consent: AccessPartSource | undefined;
  const h = await startSecureHarness({ accounts, baseUrl: `${origin}/fhir`, accessSources: [(request) => consent?.(request), ownershipAccessSource] });
  consent = consentAccessSource(h.storage, `${origin}/fhir`);
  t.teardown(h.close);
  const operator = await world(h);
  await h.app.listen({ port, host: '127.0.0.1' });
  const browser = await launch();
  t.teardown(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));

  // The daughter's own token, as the authorization server gives her app one (purpose FAMRQT for a RelatedPerson).
  const daughter = await h.token({ fhirUser: 'RelatedPerson/r1', patient: 'p1', scope: 'patient/*.rs', purpose_of_use: 'FAMRQT' });
  const stranger = await h.token({ fhirUser: 'Practitioner/stranger', scope: 'user/*.rs', purpose_of_use: 'TREAT' });
  t.equal((await h.as(stranger, { url: '/fhir/Encounter/e1' })).statusCode, 404, 'a practitioner with no relationship does not see the Encounter');
  const daughterEncounters = async () => (await h.as(daughter, { url: '/fhir/Encounter?patient=p1' })).json().entry?.length ?? 0;
  t.equal(await daughterEncounters(), 0, 'before any share, the daughter reads none of the Encounters');
  t.equal((await h.as(daughter, { url: '/fhir/Encounter/e1' })).statusCode, 404, 'her attempt to read one is refused (a denied access)');
  const emergency = await h.token({ fhirUser: 'Practitioner/er', scope: 'user/*.rs', purpose_of_use: 'ETREAT' });
  for (const url of ['/fhir/Encounter/e1', '/fhir/Encounter/e2']) {
    t.equal((await h.as(emergency, { url })).headers['x-break-glass'], 'true', `break-the-glass read of ${url}`);
  }

  await t.test('sign in and see the existing share', async (t) => {
    await signIn(page, origin, 'alice');
    await screenshot(page, 'privacy-01-signed-in');
    for (const heading of ['Who can see my record', 'Share my record', 'Stopped and expired shares', 'Who looked at my record']) {
      t.ok(await page.getByRole('heading', { level: 2, name: heading }).isVisible(), `heading "${heading}"`);
    }
    const cardio = shareItem(page, 'active-shares', 'Dr Priya Patel');
    t.match(await cardio.innerText(), /Dr Priya Patel can see your whole record, but not your mental health, sexual and reproductive health and substance use information, until 30 June 2030/);
    t.ok(await cardio.getByRole('button', { name: 'Stop sharing' }).isVisible(), 'each share has "Stop sharing"');
    t.ok(await cardio.getByRole('button', { name: 'What can they see?' }).isVisible(), 'each person has "What can they see?"');
    t.match(await page.locator('#base-policy').innerText(), /Your care team sees your record for treatment/, 'the base policy in words');
    t.match(await page.getByText('Signed in as').innerText(), /Alice Moreau/);
  });

  await t.test('share with the daughter', async (t) => {
    await page.getByLabel('Share with').selectOption({ label: 'Dana Moreau' });
    await page.getByLabel('Until').fill('2030-01-31');
    await page.getByLabel('Leave out mental health').check();
    await screenshot(page, 'privacy-02-share-form');
    await page.getByRole('button', { name: 'Share', exact: true }).click();
    await page.getByText('Shared with Dana Moreau.').waitFor();
    const dana = shareItem(page, 'active-shares', 'Dana Moreau can see');
    t.match(await dana.innerText(), /Dana Moreau can see your whole record, but not your mental health, sexual and reproductive health and substance use information, until 31 January 2030\./, 'the new rule shows at once');
    await screenshot(page, 'privacy-03-shared');

    const written = (await h.as(operator, { url: '/fhir/Consent?patient=p1&actor=RelatedPerson/r1' })).json().entry?.[0]?.resource;
    t.match(written, {
      meta: { profile: ['http://concord.example/fhir/StructureDefinition/concord-consent'] },
      status: 'active',
      policyRule: { coding: [{ code: 'OPTINR' }] },
      provision: { type: 'permit', period: { end: '2030-01-31' }, actor: [{ reference: { reference: 'RelatedPerson/r1' } }] },
    }, 'the page wrote a Consent under Concord\'s profile (validated on create)');
    t.equal(written?.provision?.provision, undefined, 'every sensitive category left out: no label named');
    t.equal(await daughterEncounters(), 1, 'the daughter now reads the patient\'s Encounter');
    t.equal((await h.as(daughter, { url: '/fhir/Observation/o-psy' })).statusCode, 404, 'but not the mental-health Observation that was left out');
    t.equal((await h.as(stranger, { url: '/fhir/Encounter/e1' })).statusCode, 404, 'and nobody else: the share opens the record to her alone (OPTINR, not OPTIN)');

    await dana.getByRole('button', { name: 'What can they see?' }).click();
    const answer = dana.locator('.evaluation');
    await answer.filter({ hasText: 'Dana Moreau can see' }).waitFor();
    t.match(await answer.innerText(), /Dana Moreau can see your .*visits \(encounters\).*, not your mental health information\./, 'Consent/$evaluate in words');
    await screenshot(page, 'privacy-04-what-can-they-see');
    // The top of the page on a phone, for the README (docs/images/privacy-page.png is a copy of it).
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(ARTIFACTS, 'privacy-page.png') });
  });

  await t.test('stop sharing', async (t) => {
    await shareItem(page, 'active-shares', 'Dana Moreau can see').getByRole('button', { name: 'Stop sharing' }).click();
    const stopped = shareItem(page, 'stopped-shares', 'Dana Moreau');
    await stopped.waitFor();
    t.match(await stopped.innerText(), /\(stopped\)/);
    t.ok(await stopped.getByRole('button', { name: 'Share again' }).isVisible(), 'a stopped share offers "Share again"');
    t.equal(await shareItem(page, 'active-shares', 'Dana Moreau').count(), 0, 'and is no longer among the active ones');
    t.equal(await daughterEncounters(), 0, 'the daughter no longer reads the Encounters');
    await screenshot(page, 'privacy-05-stopped');
  });

  await t.test('share with a practitioner found by name, with someone new, and stop the insurer', async (t) => {
    await page.getByLabel('Find a practitioner or organisation by name').fill('Wolf');
    await page.getByRole('button', { name: 'Find', exact: true }).click();
    await page.getByText('Found 1').waitFor();
    t.equal(await page.getByLabel('Share with').inputValue(), 'Practitioner/stranger', 'the one found is chosen in "Share with"');
    await page.getByLabel('Leave out mental health').uncheck();
    await page.getByRole('button', { name: 'Share', exact: true }).click();
    await page.getByText('Shared with Dr Max Wolf.').waitFor();
    t.match(await shareItem(page, 'active-shares', 'Dr Max Wolf can see').innerText(), /including your mental health information, but not your sexual and reproductive health and substance use information, until you stop it\./);
    t.equal((await h.as(stranger, { url: '/fhir/Observation/o-psy' })).statusCode, 200, 'the mental-health labels are named: he reads the PSY-labelled Observation');

    await page.getByLabel('Share with').selectOption({ label: 'Someone new in my family…' });
    await page.getByLabel('Their full name').fill('Eve Moreau');
    await page.getByLabel('They are my').selectOption({ label: 'son' });
    await page.getByLabel('Stop my insurer from seeing my encounters').check();
    await page.getByRole('button', { name: 'Share', exact: true }).click();
    await page.getByText('Shared with Eve Moreau. Your insurer can no longer see your encounters.').waitFor();
    const eve = (await h.as(operator, { url: '/fhir/RelatedPerson?patient=p1&name=Eve' })).json().entry?.[0]?.resource;
    t.match(eve, { relationship: [{ coding: [{ code: 'SON' }] }] }, 'a RelatedPerson of the patient, made by the page');
    t.ok(await shareItem(page, 'active-shares', 'Eve Moreau can see').isVisible(), 'shared with her at once');
    t.ok(await shareItem(page, 'active-shares', 'Your insurer cannot see your visits (encounters)').isVisible(), 'the insurer rule in words');
    const evaluation = (await h.as(operator, {
      method: 'POST', url: '/fhir/Consent/$evaluate',
      payload: { resourceType: 'Parameters', parameter: [
        { name: 'actor', valueReference: { reference: 'Organization/insurer' } }, { name: 'purpose', valueCode: 'HPAYMT' },
        { name: 'resource', valueReference: { reference: 'Encounter/e1' } }] },
    })).json();
    const basis = evaluation.parameter.find((p: { name: string }) => p.name === 'basis')?.valueReference?.reference;
    const decided = (await h.as(operator, { url: `/fhir/${basis}` })).json();
    t.match(decided, { provision: { type: 'deny', purpose: [{ code: 'HPAYMT' }], class: [{ code: 'Encounter' }] } }, 'the insurer is refused the Encounter by the page\'s Consent');
    await screenshot(page, 'privacy-05b-more-shares');
  });

  await t.test('the access log', async (t) => {
    await page.reload();
    await page.locator('#access-log tbody tr').first().waitFor();
    const headers = await page.locator('#access-log thead th').allInnerTexts();
    t.same(headers, ['Who', 'What', 'When', 'Why', 'Outcome'], 'the table headers');
    await page.getByLabel('Show accesses by').selectOption({ label: 'Dana Moreau' });
    await page.locator('#access-log tbody tr', { hasText: 'Searched' }).first().waitFor();
    const rows = await page.locator('#access-log tbody tr').allInnerTexts();
    t.ok(rows.length > 0 && rows.every((row) => row.startsWith('Dana Moreau')), 'filtered to the daughter');
    t.ok(rows.some((row) => /Searched visits \(encounters\).*a family member’s request\s+Allowed/s.test(row)), 'her read of the Encounters while shared, purpose FAMRQT');
    t.ok(rows.some((row) => /Read visits \(encounters\).*Denied/s.test(row)), 'her refused attempt, marked denied');
    await screenshot(page, 'privacy-06-log-daughter');

    await page.getByLabel('Show accesses by').selectOption({ label: 'Everyone but you' });
    const glass = page.locator('#access-log tbody tr.break-glass');
    await glass.first().waitFor();
    t.equal(await glass.count(), 1, 'one break-the-glass access of this patient (the other was of someone else)');
    t.match(await glass.innerText(), /Dr Sam Okafor.*Emergency access/s, 'highlighted, with who did it');
    t.match(await page.locator('#break-glass-summary').innerText(), /1 access on this page was an emergency/);
    await page.getByLabel('Only emergency (break-the-glass) accesses').check();
    await page.waitForFunction(() => document.querySelectorAll('#access-log tbody tr').length === 1);
    t.pass('"only emergency accesses" shows just that one');
    await page.getByLabel('Only emergency (break-the-glass) accesses').uncheck();
    await page.waitForFunction(() => document.querySelectorAll('#access-log tbody tr').length > 1);
    await screenshot(page, 'privacy-07-log-break-glass');
    t.notMatch(await page.locator('body').innerText(), /Bruno|Zephyr/, 'nothing of another patient');
  });

  await t.test('accessibility and the phone-sized screen', async (t) => {
    t.same(await seriousViolations(page), [], 'no serious or critical axe-core violation');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    t.ok(overflow <= 0, `no sideways scrolling at 375 px (${overflow} px too wide)`);
  });

  await t.test('sign out, and back with the password but without the approval screen', async (t) => {
    const stored = JSON.parse((await page.evaluate(() => sessionStorage.getItem('concord-privacy-session'))) ?? '{}');
    t.equal((await h.as(stored.accessToken, { url: '/fhir/Patient/p1' })).statusCode, 200, 'the page\'s token reads the record');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out.').waitFor();
    t.equal((await h.as(stored.accessToken, { url: '/fhir/Patient/p1' })).statusCode, 401, 'signing out revoked it');
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Signing out ended the sign-in session too: the password is asked again.
    await page.getByLabel('Password').waitFor();
    t.pass('the sign-in form, not a silent sign-in');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORDS.alice);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 2, name: 'Who can see my record' }).waitFor();
    await page.locator('#access-log tbody tr').first().waitFor();
    t.equal(await page.getByRole('button', { name: 'Allow' }).count(), 0, 'the approval is remembered for this user and client');
    t.ok(requests.some((url) => url.includes('/auth/authorize')), 'it went through the authorization endpoint again');
  });

  await t.test('the daughter sees it read-only', async (t) => {
    await shareItem(page, 'stopped-shares', 'Dana Moreau').getByRole('button', { name: 'Share again' }).click();
    await shareItem(page, 'active-shares', 'Dana Moreau can see').waitFor();
    t.equal(await daughterEncounters(), 1, 'shared again');
    const danaContext = await browser.newContext({ viewport: { width: 375, height: 740 } });
    t.teardown(() => danaContext.close());
    const danaPage = await danaContext.newPage();
    danaPage.on('pageerror', (error) => pageErrors.push(error.message));
    await signIn(danaPage, origin, 'dana');
    await screenshot(danaPage, 'privacy-08-read-only');
    t.match(await danaPage.getByText('Signed in as').innerText(), /Dana Moreau, for Alice Moreau/);
    t.ok(await danaPage.getByRole('heading', { level: 2, name: 'Who can see my record' }).isVisible(), 'she sees who can see');
    t.ok(await danaPage.getByRole('heading', { level: 2, name: 'Who looked at my record' }).isVisible(), 'and the access log');
    t.equal(await danaPage.getByRole('heading', { name: 'Share my record' }).count(), 0, 'no share form');
    t.equal(await danaPage.getByRole('button', { name: 'Stop sharing' }).count(), 0, 'no "Stop sharing"');
    t.equal(await danaPage.getByRole('button', { name: 'Share again' }).count(), 0, 'no "Share again"');
    t.match(await shareItem(danaPage, 'active-shares', 'You can see').innerText(), /You can see your whole record, but not your mental health/, 'her own share, as "You"');
    t.equal(await danaPage.locator('#access-log tbody tr', { hasText: /^You/ }).count(), 0, 'by default the log leaves out her own page views');
    await danaPage.getByLabel('Show accesses by').selectOption({ label: 'You' });
    const own = danaPage.locator('#access-log tbody tr', { hasText: 'a family member’s request' });
    await own.first().waitFor();
    t.ok((await own.count()) > 0, 'her own reads through the page are logged with purpose FAMRQT');
    await shareItem(danaPage, 'active-shares', 'Dr Priya Patel').getByRole('button', { name: 'What can they see?' }).click();
    await danaPage.getByText('Only Alice Moreau can ask this.').waitFor();
    t.pass('only the patient may ask Consent/$evaluate');
    t.same(await seriousViolations(danaPage), [], 'read-only view: no serious or critical axe-core violation');
  });

  await t.test('a share changed elsewhere meanwhile is not overwritten', async (t) => {
    const eve = (await h.as(operator, { url: '/fhir/Consent?patient=p1&actor.name=Eve' })).json().entry?.[0]?.resource;
    t.equal((await h.as(operator, { method: 'PUT', url: `/fhir/Consent/${eve.id}`, payload: eve })).statusCode, 200, 'another version, written elsewhere');
    await shareItem(page, 'active-shares', 'Eve Moreau can see').getByRole('button', { name: 'Stop sharing' }).click();
    await page.getByText('Not changed:').waitFor();
    t.equal((await h.as(operator, { url: `/fhir/Consent/${eve.id}` })).json().status, 'active', 'If-Match refused the stale change (412)');
  });

  t.same(pageErrors, [], 'no script error on the page');
});
