import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import axe from 'axe-core';

/** Debian's Chromium (`apt-get install chromium`); the browser tests skip visibly without it. */
export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));

/** Screenshots of each step: test artifacts, gitignored, never committed. */
export const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts', 'browser');

/** The browser needs a real socket, and BASE_URL must name it. */
export { freePort } from '../http/free-port';

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * axe-core's serious and critical violations on the page (WCAG 2.1 A and AA
 * rules). The engine is evaluated through the DevTools protocol, which the
 * page's Content-Security-Policy (no script at all) does not govern.
 */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(axe.source);
  const results = (await page.evaluate(() =>
    (window as unknown as { axe: typeof axe }).axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  )) as axe.AxeResults;
  return results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical').map((violation) => `${violation.id}: ${violation.help}`);
}
