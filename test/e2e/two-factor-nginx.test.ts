/**
 * A second factor through real nginx (examples/nginx, with the admin panel's rule turned into
 * `policy: two_factor`) in front of the built Postern: a password sign-in that asks for an
 * authenticator code, and a step-up when a one-factor session reaches the two-factor rule.
 * Codes come from the test's own authenticator, at the real time (Postern runs as its own process).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { editUsersFile } from '../../src/auth/users-file-writer.js';
import { readExample, readExampleTree } from '../support/examples.js';
import { testAuthenticator } from '../support/factors.js';
import { TestClient } from '../support/http-client.js';
import { startNginx } from '../support/nginx.js';
import { startProxy, startStack, type Stack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';

const KEY = 'an-encryption-key-for-the-nginx-test-0123456789';
const PASSWORD = 'correct horse battery';
const APP = 'http://app.example.com';
const ADMIN = 'http://admin.example.com';
const AUTH = 'http://auth.example.com';

const ADMIN_RULE = `    - hosts: [admin.example.com]
      subjects: ["role:admin"]
      policy: authenticated`;

const alice = testAuthenticator('alice', { key: KEY });
const bob = testAuthenticator('bob', { key: KEY });
// Sealed under a key this installation never had (a users file copied from elsewhere).
const carol = testAuthenticator('carol', { key: 'another-installation-key-0123456789abcdef' });

describe('second factor through nginx (examples/nginx)', () => {
  let stack: Stack;
  let nginx: { stop(): Promise<void> };
  const browser = () => new TestClient(stack.ports.proxy);

  beforeAll(async () => {
    const example = readExample('nginx/postern.yml');
    expect(example).toContain(ADMIN_RULE);
    const text = example.replace(ADMIN_RULE, ADMIN_RULE.replace('policy: authenticated', 'policy: two_factor'));
    stack = await startStack(
      { text },
      { alice: { password: PASSWORD, role: 'admin', factors: alice.factors }, bob: { password: PASSWORD, role: 'admin' }, carol: { password: PASSWORD, factors: carol.factors } },
      { POSTERN_SECRETS_ENCRYPTION_KEY: KEY },
    );
    nginx = await startProxy(stack, async (ports) => startNginx('include postern.conf;', ports.proxy, readExampleTree('nginx', ports)));
  });
  afterAll(async () => {
    await nginx?.stop();
    await stack?.close();
  });

  it('starts with a factor it cannot decrypt, says whose and which key setting, and never signs that user in without it', async () => {
    expect(stack.postern.logLines().find((l) => l.event === 'two_factor.undecryptable')).toMatchObject({ user: 'carol', setting: 'secrets.encryption_key', level: 50 });
    const b = browser();
    const start = await b.get(`${APP}/welcome`);
    const second = (await b.submitForm(start.header('location')!, { username: 'carol', password: PASSWORD })).header('location')!;
    expect(second).toContain(`${AUTH}/login/2fa`);
    expect((await b.submitForm(second, { code: await carol.code(Date.now()) })).status).toBe(401);
    expect((await b.get(`${APP}/welcome`)).status).toBe(302);
  });

  it('asks for the authenticator code after the password, and only then lets the browser into the app', async () => {
    const b = browser();
    const start = await b.get(`${APP}/welcome`);
    expect(start.status).toBe(302);
    const password = await b.submitForm(start.header('location')!, { username: 'alice', password: PASSWORD });
    expect(password.status).toBe(303);
    const second = password.header('location')!;
    expect(second).toBe(`${AUTH}/login/2fa?rd=${encodeURIComponent(`${APP}/welcome`)}`);
    // Not signed in yet: nginx still sends the browser to sign in.
    const meanwhile = await b.get(`${APP}/welcome`);
    expect(meanwhile.status).toBe(302);
    expect(meanwhile.header('location')).toContain(`${AUTH}/login?rd=`);

    const wrong = await b.submitForm(second, { code: 'abcdef' });
    expect(wrong.status).toBe(401);
    const done = await b.submitForm(second, { code: await alice.code(Date.now()) });
    expect(done.status).toBe(303);
    expect(done.header('location')).toBe(`${APP}/welcome`);
    const page = await b.get(`${APP}/welcome`);
    expect(page.status).toBe(200);
    expect(stack.app.seen.filter((r) => r.url === '/welcome').at(-1)!.headers['remote-user']).toBe('alice');
    // Two factors: the admin panel's two_factor rule lets her through at once.
    expect((await b.get(`${ADMIN}/`)).status).toBe(200);
  });

  it('sends a one-factor session to /login/2fa at the two_factor rule, and back to the page after the code', async () => {
    const b = browser();
    const start = await b.get(`${ADMIN}/settings`);
    expect((await b.submitForm(start.header('location')!, { username: 'bob', password: PASSWORD })).status).toBe(303);
    // A one-factor session at the two_factor rule is sent to the second-factor page, as to sign-in.
    const stepUp = await b.get(`${ADMIN}/settings`);
    expect(stepUp.status).toBe(302);
    const location = `${AUTH}/login/2fa?rd=${encodeURIComponent(`${ADMIN}/settings`)}`;
    expect(stepUp.header('location')).toBe(location);
    // It still reaches the authenticated app.
    expect((await b.get(`${APP}/welcome`)).status).toBe(200);
    // Bob has no factor: the page tells him to add one.
    expect((await b.get(location)).status).toBe(403);

    // An admin adds one now (as an edit of the users file), while his session lives on.
    await editUsersFile(join(stack.postern.dir, 'data', 'users.yml'), (file) => file.setFactors('bob', bob.factors));
    const page = await waitFor(
      async () => {
        const reply = await b.get(location);
        return reply.status === 200 ? reply : undefined;
      },
      { what: 'the server to see the new factor and ask for it' },
    );
    expect(page.body).toContain('to continue to <strong>admin.example.com</strong>');
    const done = await b.submitForm(location, { code: await bob.code(Date.now()) });
    expect(done.status).toBe(303);
    expect(done.header('location')).toBe(`${ADMIN}/settings`);
    expect((await b.get(`${ADMIN}/settings`)).status).toBe(200);
    expect(stack.app.seen.filter((r) => r.url === '/settings').at(-1)!.headers['remote-user']).toBe('bob');
  });
});
