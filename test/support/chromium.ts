/**
 * The Chromium the e2e tests drive (playwright-core over the system's /usr/bin/chromium), headless,
 * with nothing of its own reaching the network: `hostRules` maps the test hosts to the server under
 * test, and every other name fails to resolve.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startApp, type AppFixture, type TestUser } from './app-fixture.js';

export function launchChromium(hostRules: string): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--host-resolver-rules=${hostRules}, MAP * ~NOTFOUND`,
    ],
  });
}

/**
 * Presses Tab until the focused element's `property` (its id, or its text) is `want`, as a keyboard
 * user would; at most 200 presses.
 */
export async function tabTo(page: Page, want: string, property: 'id' | 'textContent' = 'id'): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await page.evaluate<string | undefined>(`document.activeElement?.${property}`)) === want) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached the element whose ${property} is ${want}`);
}

/** The sign-in form, by keyboard (the username field has autofocus); waits for `landing`. */
export async function signInByKeyboard(page: Page, username: string, password: string, landing: string | RegExp): Promise<void> {
  // Autofocus may land a moment after the load event on a busy machine: keys typed before it are lost ('bob' became 'ob').
  await page.waitForFunction("document.activeElement?.id === 'username'");
  await page.keyboard.type(username);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await Promise.all([page.waitForURL(landing), page.keyboard.press('Enter')]);
}

/** Where the browser tests save their screenshots (ignored by git). */
export const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');

/**
 * For the tests of one file: the real app (startApp) as `host` (auth.example.com), and a Chromium
 * that reaches nothing else; both closed after the file's tests. Read `app` and `browser` inside the tests.
 */
export function appInChromium(config: Record<string, unknown>, users: Record<string, TestUser>, host = 'auth.example.com'): { readonly app: AppFixture; readonly browser: Browser } {
  let app: AppFixture | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    app = await startApp(config, users);
    browser = await launchChromium(`MAP ${host} 127.0.0.1:${app.port}`);
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });
  return {
    get app() {
      return app!;
    },
    get browser() {
      return browser!;
    },
  };
}
