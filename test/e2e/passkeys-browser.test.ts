import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appInChromium, ARTIFACTS, signInByKeyboard, tabTo } from '../support/chromium.js';

/**
 * Passkeys in a real Chromium, with the DevTools protocol's virtual authenticator standing in for a
 * phone or a security key, keyboard only: sign in with the password, add a passkey on the account
 * page, sign out, sign in with the passkey alone, then with the password and the passkey as its second step.
 *
 * WebAuthn needs a secure context: `http://*.localhost` is one, so the portal is
 * auth.postern.localhost (session.domain postern.localhost, the relying party id), mapped to the
 * app's loopback port.
 */
const PORTAL = 'http://auth.postern.localhost';
const PASSWORD = 'correct horse battery';
const run = appInChromium(
  { server: { public_url: PORTAL, trusted_proxies: ['loopback'] }, session: { domain: 'postern.localhost' } },
  { alice: { password: PASSWORD, name: 'Alice Liddell' } },
  'auth.postern.localhost',
);

describe('passkeys in a real browser', () => {
  it('adds a passkey on the account page, signs in with it alone, then uses it as the second step; keyboard only', async () => {
    const { app, browser } = run;
    const context = await browser.newContext();
    const page = await context.newPage();
    // A Content-Security-Policy refusal (an inline script, a fetch it does not allow) shows up here.
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
    });

    // Sign in with the password: the username field has autofocus.
    await page.goto(`${PORTAL}/login`);
    await expect(page.title()).resolves.toBe('Sign in');
    expect(await page.locator('form[data-passkey]').count()).toBe(0); // nobody has a passkey yet
    await signInByKeyboard(page, 'alice', PASSWORD, `${PORTAL}/`);

    // Add a passkey: name it, Enter; the script runs the ceremony and posts the form.
    await page.goto(`${PORTAL}/account/2fa/passkeys`);
    await expect(page.title()).resolves.toBe('Passkeys');
    expect(await page.isVisible('form[data-passkey="create"]')).toBe(true); // the script showed it
    expect(await page.isVisible('[data-passkey-fallback]')).toBe(false);
    await tabTo(page, 'passkey-name');
    await page.keyboard.type('This laptop');
    await Promise.all([page.waitForURL(`${PORTAL}/account/2fa/passkeys?done=added`), page.keyboard.press('Enter')]);
    expect(await page.textContent('.notice')).toBe('Passkey added.');
    expect(await page.textContent('.items strong')).toBe('This laptop');
    await page.screenshot({ path: join(ARTIFACTS, 'passkeys-account.png'), fullPage: true });

    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]).toMatchObject({ isResidentCredential: true, rpId: 'postern.localhost' });

    // Sign out from the home page.
    await page.goto(`${PORTAL}/`);
    await tabTo(page, 'Sign out', 'textContent');
    await Promise.all([page.waitForURL(/\/login/), page.keyboard.press('Enter')]);

    // Sign in with the passkey alone: no username, no password.
    await page.goto(`${PORTAL}/login`);
    expect(await page.isVisible('form[data-passkey="get"]')).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'passkeys-sign-in.png') });
    await tabTo(page, 'Sign in with a passkey', 'textContent');
    await Promise.all([page.waitForURL(`${PORTAL}/`), page.keyboard.press('Enter')]);
    expect(await page.textContent('h1')).toBe('You are signed in');

    const sessions = await app.deps.store.listByUser('alice');
    expect(sessions.at(-1)?.data).toMatchObject({ user: 'alice', amr: ['hwk', 'mfa'] });
    expect(app.logs.some((l) => l.event === 'login.success' && l.method === 'passkey' && l.passkey === 'This laptop')).toBe(true);

    // Sign out, then the password and the passkey as its second step.
    await page.goto(`${PORTAL}/`);
    await tabTo(page, 'Sign out', 'textContent');
    await Promise.all([page.waitForURL(/\/login/), page.keyboard.press('Enter')]);
    await page.goto(`${PORTAL}/login`);
    await signInByKeyboard(page, 'alice', PASSWORD, `${PORTAL}/login/2fa`);
    expect(await page.isVisible('form[data-passkey="get"]')).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'passkeys-second-step.png') });
    await tabTo(page, 'Use a passkey', 'textContent');
    await Promise.all([page.waitForURL(`${PORTAL}/`), page.keyboard.press('Enter')]);
    expect((await app.deps.store.listByUser('alice')).at(-1)?.data.amr).toEqual(['pwd', 'hwk']);

    // The passkeys page on a phone, dark.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${PORTAL}/account/2fa/passkeys`);
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true); // no sideways scrolling
    await page.screenshot({ path: join(ARTIFACTS, 'passkeys-account-phone-dark.png'), fullPage: true });

    expect(consoleErrors).toEqual([]);
    await context.close();
  }, 60_000);
});
