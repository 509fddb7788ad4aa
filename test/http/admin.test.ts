import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fastHasher, startApp, type AppFixture } from '../support/app-fixture.js';
import { ADMIN, adminPost, generatedPassword, messageOf, PUBLIC, signedIn, usersOnDisk } from '../support/admin-pages.js';
import { TestClient } from '../support/http-client.js';

const CONFIG = {
  server: { public_url: PUBLIC, trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
};
const USERS = {
  alice: { password: 'alice admin password', role: 'admin', groups: ['admins'] },
  bob: { password: 'bob user password', role: 'user', groups: ['family'], email: 'bob@example.com' },
};

let app: AppFixture;
let alice: TestClient;

beforeAll(async () => {
  app = await startApp(CONFIG, USERS);
});
afterAll(() => app.close());
beforeEach(async () => {
  await app.setUsers(USERS);
  alice = await signedIn(app, 'alice', USERS.alice.password);
});

const fileText = () => readFileSync(app.usersFile, 'utf8');
const sessionsOf = async (user: string) => (await app.deps.store.listByUser(user)).length;
const audit = (event: string) => app.logs.filter((l) => l.event === event);

describe('who may use /admin', () => {
  it('sends an anonymous visitor to sign in and back, as / does; a POST changes nothing', async () => {
    const before = fileText();
    const page = await new TestClient(app.port).get(ADMIN);
    expect(page.status).toBe(302);
    expect(page.header('location')).toBe(`${PUBLIC}/login?rd=${encodeURIComponent(ADMIN)}`);
    const post = await new TestClient(app.port).request(`${ADMIN}/remove`, { method: 'POST', body: new URLSearchParams({ user: 'bob' }) });
    expect(post.status).toBe(303);
    expect(post.header('location')).toBe(`${PUBLIC}/login?rd=${encodeURIComponent(ADMIN)}`);
    expect(fileText()).toBe(before);
  });

  it('answers a signed-in non-admin with a logged 403 page, and writes nothing for their POST', async () => {
    const before = fileText();
    const bob = await signedIn(app, 'bob', USERS.bob.password);
    const page = await bob.get(ADMIN);
    expect(page.status).toBe(403);
    expect(page.body).toContain('<h1>Not allowed</h1>');
    expect(page.body).toContain('The administration page is only for administrators, and bob is not one (admin.subjects).');
    expect(page.body).not.toContain('alice');
    expect((await adminPost(bob, 'remove', { user: 'alice' }, { csrf: 'x'.repeat(43) })).status).toBe(403);
    expect(fileText()).toBe(before);
    expect(audit('admin.forbidden').at(-1)).toMatchObject({ user: 'bob', role: 'user', method: 'POST' });
  });

  it('is linked from the home page, next to the account page, for an admin only', async () => {
    const home = await alice.get(`${PUBLIC}/`);
    expect(home.status).toBe(200);
    expect(home.body).toContain(`<a href="${PUBLIC}/account">Your account</a>`);
    expect(home.body).toContain(`<a href="${ADMIN}">Administration</a>`);
    const bob = await signedIn(app, 'bob', USERS.bob.password);
    const bobsHome = await bob.get(`${PUBLIC}/`);
    expect(bobsHome.status).toBe(200);
    expect(bobsHome.body).toContain(`<a href="${PUBLIC}/account">Your account</a>`);
    expect(bobsHome.body).not.toContain(ADMIN);
  });

  it('shows an admin every user with the same headers as the other pages', async () => {
    const page = await alice.get(ADMIN);
    expect(page.status).toBe(200);
    expect(page.header('content-security-policy')).toBe((await alice.get(`${PUBLIC}/login`)).header('content-security-policy'));
    expect(page.header('cache-control')).toBe('no-store');
    expect(page.header('x-frame-options')).toBe('DENY');
    expect(page.body).toContain('<title>Administration</title>');
    expect(page.body).toContain(`<tr><td><a href="${ADMIN}?user=bob">bob</a></td><td>user</td><td>family</td><td>—</td><td>no</td><td>0</td></tr>`);
    expect(page.body).toContain(`<tr><td><a href="${ADMIN}?user=alice">alice</a></td><td>admin</td><td>admins</td><td>—</td><td>no</td><td>0</td></tr>`);
    // No second factors exist yet: no button to reset them.
    expect((await alice.get(`${ADMIN}?user=bob`)).body).not.toContain('Reset second factors');
  });
});

describe('adding a user', () => {
  it('generates a password, shows it once, and the new user can sign in with it', async () => {
    const reply = await adminPost(alice, 'add-user', { user: 'Carol', role: 'viewer', groups: 'family\ncctv', name: 'Carol C', email: '', password_mode: 'generate' });
    expect(reply.status).toBe(200);
    expect(messageOf(reply.body, 'status')).toBe('Added carol (role viewer).');
    const password = generatedPassword(reply.body)!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const carol = usersOnDisk(app).get('carol')!;
    expect(carol).toMatchObject({ role: 'viewer', groups: ['family', 'cctv'], name: 'Carol C', disabled: false });
    expect(await fastHasher.verify(carol.password, password)).toBe(true);
    expect((await alice.get(ADMIN)).body).not.toContain(password);
    await signedIn(app, 'carol', password);
    expect(audit('admin.add-user').at(-1)).toMatchObject({ admin: 'alice', user: 'carol', role: 'viewer', groups: ['family', 'cctv'], password_source: 'generated' });
    expect(app.rawLog()).not.toContain(password);
  });

  it('sets the password given when it is long enough, and refuses a short one or a taken name', async () => {
    const ok = await adminPost(alice, 'add-user', { user: 'dave', role: 'user', password_mode: 'set', password: 'dave chose this one' });
    expect(ok.status).toBe(200);
    expect(generatedPassword(ok.body)).toBeUndefined();
    await signedIn(app, 'dave', 'dave chose this one');
    expect(app.rawLog()).not.toContain('dave chose this one');

    const before = fileText();
    const short = await adminPost(alice, 'add-user', { user: 'erin', role: 'user', password_mode: 'set', password: 'short' });
    expect(short.status).toBe(400);
    expect(messageOf(short.body, 'alert')).toBe('The password has 5 characters, fewer than users.min_password_length (12). Choose a longer one, or let Postern generate one. Nothing was changed.');
    const taken = await adminPost(alice, 'add-user', { user: 'BOB', role: 'user', password_mode: 'generate' });
    expect(taken.status).toBe(409);
    expect(messageOf(taken.body, 'alert')).toBe('A user bob already exists; nothing was changed.');
    expect(fileText()).toBe(before);
  });
});

describe('changing a user', () => {
  it('disables a user, ending their sessions at once, and enables them again', async () => {
    const before = await sessionsOf('bob');
    const bob = await signedIn(app, 'bob', USERS.bob.password);
    expect(await sessionsOf('bob')).toBe(before + 1);
    const reply = await adminPost(alice, 'disable', { user: 'bob' });
    expect(reply.status).toBe(200);
    expect(messageOf(reply.body, 'status')).toBe('Disabled bob: they cannot sign in, and their sessions have ended.');
    expect(usersOnDisk(app).get('bob')!.disabled).toBe(true);
    expect(await sessionsOf('bob')).toBe(0);
    expect((await bob.get(`${PUBLIC}/`)).status).toBe(302);
    expect(audit('admin.disable').at(-1)).toMatchObject({ admin: 'alice', user: 'bob', sessions: before + 1 });

    expect((await adminPost(alice, 'disable', { user: 'bob' })).status).toBe(409);
    expect((await adminPost(alice, 'enable', { user: 'bob' })).status).toBe(200);
    expect(usersOnDisk(app).get('bob')!.disabled).toBe(false);
    await signedIn(app, 'bob', USERS.bob.password);
  });

  it('changes role and groups, keeping the rest of the entry', async () => {
    const reply = await adminPost(alice, 'set-role', { user: 'bob', role: 'viewer', groups: 'family\nfriends' });
    expect(reply.status).toBe(200);
    expect(messageOf(reply.body, 'status')).toBe('bob now has role viewer and groups family, friends.');
    expect(usersOnDisk(app).get('bob')).toMatchObject({ role: 'viewer', groups: ['family', 'friends'], email: 'bob@example.com' });
    expect(reply.body).toContain('<td>viewer</td><td>family, friends</td>');
  });

  it('resets a password: a new one shown once, the old one and the sessions opened with it end', async () => {
    await signedIn(app, 'bob', USERS.bob.password);
    const reply = await adminPost(alice, 'reset-password', { user: 'bob' });
    expect(reply.status).toBe(200);
    const password = generatedPassword(reply.body)!;
    expect(messageOf(reply.body, 'status')).toBe('New password for bob; their sessions have ended.');
    expect(await sessionsOf('bob')).toBe(0);
    await expect(signedIn(app, 'bob', USERS.bob.password)).rejects.toThrow('answered 401');
    await signedIn(app, 'bob', password);
    expect(app.rawLog()).not.toContain(password);
  });

  it('removes a user and their sessions', async () => {
    await signedIn(app, 'bob', USERS.bob.password);
    const reply = await adminPost(alice, 'remove', { user: 'bob', confirm: 'yes' });
    expect(reply.status).toBe(200);
    expect(messageOf(reply.body, 'status')).toBe('Removed bob; their sessions have ended.');
    expect(usersOnDisk(app).has('bob')).toBe(false);
    expect(await sessionsOf('bob')).toBe(0);
    expect(reply.body).not.toContain(`${ADMIN}?user=bob`);
  });
});

describe('refused forms: a message on the page, nothing written', () => {
  it.each([
    ['an unknown user', 'remove', { user: 'ghost', confirm: 'yes' }, 404, 'There is no user ghost; nothing was changed.'],
    ['a role with a comma', 'set-role', { user: 'bob', role: 'user,admin' }, 400, 'The role "user,admin" contains a comma, which separates groups in the identity headers. Nothing was changed.'],
    ['a group with a control character', 'set-role', { user: 'bob', role: 'user', groups: 'fam\u001bily' }, 400, 'The group "fam\\u001bily" contains a control character. Nothing was changed.'],
    ['a group with a comma', 'add-user', { user: 'erin', role: 'user', groups: 'a,b' }, 400, 'The group "a,b" contains a comma, which separates groups in the identity headers: put one group per line. Nothing was changed.'],
    ['resetting second factors nobody has', 'reset-factors', { user: 'bob' }, 409, 'bob has no second factors; nothing was changed.'],
    ['a removal without its tick', 'remove', { user: 'bob' }, 400, 'Tick "Yes, remove bob" to remove them. Nothing was changed.'],
    ['removing the last admin', 'remove', { user: 'alice', confirm: 'yes' }, 409, 'alice is the last administrator (the only enabled user matching admin.subjects): make someone else an administrator first; nothing was changed.'],
    ['disabling the last admin', 'disable', { user: 'alice' }, 409, 'alice is the last administrator (the only enabled user matching admin.subjects): make someone else an administrator first; nothing was changed.'],
    ['demoting the last admin', 'set-role', { user: 'alice', role: 'user' }, 409, 'alice is the last administrator (the only enabled user matching admin.subjects): make someone else an administrator first; nothing was changed.'],
    ['an action that does not exist', 'format-disk', { user: 'bob' }, 404, 'There is no such admin action; nothing was changed.'],
  ])('%s', async (_what, action, fields, status, message) => {
    const before = fileText();
    const reply = await adminPost(alice, action, fields);
    expect(reply.status).toBe(status);
    expect(messageOf(reply.body, 'alert')).toBe(message);
    expect(fileText()).toBe(before);
    expect(audit('admin.refused').at(-1)).toMatchObject({ admin: 'alice', status });
  });

  it.each([
    ['missing', ''],
    ['stale (another browser)', 'stale'],
  ])('a %s form token', async (_what, csrf) => {
    const before = fileText();
    const token = csrf === 'stale' ? (await signedIn(app, 'alice', USERS.alice.password).then((other) => other.get(ADMIN))).body.match(/name="csrf" value="([^"]+)"/)![1]! : csrf;
    const reply = await adminPost(alice, 'remove', { user: 'bob', confirm: 'yes' }, { csrf: token });
    expect(reply.status).toBe(403);
    expect(messageOf(reply.body, 'alert')).toBe('This form has expired (its security token is missing or stale); nothing was changed. Try again on this page.');
    expect(fileText()).toBe(before);
  });

  it('lets an admin step down once another admin exists', async () => {
    expect((await adminPost(alice, 'set-role', { user: 'bob', role: 'admin' })).status).toBe(200);
    const reply = await adminPost(alice, 'set-role', { user: 'alice', role: 'user' });
    expect(reply.status).toBe(200);
    expect(usersOnDisk(app).get('alice')!.role).toBe('user');
    // No longer an administrator: the next visit is refused.
    expect((await alice.get(ADMIN)).status).toBe(403);
  });
});
