/**
 * The account page as a browser uses it: sign in, open /account, post one of its forms (found by
 * its action) with the page's own CSRF token.
 */
import { afterAll, beforeAll } from 'vitest';
import { startApp, type AppFixture, type TestUser } from './app-fixture.js';
import type { Reply } from './http-client.js';
import { TestClient } from './http-client.js';

export const PORTAL = 'http://auth.example.com';
export const ACCOUNT = `${PORTAL}/account`;

/**
 * The real app for one test file, at http://auth.example.com on session.domain example.com, started
 * before its tests and closed after them; `config` adds to that (e.g. `login`). `address()` gives
 * each browser its own client address.
 */
export function useAccountApp(users: Record<string, TestUser>, config: Record<string, unknown> = {}, opts: Parameters<typeof startApp>[2] = {}) {
  let app: AppFixture | undefined;
  let next = 1;
  beforeAll(async () => {
    app = await startApp({ server: { public_url: PORTAL, trusted_proxies: ['loopback'] }, session: { domain: 'example.com' }, ...config }, users, opts);
  });
  afterAll(() => app?.close());
  return {
    get app(): AppFixture {
      if (!app) throw new Error('the app starts in beforeAll');
      return app;
    },
    address: () => `198.51.100.${next++}`,
  };
}

/** A browser coming from its own address (so one test's throttle counts never reach another's), signed in as `username`. */
export async function signedIn(port: number, username: string, password: string, address: string): Promise<TestClient> {
  const client = new TestClient(port);
  const request = client.request.bind(client);
  client.request = (url, opts = {}) => request(url, { ...opts, headers: { 'x-forwarded-for': address, 'user-agent': AGENT, ...(opts.headers ?? {}) } });
  const reply = await client.submitForm(`${PORTAL}/login`, { username, password });
  if (reply.status !== 303) throw new Error(`sign-in as ${username} failed: ${reply.status}\n${reply.body.slice(0, 300)}`);
  return client;
}

export const AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** Every form of a page: its action and fields (hidden inputs only). */
export function formsOf(html: string): Array<{ action: string; fields: Record<string, string> }> {
  return [...html.matchAll(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)].map((m) => ({
    action: m[1]!,
    fields: Object.fromEntries([...m[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((f) => [f[1]!, f[2]!])),
  }));
}

/** Opens /account and posts its form for `path` (the first one, or the one whose hidden fields include `pick`) with `fields`. */
export async function postAccountForm(client: TestClient, path: string, fields: Record<string, string>, pick: Record<string, string> = {}): Promise<Reply> {
  const page = await client.get(ACCOUNT);
  const form = formsOf(page.body).find((f) => f.action === `${ACCOUNT}${path}` && Object.entries(pick).every(([k, v]) => f.fields[k] === v));
  if (!form) throw new Error(`no form for ${path} ${JSON.stringify(pick)} on the account page:\n${page.body.slice(0, 500)}`);
  return client.request(form.action, { method: 'POST', body: new URLSearchParams({ ...form.fields, ...fields }), headers: { accept: 'text/html' } });
}

/** The CSRF token of the account page, for a post built by hand. */
export async function accountCsrf(client: TestClient): Promise<string> {
  const token = formsOf((await client.get(ACCOUNT)).body)[0]?.fields.csrf;
  if (!token) throw new Error('no CSRF token on the account page');
  return token;
}

/** The first error or notice text of a page. */
export function flashOf(html: string): string | undefined {
  return /<div class="(?:error|notice)" role="(?:alert|status)">([^<]*)/.exec(html)?.[1];
}
