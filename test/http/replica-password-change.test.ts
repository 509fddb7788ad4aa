/**
 * Two replicas sharing one session store, as in production with Redis: each reads the users file on
 * its own, and may see a change up to a second after the other. A password change on one must not
 * sign the user out through the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsersFile } from '../../src/auth/users-file.js';
import { MemorySessionStore } from '../../src/store/memory-store.js';
import { ACCOUNT, PORTAL, postAccountForm, signedIn } from '../support/account.js';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { TestClient } from '../support/http-client.js';
import { askVerify } from '../support/verify-client.js';

const RD = 'https://photos.example.com/';
const CONFIG = { server: { public_url: PORTAL, trusted_proxies: ['loopback'] }, session: { domain: 'example.com' } };

const store = new MemorySessionStore();
let a: AppFixture;
let b: AppFixture;
/** Replica B's copy of the users file: it sees A's changes only when the test reloads it. */
let usersAtB: UsersFile;

beforeAll(async () => {
  a = await startApp(CONFIG, { alice: { password: 'alice password one' } }, { store });
  usersAtB = await UsersFile.open(a.usersFile, { watch: false });
  b = await startApp(CONFIG, { unused: { password: 'unused password' } }, { store, extraDeps: () => ({ users: usersAtB }) });
});
afterAll(async () => {
  usersAtB?.close();
  await b?.close();
  await a?.close();
});

describe('a password change seen by one replica before the other', () => {
  it('keeps the session it was made from: refused by the replica that has not reloaded yet, never deleted, and good once it has', async () => {
    const alice = await signedIn(a.port, 'alice', 'alice password one', '198.51.100.1');
    const atA = new TestClient(a.port);
    const atB = new TestClient(b.port);
    expect((await askVerify(atB, alice, 'nginx', RD)).status).toBe(200);

    const changed = await postAccountForm(alice, '/password', { current: 'alice password one', password: 'alice password two', confirm: 'alice password two' });
    expect(changed.status).toBe(303);
    expect(changed.header('location')).toBe(`${ACCOUNT}?done=password`);
    const [kept, ...others] = await store.listByUser('alice');
    expect(others).toEqual([]);
    expect((await askVerify(atA, alice, 'nginx', RD)).status).toBe(200);

    // B still has the old hash: the re-stamped session's fingerprint is not the one B expects.
    // Refused there (verify and the pages), as before: refusing is what protects.
    expect((await askVerify(atB, alice, 'nginx', RD)).status).toBe(401);
    const home = await atB.request(`${PORTAL}/`, { headers: { cookie: await alice.jar.getCookieString(`${PORTAL}/`) } });
    expect(home.status).toBe(302);
    expect(home.header('location')).toBe(`${PORTAL}/login`);
    expect(home.header('set-cookie') ?? '').not.toMatch(/expires=Thu, 01 Jan 1970/i);
    // ...but not deleted from the store every replica shares (issue: B signed the user out everywhere).
    expect((await store.listByUser('alice')).map((s) => s.id)).toEqual([kept!.id]);
    expect((await askVerify(atA, alice, 'nginx', RD)).status).toBe(200);

    // Once B has reloaded, the session stands there too.
    await usersAtB.reload();
    const verified = await askVerify(atB, alice, 'nginx', RD);
    expect(verified.status).toBe(200);
    expect(verified.header('remote-user')).toBe('alice');
  });

  it('still deletes a session that has expired, on the replica that refuses it', async () => {
    const alice = await signedIn(a.port, 'alice', 'alice password two', '198.51.100.2');
    const [session] = (await store.listByUser('alice')).filter((s) => s.data.ip === '198.51.100.2');
    await store.set(session!.id, { ...session!.data, expires: Date.now() - 1 }, 60_000);
    expect((await askVerify(new TestClient(b.port), alice, 'nginx', RD)).status).toBe(401);
    await expect.poll(async () => (await store.listByUser('alice')).some((s) => s.id === session!.id)).toBe(false);
  });
});
