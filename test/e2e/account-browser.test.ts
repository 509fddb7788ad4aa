import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { launchChromium } from '../support/chromium.js';

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');
const PORTAL = 'http://auth.example.com';
const OLD_PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'staple battery horse correct';

let app: AppFixture;
let browser: Browser;

beforeAll(async () => {
  app = await startApp(
    { server: { public_url: PORTAL, trusted_proxies: ['loopback'] }, session: { domain: 'example.com' } },
    { alice: { password: OLD_PASSWORD, role: 'admin', groups: ['family', 'admins'], name: 'Alice Liddell', email: 'alice@example.com' } },
  );
  // The portal is the app under test; nothing else resolves.
  browser = await launchChromium(`MAP auth.example.com 127.0.0.1:${app.port}`);
  mkdirSync(ARTIFACTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

/** Presses Tab until the element with `id` has the focus, as a keyboard user would (at most 20 presses). */
async function tabTo(page: Page, id: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    if ((await page.evaluate<string | undefined>('document.activeElement?.id')) === id) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached #${id}`);
}

/** The sign-in form, by keyboard: the username field has autofocus. */
async function signInByKeyboard(page: Page, password: string, landing: string): Promise<void> {
  await page.keyboard.type('alice');
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await Promise.all([page.waitForURL(landing), page.keyboard.press('Enter')]);
}

/** Content-Security-Policy reports of a page: the stylesheet must keep matching its hash. */
function cspViolations(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (m) => {
    if (m.text().includes('Content Security Policy')) seen.push(m.text());
  });
  return seen;
}

describe('the account page in a real browser', () => {
  it('changes the password with the keyboard only, and the new password signs in', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    const violations = cspViolations(page);

    await page.goto(`${PORTAL}/account`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await signInByKeyboard(page, OLD_PASSWORD, `${PORTAL}/account`);
    await expect(page.title()).resolves.toBe('Your account');

    await tabTo(page, 'current');
    await page.keyboard.type(OLD_PASSWORD);
    await page.keyboard.press('Tab');
    await page.keyboard.type(NEW_PASSWORD);
    await page.keyboard.press('Tab');
    await page.keyboard.type(NEW_PASSWORD);
    await Promise.all([page.waitForURL(`${PORTAL}/account?done=password`), page.keyboard.press('Enter')]);
    expect(await page.textContent('[role=status]')).toBe('Your password was changed. Your other sessions and trusted devices were signed out.');
    expect(await page.textContent('.tag')).toBe('this device');
    await page.screenshot({ path: join(ARTIFACTS, 'account-desktop-light.png'), fullPage: true });
    expect(violations).toEqual([]);

    // Another browser: the old password is refused, the new one signs in.
    const other = await browser.newContext();
    const second = await other.newPage();
    await second.goto(`${PORTAL}/account`);
    await second.keyboard.type('alice');
    await second.keyboard.press('Tab');
    await second.keyboard.type(OLD_PASSWORD);
    await Promise.all([second.waitForResponse((r) => r.url() === `${PORTAL}/login` && r.request().method() === 'POST'), second.keyboard.press('Enter')]);
    expect(await second.textContent('[role=alert]')).toBe('Invalid username or password.');
    await tabTo(second, 'password');
    await second.keyboard.type(NEW_PASSWORD);
    await Promise.all([second.waitForURL(`${PORTAL}/account`), second.keyboard.press('Enter')]);
    expect(await second.textContent('h1')).toBe('Your account');
    await other.close();
    await context.close();
  });

  it('is readable on a phone in dark mode', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, colorScheme: 'dark' });
    const page = await context.newPage();
    const violations = cspViolations(page);
    await page.goto(`${PORTAL}/account`);
    await signInByKeyboard(page, NEW_PASSWORD, `${PORTAL}/account`);
    // Nothing wider than the screen: no sideways scrolling on a phone.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    // The dark palette applies (prefers-color-scheme).
    expect(await page.evaluate<string>('getComputedStyle(document.body).backgroundColor')).toBe('rgb(18, 21, 27)');
    await page.screenshot({ path: join(ARTIFACTS, 'account-phone-dark.png'), fullPage: true });
    expect(violations).toEqual([]);
    await context.close();
  });
});
