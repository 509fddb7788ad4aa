/**
 * The second-factor pages in real Chromium, keyboard only: the code after the password, and adding
 * an authenticator app (QR code drawn as inline SVG under the strict CSP). Screenshots on a desktop
 * (light) and a phone (dark) go to test-artifacts/.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { appInChromium, ARTIFACTS, signInByKeyboard } from '../support/chromium.js';
import { testAuthenticator } from '../support/factors.js';

const PORTAL = 'http://auth.example.com';
const PASSWORD = 'correct horse battery';
const alice = testAuthenticator('alice', { recovery: true });
const bob = testAuthenticator('bob');

const t = appInChromium(
  { server: { public_url: PORTAL, trusted_proxies: ['loopback'] }, session: { domain: 'example.com' } },
  { alice: { password: PASSWORD, factors: alice.factors }, bob: { password: PASSWORD, factors: bob.factors }, carl: { password: PASSWORD } },
);

/** Content-Security-Policy reports of a page: nothing on these pages may need more than the policy allows. */
function cspViolations(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (m) => {
    if (m.text().includes('Content Security Policy')) seen.push(m.text());
  });
  return seen;
}

/** The sign-in page, then username, Tab, password, Enter. */
async function password(page: Page, username: string, landing: string): Promise<void> {
  await page.goto(`${PORTAL}/login`);
  await signInByKeyboard(page, username, PASSWORD, landing);
}

describe('the second factor in a real browser', () => {
  it('asks for the code after the password; typing it and Enter signs in (desktop, light)', async () => {
    const context = await t.browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    const violations = cspViolations(page);
    await password(page, 'alice', `${PORTAL}/login/2fa`);
    expect(await page.textContent('h1')).toBe("Confirm it's you");
    await page.screenshot({ path: join(ARTIFACTS, 'second-factor-desktop-light.png'), fullPage: true });
    await page.waitForFunction("document.activeElement?.id === 'code'");
    await page.keyboard.type(await alice.code(Date.now()));
    await Promise.all([page.waitForURL(`${PORTAL}/`), page.keyboard.press('Enter')]);
    expect(await page.textContent('body')).toContain('alice');
    expect(violations).toEqual([]);
    await context.close();
  });

  it('is readable on a phone in dark mode, and the authenticator app is added from its QR page by keyboard', async () => {
    const context = await t.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, colorScheme: 'dark' });
    const page = await context.newPage();
    const violations = cspViolations(page);
    await password(page, 'bob', `${PORTAL}/login/2fa`);
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    expect(await page.evaluate<string>('getComputedStyle(document.body).backgroundColor')).toBe('rgb(18, 21, 27)');
    await page.screenshot({ path: join(ARTIFACTS, 'second-factor-phone-dark.png'), fullPage: true });

    const enrol = await context.newPage();
    await password(enrol, 'carl', `${PORTAL}/`);
    await enrol.goto(`${PORTAL}/account/2fa/totp`);
    expect(await enrol.locator('svg[role=img]').count()).toBe(1);
    expect(await enrol.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await enrol.screenshot({ path: join(ARTIFACTS, 'totp-enrol-phone-dark.png'), fullPage: true });
    const secret = ((await enrol.textContent('code')) ?? '').replaceAll(' ', '');
    const { generate } = await import('otplib');
    // The code field has autofocus.
    await enrol.waitForFunction("document.activeElement?.id === 'code'");
    await enrol.keyboard.type(await generate({ secret, epoch: Math.floor(Date.now() / 1000) }));
    await Promise.all([enrol.waitForResponse((r) => r.request().method() === 'POST'), enrol.keyboard.press('Enter')]);
    expect(await enrol.textContent('h1')).toBe('Your recovery codes');
    expect(await enrol.locator('ol li code').count()).toBe(10);
    expect(violations).toEqual([]);
    await context.close();
  });
});
