import { describe, expect, it } from 'vitest';
import { sessionHandle } from '../../src/store/session-store.js';
import { ACCOUNT, accountCsrf, flashOf, formsOf, PORTAL, postAccountForm, signedIn, useAccountApp } from '../support/account.js';
import { TestClient } from '../support/http-client.js';

const USERS = {
  alice: { password: 'alice password one' },
  bob: { password: 'bob password one' },
  mallory: { password: 'mallory password one' },
};

const fixture = useAccountApp(USERS);
const address = fixture.address;

/** The handles of a user's sessions, as the store has them. */
async function handlesOf(user: string): Promise<string[]> {
  return (await fixture.app.deps.store.listByUser(user)).map((s) => sessionHandle(s.id));
}

describe('your sessions', () => {
  it('lists each session with its device, address, start and last activity, this device first and without an End button', async () => {
    const laptop = await signedIn(fixture.app.port, 'alice', USERS.alice.password, '198.51.100.200');
    const phone = new TestClient(fixture.app.port);
    const request = phone.request.bind(phone);
    phone.request = (url, opts = {}) =>
      request(url, { ...opts, headers: { 'x-forwarded-for': '2001:db8::7', 'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Mobile/15E148 Safari/604.1', ...(opts.headers ?? {}) } });
    expect((await phone.submitForm(`${PORTAL}/login`, { username: 'alice', password: USERS.alice.password })).status).toBe(303);

    const page = await laptop.get(ACCOUNT);
    const items = page.body.slice(page.body.indexOf('<h2 id="sessions">'), page.body.indexOf('<h2 id="app-passwords">'));
    expect(items.indexOf('Chrome 131 on Linux')).toBeLessThan(items.indexOf('Safari 17 on iOS'));
    expect(items).toContain('<strong>Chrome 131 on Linux</strong> <span class="tag">this device</span>');
    expect(items).toContain('<p class="meta">198.51.100.200 · password</p>');
    expect(items).toContain('<p class="meta">2001:db8::7 · password</p>');
    expect(items).toMatch(/Started \d{4}-\d\d-\d\d \d\d:\d\d UTC · last seen \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    // One End button, for the phone: this device signs out with "Sign out".
    const enders = formsOf(page.body).filter((f) => f.action === `${ACCOUNT}/sessions/end`);
    const phoneSession = (await fixture.app.deps.store.listByUser('alice')).find((s) => s.data.ip === '2001:db8::7')!;
    expect(enders.map((f) => f.fields.session)).toEqual([sessionHandle(phoneSession.id)]);
    expect(page.body).toContain('End all other sessions');
  });

  it('ends one other session: that browser is signed out, this one is not', async () => {
    const here = await signedIn(fixture.app.port, 'bob', USERS.bob.password, address());
    const there = await signedIn(fixture.app.port, 'bob', USERS.bob.password, address());
    const [theirs] = formsOf((await here.get(ACCOUNT)).body).filter((f) => f.action === `${ACCOUNT}/sessions/end`);

    const reply = await postAccountForm(here, '/sessions/end', {}, { session: theirs!.fields.session! });
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(`${ACCOUNT}?done=session`);
    expect(flashOf((await here.get(reply.header('location')!)).body)).toBe('The session was ended.');
    expect((await there.get(ACCOUNT)).status).toBe(302);
    expect(await handlesOf('bob')).toHaveLength(1);
  });

  it("refuses to end someone else's session (404) and ends nothing, whatever handle is posted", async () => {
    const victim = await signedIn(fixture.app.port, 'alice', USERS.alice.password, address());
    const mallory = await signedIn(fixture.app.port, 'mallory', USERS.mallory.password, address());
    const before = await handlesOf('alice');
    for (const handle of [...before, 'f'.repeat(64), 'not a handle']) {
      const reply = await mallory.request(`${ACCOUNT}/sessions/end`, { method: 'POST', body: new URLSearchParams({ csrf: await accountCsrf(mallory), session: handle }) });
      expect(reply.status).toBe(404);
      expect(flashOf(reply.body)).toBe('That session is not one of yours, or has already ended. Nothing was ended.');
    }
    expect(await handlesOf('alice')).toEqual(before);
    expect((await victim.get(ACCOUNT)).status).toBe(200);
  });

  it('ends all other sessions at once and keeps this one', async () => {
    const here = await signedIn(fixture.app.port, 'mallory', USERS.mallory.password, address());
    await signedIn(fixture.app.port, 'mallory', USERS.mallory.password, address());
    await signedIn(fixture.app.port, 'mallory', USERS.mallory.password, address());
    expect((await handlesOf('mallory')).length).toBeGreaterThanOrEqual(4);

    const reply = await postAccountForm(here, '/sessions/end-others', {});
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(`${ACCOUNT}?done=others`);
    const page = await here.get(reply.header('location')!);
    expect(flashOf(page.body)).toBe('Your other sessions were ended.');
    expect(page.body).toContain('No other sessions.');
    expect(await handlesOf('mallory')).toHaveLength(1);
  });

  it('ending this device\'s own session signs it out', async () => {
    const from = address();
    const here = await signedIn(fixture.app.port, 'bob', USERS.bob.password, from);
    const own = (await fixture.app.deps.store.listByUser('bob')).find((s) => s.data.ip === from);
    const reply = await here.request(`${ACCOUNT}/sessions/end`, { method: 'POST', body: new URLSearchParams({ csrf: await accountCsrf(here), session: sessionHandle(own!.id) }) });
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(`${PORTAL}/login`);
    expect((await here.get(ACCOUNT)).status).toBe(302);
  });

  it('refuses a post without the CSRF token (403) and ends nothing', async () => {
    const here = await signedIn(fixture.app.port, 'alice', USERS.alice.password, address());
    const before = await handlesOf('alice');
    const reply = await here.request(`${ACCOUNT}/sessions/end-others`, { method: 'POST', body: new URLSearchParams({}) });
    expect(reply.status).toBe(403);
    expect(await handlesOf('alice')).toEqual(before);
  });
});
