import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hashSecret, parseToken } from '../../src/tokens/app-password.js';
import { parseUsersFile } from '../../src/auth/users-file-parse.js';
import { ACCOUNT, accountCsrf, flashOf, formsOf, postAccountForm, signedIn, useAccountApp } from '../support/account.js';
import { TestClient } from '../support/http-client.js';
import { askVerify } from '../support/verify-client.js';

const USERS = {
  alice: { password: 'alice password one' },
  mallory: { password: 'mallory password one' },
};

const fixture = useAccountApp(USERS);
const address = fixture.address;

function appPasswordsOf(user: string) {
  return parseUsersFile(readFileSync(fixture.app.usersFile, 'utf8')).users.get(user)!.appPasswords ?? [];
}

/** The token shown once on the page that answered a create. */
function shownToken(html: string): string | undefined {
  return /<code class="secret" id="new-app-password">([^<]+)<\/code>/.exec(html)?.[1];
}

describe('your app passwords', () => {
  it('creates one with the limits asked for, shows it once, stores only its hash, and verify accepts it', async () => {
    const alice = await signedIn(fixture.app.port, 'alice', USERS.alice.password, address());
    const reply = await postAccountForm(alice, '/app-passwords', { name: 'immich phone', expires: '30d', hosts: 'photos.example.com', read_only: '1' });
    expect(reply.status).toBe(200);
    expect(reply.header('cache-control')).toBe('no-store');
    const token = shownToken(reply.body)!;
    const parsed = parseToken(token)!;
    expect(parsed).toBeDefined();
    expect(reply.body).toContain('App password “immich phone” created. Copy it into the app now: it is shown only this once.');

    const [stored] = appPasswordsOf('alice');
    expect(stored).toMatchObject({ id: parsed.id, name: 'immich phone', hash: hashSecret(parsed.secret), hosts: ['photos.example.com'], readOnly: true });
    expect(stored!.expires! - stored!.created).toBe(30 * 86_400_000);
    expect(readFileSync(fixture.app.usersFile, 'utf8')).not.toContain(parsed.secret);
    expect(fixture.app.rawLog()).not.toContain(parsed.secret);

    const listed = await alice.get(ACCOUNT);
    expect(shownToken(listed.body)).toBeUndefined();
    expect(listed.body).toContain(`<strong>immich phone</strong> <code>${parsed.id}</code> <span class="tag">read-only</span>`);
    expect(listed.body).toContain('Hosts: photos.example.com');
    expect(listed.body).toContain('last used not used yet');

    const allowed = await askVerify(new TestClient(fixture.app.port), new TestClient(fixture.app.port), 'nginx', 'https://photos.example.com/api/assets', { headers: { authorization: `Bearer ${token}` } });
    expect(allowed.status).toBe(200);
    expect(allowed.header('remote-user')).toBe('alice');
  });

  it.each([
    [{ name: '', expires: '', hosts: '' }, 'Name must not be empty: say what the app password is for, such as “immich phone”. No app password was created.'],
    [{ name: 'x', expires: '2020-01-01', hosts: '' }, 'Expires 2020-01-01 is in the past. No app password was created.'],
    [{ name: 'x', expires: '', hosts: 'evil.test' }, 'Hosts: evil.test is outside session.domain (example.com); Postern protects only hosts within it. No app password was created.'],
  ])('refuses %j with a clear message (400), keeps what was typed, and writes nothing', async (fields, message) => {
    const alice = await signedIn(fixture.app.port, 'alice', USERS.alice.password, address());
    const before = readFileSync(fixture.app.usersFile, 'utf8');
    const reply = await postAccountForm(alice, '/app-passwords', fields);
    expect(reply.status).toBe(400);
    expect(flashOf(reply.body)).toBe(message);
    expect(reply.body).toContain(`name="hosts" value="${fields.hosts}"`);
    expect(readFileSync(fixture.app.usersFile, 'utf8')).toBe(before);
  });

  it('revokes one of your own, and verify refuses it from then on', async () => {
    const alice = await signedIn(fixture.app.port, 'alice', USERS.alice.password, address());
    const token = shownToken((await postAccountForm(alice, '/app-passwords', { name: 'to revoke', expires: '' })).body)!;
    const { id } = parseToken(token)!;
    const reply = await postAccountForm(alice, '/app-passwords/revoke', {}, { id });
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe(`${ACCOUNT}?done=revoked`);
    expect(flashOf((await alice.get(reply.header('location')!)).body)).toBe('The app password was revoked. Apps using it are refused from now on.');
    expect(appPasswordsOf('alice').map((t) => t.id)).not.toContain(id);
    const refused = await askVerify(new TestClient(fixture.app.port), new TestClient(fixture.app.port), 'nginx', 'https://photos.example.com/', { headers: { authorization: `Bearer ${token}` }, accept: 'application/json' });
    expect(refused.status).toBe(401);
  });

  it("refuses to revoke someone else's app password (404) and revokes nothing", async () => {
    const alice = await signedIn(fixture.app.port, 'alice', USERS.alice.password, address());
    const { id } = parseToken(shownToken((await postAccountForm(alice, '/app-passwords', { name: 'alice only' })).body)!)!;
    const mallory = await signedIn(fixture.app.port, 'mallory', USERS.mallory.password, address());
    const before = readFileSync(fixture.app.usersFile, 'utf8');
    for (const guess of [id, 'AAAAAAAA', '../../etc']) {
      const reply = await mallory.request(`${ACCOUNT}/app-passwords/revoke`, { method: 'POST', body: new URLSearchParams({ csrf: await accountCsrf(mallory), id: guess }) });
      expect(reply.status).toBe(404);
      expect(flashOf(reply.body)).toBe('No app password of yours has that ID. Nothing was revoked.');
    }
    expect(readFileSync(fixture.app.usersFile, 'utf8')).toBe(before);
  });

  it('refuses a create or revoke without the CSRF token (403) and writes nothing', async () => {
    const alice = await signedIn(fixture.app.port, 'alice', USERS.alice.password, address());
    const id = formsOf((await alice.get(ACCOUNT)).body).find((f) => f.action === `${ACCOUNT}/app-passwords/revoke`)!.fields.id!;
    const before = readFileSync(fixture.app.usersFile, 'utf8');
    const create = await alice.request(`${ACCOUNT}/app-passwords`, { method: 'POST', body: new URLSearchParams({ name: 'sneaky' }) });
    const revoke = await alice.request(`${ACCOUNT}/app-passwords/revoke`, { method: 'POST', body: new URLSearchParams({ id, csrf: 'forged' }) });
    expect([create.status, revoke.status]).toEqual([403, 403]);
    expect(readFileSync(fixture.app.usersFile, 'utf8')).toBe(before);
  });
});
