import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appInChromium, ARTIFACTS, signInByKeyboard, tabTo } from '../support/chromium.js';

const PUBLIC = 'http://auth.example.com';
const world = appInChromium(
  { server: { public_url: PUBLIC }, session: { domain: 'example.com' } },
  { alice: { password: 'alice admin password', role: 'admin', name: 'Alice Liddell' }, bob: { password: 'bob user password' } },
);

describe('the admin page in a real browser, keyboard only', () => {
  it('an admin adds a user with a generated password, signs out, and the new user signs in with it', async () => {
    const context = await world.browser.newContext();
    const page = await context.newPage();

    await page.goto(`${PUBLIC}/admin`);
    expect(page.url()).toBe(`${PUBLIC}/login?rd=${encodeURIComponent(`${PUBLIC}/admin`)}`);
    await expect(page.title()).resolves.toBe('Sign in');
    await signInByKeyboard(page, 'alice', 'alice admin password', `${PUBLIC}/admin`);
    await expect(page.title()).resolves.toBe('Administration');

    await tabTo(page, 'new-username');
    await page.keyboard.type('dora');
    await page.keyboard.press('Tab'); // role: "user" as it is
    await page.keyboard.press('Tab');
    await page.keyboard.type('family');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Dora Explorer');
    await Promise.all([page.waitForURL(`${PUBLIC}/admin/add-user`), page.keyboard.press('Enter')]);

    expect(await page.textContent('[role=status]')).toBe('Added dora (role user).');
    const password = (await page.textContent('#generated-password'))!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(await page.textContent('table')).toContain('doraDora Explorer');
    await page.screenshot({ path: join(ARTIFACTS, 'admin.png'), fullPage: true });

    // "Signed in as alice. Home", then the home page's sign-out button.
    await tabTo(page, 'Home', 'textContent');
    await Promise.all([page.waitForURL(`${PUBLIC}/`), page.keyboard.press('Enter')]);
    await tabTo(page, 'Sign out', 'textContent');
    await Promise.all([page.waitForURL(/\/login/), page.keyboard.press('Enter')]);

    await expect(page.title()).resolves.toBe('Sign in');
    await signInByKeyboard(page, 'dora', password, `${PUBLIC}/`);
    expect(await page.textContent('h1')).toBe('You are signed in');
    expect(await page.textContent('dl')).toContain('Userdora');
    expect(await page.textContent('dl')).toContain('Groupsfamily');
    await context.close();
  });
});
