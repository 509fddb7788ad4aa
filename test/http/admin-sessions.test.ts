import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createLoginThrottle } from '../../src/auth/login-throttle.js';
import { serialiseUsers, UsersFile } from '../../src/auth/users-file.js';
import { createRedisClient } from '../../src/store/redis-client.js';
import { sessionHandle } from '../../src/store/session-store.js';
import { buildUsers, startApp, type AppFixture } from '../support/app-fixture.js';
import { ADMIN, adminPost, messageOf, PUBLIC, signedIn, usersOnDisk } from '../support/admin-pages.js';
import { addAppPassword } from '../support/app-passwords.js';
import { readOnlyDirectory, type Mounted } from '../support/mounts.js';
import { freePort } from '../support/free-port.js';
import { TestClient } from '../support/http-client.js';

const CONFIG = {
  server: { public_url: PUBLIC, trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
};
const USERS = {
  alice: { password: 'alice admin password', role: 'admin' },
  bob: { password: 'bob user password', role: 'user' },
  carol: { password: 'carol user password', role: 'user' },
};

describe('sessions, throttle and app passwords on /admin', () => {
  let app: AppFixture;
  beforeAll(async () => {
    app = await startApp(CONFIG, USERS);
  });
  afterAll(() => app.close());

  it('lists every session, filters by user, ends one, then all of a user', async () => {
    const alice = await signedIn(app, 'alice', USERS.alice.password);
    const phone = await signedIn(app, 'bob', USERS.bob.password, { 'user-agent': 'Mozilla/5.0 (iPhone) Safari' });
    const laptop = await signedIn(app, 'bob', USERS.bob.password, { 'user-agent': 'Mozilla/5.0 (X11; Linux) Firefox' });
    const [first, second] = await app.deps.store.listByUser('bob');

    const every = await alice.get(ADMIN);
    expect(every.body).toContain('<h2 id="sessions">Sessions</h2>');
    expect(every.body).toContain(`<code>${sessionHandle(first!.id).slice(0, 8)}</code></td><td>bob</td><td>password</td>`);
    expect(every.body).toMatch(/<td>alice<\/td><td>password<\/td>/);
    expect(every.body).not.toContain(first!.id); // the id is the cookie value: never shown

    const bobs = await alice.get(`${ADMIN}?user=BOB`);
    expect(bobs.body).toContain('<h2 id="sessions">Sessions of bob</h2>');
    expect(bobs.body).not.toMatch(/<td>alice<\/td><td>password<\/td>/);
    expect(bobs.body.match(/value="[0-9a-f]{64}"/g)).toHaveLength(2);

    const one = await adminPost(alice, 'revoke-session', { session: sessionHandle(first!.id) });
    expect(one.status).toBe(200);
    expect(messageOf(one.body, 'status')).toBe(`Ended session ${sessionHandle(first!.id).slice(0, 8)} of bob.`);
    expect((await app.deps.store.listByUser('bob')).map((s) => s.id)).toEqual([second!.id]);
    expect((await phone.get(`${PUBLIC}/`)).status).toBe(302);
    expect((await laptop.get(`${PUBLIC}/`)).status).toBe(200);

    const gone = await adminPost(alice, 'revoke-session', { session: sessionHandle(first!.id) });
    expect(gone.status).toBe(404);
    expect(messageOf(gone.body, 'alert')).toBe(`No session has the ID ${sessionHandle(first!.id)}; nothing was ended.`);

    const all = await adminPost(alice, 'revoke-sessions', { user: 'bob' });
    expect(messageOf(all.body, 'status')).toBe('Ended 1 session of bob.');
    expect(await app.deps.store.listByUser('bob')).toEqual([]);
    expect((await laptop.get(`${PUBLIC}/`)).status).toBe(302);
    expect(app.logs.filter((l) => l.event === 'admin.revoke-sessions').at(-1)).toMatchObject({ admin: 'alice', user: 'bob', sessions: 1 });
  });

  it('shows the failed sign-in counters and clears them by address or by user', async () => {
    const alice = await signedIn(app, 'alice', USERS.alice.password);
    await signedIn(app, 'carol', USERS.carol.password); // her browser becomes a trusted device
    const guesser = new TestClient(app.port);
    for (let i = 0; i < 2; i++) {
      expect((await guesser.submitForm(`${PUBLIC}/login`, { username: 'carol', password: `guess ${i}` })).status).toBe(401);
    }
    const page = await alice.get(ADMIN);
    expect(page.body).toContain('<tr><td>ip</td><td>127.0.0.1</td><td>2</td><td>—</td>');
    expect(page.body).toContain('<tr><td>user</td><td>carol</td><td>2</td><td>—</td>');

    const byAddress = await adminPost(alice, 'clear-throttle', { ip: '127.0.0.1' });
    expect(messageOf(byAddress.body, 'status')).toBe('Cleared 2 counters of 127.0.0.1.');
    expect(byAddress.body).not.toContain('<tr><td>ip</td>');
    expect(byAddress.body).toContain('<tr><td>user</td><td>carol</td>');

    const byUser = await adminPost(alice, 'clear-throttle', { user: 'carol' });
    expect(messageOf(byUser.body, 'status')).toBe('Cleared 1 counter of carol, and ended the trust of 1 device.');
    expect(byUser.body).toContain('No failed sign-ins are being counted.');
    expect((await app.deps.throttle.list()).filter((e) => e.scope !== 'ip')).toEqual([]);
    expect(messageOf((await adminPost(alice, 'clear-throttle', { user: 'carol' })).body, 'status')).toBe('Cleared 0 counters of carol, and ended the trust of 0 devices.');
  });

  it('lists every app password and revokes one', async () => {
    const alice = await signedIn(app, 'alice', USERS.alice.password);
    const { id } = await addAppPassword(app, 'bob', { name: 'phone', readOnly: true });
    const page = await alice.get(ADMIN);
    expect(page.body).toMatch(new RegExp(`<tr><td><code>${id}</code></td><td>bob</td><td>phone</td><td>[0-9T:-]+Z</td><td>never</td><td>every host</td><td>read-only</td>`));
    expect(page.body).toContain(`<tr><td><a href="${ADMIN}?user=bob">bob</a></td><td>user</td><td>—</td><td>—</td><td>no</td><td>1</td></tr>`);

    const reply = await adminPost(alice, 'revoke-token', { token: id });
    expect(reply.status).toBe(200);
    expect(messageOf(reply.body, 'status')).toBe(`Revoked the app password ${id} of bob.`);
    expect(usersOnDisk(app).get('bob')!.appPasswords).toBeUndefined();
    expect(reply.body).toContain('No app passwords.');

    const again = await adminPost(alice, 'revoke-token', { token: id });
    expect(again.status).toBe(404);
    expect(messageOf(again.body, 'alert')).toBe(`There is no app password ${id}; nothing was changed.`);
  });
});

describe('throttle counters in a Redis that does not answer', () => {
  let app: AppFixture;
  let redis: Redis;
  beforeAll(async () => {
    redis = createRedisClient(`redis://127.0.0.1:${await freePort()}/0`, { commandTimeoutMs: 200 });
    app = await startApp(CONFIG, USERS, { extraDeps: (base) => ({ throttle: createLoginThrottle(base.config.login.throttle, { redis }) }) });
  });
  afterAll(async () => {
    await app.close();
    redis.disconnect();
  });

  it('leave the rest of the page working, and say so where the counters would be', async () => {
    const alice = await signedIn(app, 'alice', USERS.alice.password);
    const page = await alice.get(ADMIN);
    expect(page.status).toBe(200);
    expect(messageOf(page.body, 'alert')).toBe('The failed sign-in counters could not be read: Redis does not answer. Try again in a moment.');
    expect(page.body).toContain(`${ADMIN}?user=bob`);
    expect(app.logs.some((l) => l.event === 'admin.throttle_unavailable')).toBe(true);
  });
});

describe('a users file Postern cannot write', () => {
  let app: AppFixture | undefined;
  let mounted: Mounted | undefined;
  let file = '';
  beforeAll(async () => {
    mounted = await readOnlyDirectory({ 'users.yml': serialiseUsers(await buildUsers(USERS)) });
    if (!mounted) return;
    file = join(mounted.dir, 'users.yml');
    const users = await UsersFile.open(file, { watch: false });
    app = await startApp({ ...CONFIG, users: { file } }, USERS, { extraDeps: () => ({ users }) });
  });
  afterAll(async () => {
    await app?.close();
    await mounted?.cleanup();
  });

  it('makes the page read-only, saying why and which commands to use; a POST writes nothing', async (ctx) => {
    if (!app) return ctx.skip(); // no way to make a read-only directory here (root without CAP_SYS_ADMIN)
    const alice = await signedIn(app, 'alice', USERS.alice.password);
    const page = await alice.get(ADMIN);
    expect(page.status).toBe(200);
    expect(messageOf(page.body, 'status')).toMatch(
      new RegExp(`^Read-only: The users file ${file} cannot be written by Postern here \\((EROFS|EACCES)\\): it may be mounted read-only, such as a Kubernetes Secret. Change users at the file's source, or with postern user add\\|passwd\\|disable\\|enable\\|remove NAME and postern token revoke ID where the file is writable.$`),
    );
    expect(page.body).not.toContain('action="http://auth.example.com/admin/add-user"');
    expect((await alice.get(`${ADMIN}?user=bob`)).body).toContain('<code>postern user passwd|disable|enable|remove bob</code>');
    // Sessions and counters are not in the users file: they can still be ended and cleared.
    expect(page.body).toContain('action="http://auth.example.com/admin/clear-throttle"');

    const before = readFileSync(file, 'utf8');
    const reply = await adminPost(alice, 'disable', { user: 'bob' });
    expect(reply.status).toBe(409);
    expect(messageOf(reply.body, 'alert')).toMatch(/^The users file .* cannot be written by Postern here \((EROFS|EACCES)\)/);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });
});
