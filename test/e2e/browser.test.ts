import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import { readExampleTree } from '../support/examples.js';
import { startNginx, type NginxProcess } from '../support/nginx.js';
import { startProxy, startStack, type Stack } from '../support/stack.js';

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');
const TEST_HOSTS = new Set(['app.example.com', 'auth.example.com', 'admin.example.com']);

let stack: Stack;
let nginx: NginxProcess;
let browser: Browser;

beforeAll(async () => {
  stack = await startStack('nginx/postern.yml', {
    alice: { password: 'correct horse battery', role: 'admin', name: 'Alice Liddell' },
    vera: { password: 'viewer password one', role: 'viewer', name: 'Vera Viewer' },
  });
  nginx = await startProxy(stack, (ports) => startNginx('include postern.conf;', ports.proxy, readExampleTree('nginx', ports)));
  // The test hosts resolve to the nginx under test; nothing else resolves at all.
  browser = await launchChromium(`MAP *.example.com 127.0.0.1:${stack.ports.proxy}`);
  mkdirSync(ARTIFACTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await nginx?.stop();
  await stack?.close();
});

describe('a real browser through nginx', () => {
  it('lands on the login page, signs in with the keyboard only, and sees the app page showing the user', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const requestedHosts = new Set<string>();
    page.on('request', (request) => requestedHosts.add(new URL(request.url()).hostname));

    await page.goto('http://app.example.com/photos');
    expect(new URL(page.url()).host).toBe('auth.example.com');
    expect(new URL(page.url()).searchParams.get('rd')).toBe('http://app.example.com/photos');
    await expect(page.title()).resolves.toBe('Sign in');
    expect(await page.textContent('main p')).toBe('Sign in to continue to app.example.com.');
    await page.screenshot({ path: join(ARTIFACTS, 'browser-login.png') });

    // The username field has autofocus: type, Tab to the password, Enter submits.
    await page.keyboard.type('alice');
    await page.keyboard.press('Tab');
    await page.keyboard.type('correct horse battery');
    await Promise.all([page.waitForURL('http://app.example.com/photos'), page.keyboard.press('Enter')]);

    expect(await page.textContent('h1')).toBe('Hello alice');
    await page.screenshot({ path: join(ARTIFACTS, 'browser-app.png') });
    const seen = stack.app.seen.filter((r) => r.url === '/photos').at(-1);
    expect(seen?.headers['remote-user']).toBe('alice');
    expect(seen?.headers['remote-name']).toBe('Alice Liddell');

    expect([...requestedHosts].filter((h) => !TEST_HOSTS.has(h))).toEqual([]);
    await context.close();
  });

  it('shows a viewer on an admin-only host who they are and why, and "Sign in as someone else" leads to the login page', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto('http://admin.example.com/panel');
    expect(new URL(page.url()).host).toBe('auth.example.com');
    await page.fill('#username', 'vera');
    await page.fill('#password', 'viewer password one');
    const refused = page.waitForResponse((r) => r.url() === 'http://admin.example.com/panel' && r.request().method() === 'GET');
    await page.click('button[type=submit]');
    expect((await refused).status()).toBe(403);

    await expect(page.title()).resolves.toBe('Not allowed');
    expect(await page.textContent('main p')).toBe('You are signed in as Vera Viewer (vera), role viewer.');
    expect(await page.textContent('[role=alert]')).toBe('admin.example.com is open only to some users, groups or roles, and your account is not one of them.');
    await page.screenshot({ path: join(ARTIFACTS, 'browser-forbidden.png') });

    await Promise.all([page.waitForURL(/^http:\/\/auth\.example\.com\/login\?rd=/), page.click('text=Sign in as someone else')]);
    expect(new URL(page.url()).searchParams.get('rd')).toBe('http://admin.example.com/panel');
    await expect(page.title()).resolves.toBe('Sign in');
    await context.close();
  });
});
