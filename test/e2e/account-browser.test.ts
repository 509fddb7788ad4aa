import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { appInChromium, ARTIFACTS, signInByKeyboard, tabTo } from '../support/chromium.js';

const PORTAL = 'http://auth.example.com';
const OLD_PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'staple battery horse correct';

// The portal is the app under test; nothing else resolves.
const world = appInChromium(
  { server: { public_url: PORTAL, trusted_proxies: ['loopback'] }, session: { domain: 'example.com' } },
  { alice: { password: OLD_PASSWORD, role: 'admin', groups: ['family', 'admins'], name: 'Alice Liddell', email: 'alice@example.com' } },
);

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
    const context = await world.browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    const violations = cspViolations(page);

    await page.goto(`${PORTAL}/account`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await signInByKeyboard(page, 'alice', OLD_PASSWORD, `${PORTAL}/account`);
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
    const other = await world.browser.newContext();
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
    const context = await world.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, colorScheme: 'dark' });
    const page = await context.newPage();
    const violations = cspViolations(page);
    await page.goto(`${PORTAL}/account`);
    await signInByKeyboard(page, 'alice', NEW_PASSWORD, `${PORTAL}/account`);
    // Nothing wider than the screen: no sideways scrolling on a phone.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    // The dark palette applies (prefers-color-scheme).
    expect(await page.evaluate<string>('getComputedStyle(document.body).backgroundColor')).toBe('rgb(18, 21, 27)');
    await page.screenshot({ path: join(ARTIFACTS, 'account-phone-dark.png'), fullPage: true });
    expect(violations).toEqual([]);
    await context.close();
  });
});
