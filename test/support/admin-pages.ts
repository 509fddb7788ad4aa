/** A browser on the admin page of a test app: sign in, read the page, post its forms. */
import { readFileSync } from 'node:fs';
import { parseUsersFile } from '../../src/auth/users-file-parse.js';
import type { User } from '../../src/auth/user.js';
import type { AppFixture } from './app-fixture.js';
import { TestClient, type Reply } from './http-client.js';

export const PUBLIC = 'http://auth.example.com';
export const ADMIN = `${PUBLIC}/admin`;

/** A browser signed in as `username`. */
export async function signedIn(app: AppFixture, username: string, password: string, headers: Record<string, string> = {}): Promise<TestClient> {
  const client = new TestClient(app.port);
  const page = await client.get(`${PUBLIC}/login`);
  const csrf = csrfOf(page.body);
  const reply = await client.request(`${PUBLIC}/login`, { method: 'POST', body: new URLSearchParams({ csrf, username, password }), headers: { accept: 'text/html', ...headers } });
  if (reply.status !== 303) throw new Error(`sign-in as ${username} answered ${reply.status}`);
  return client;
}

/** The form token of a page. */
export function csrfOf(body: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(body);
  if (!m) throw new Error(`no form token in page:\n${body.slice(0, 400)}`);
  return m[1]!;
}

/** Posts `/admin/<action>` with the page's own form token (unless `csrf` is given, '' for none), as the page's forms do. */
export async function adminPost(client: TestClient, action: string, fields: Record<string, string>, opts: { csrf?: string } = {}): Promise<Reply> {
  const csrf = opts.csrf ?? csrfOf((await client.get(ADMIN)).body);
  const body = new URLSearchParams(csrf === '' ? fields : { csrf, ...fields });
  return client.request(`${ADMIN}/${action}`, { method: 'POST', body, headers: { accept: 'text/html' } });
}

/** The users file as it is on disk now. */
export function usersOnDisk(app: AppFixture): ReadonlyMap<string, User> {
  const { users, problems } = parseUsersFile(readFileSync(app.usersFile, 'utf8'), app.usersFile);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return users;
}

/** The text of the page's alert (a refusal) or status notice, tags removed. */
export function messageOf(body: string, role: 'alert' | 'status'): string | undefined {
  const m = new RegExp(`<div class="[a-z]+" role="${role}">([\\s\\S]*?)</div>`).exec(body);
  return m ? m[1]!.replace(/<[^>]+>/g, '').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&') : undefined;
}

/** The password the page shows once after it generated one. */
export function generatedPassword(body: string): string | undefined {
  return /<code class="secret" id="generated-password">([^<]+)<\/code>/.exec(body)?.[1];
}
