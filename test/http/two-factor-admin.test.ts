/**
 * Second factors on the admin page: who has which, a reset, and an admin who has a factor must have
 * used it in this session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { ADMIN, adminPost, PUBLIC, signedIn, usersOnDisk } from '../support/admin-pages.js';
import { testAuthenticator } from '../support/factors.js';

const PASSWORD = 'correct horse battery';
const CONFIG = {
  server: { public_url: PUBLIC, trusted_proxies: ['loopback'] },
  session: { domain: 'example.com' },
  // A password alone opens a session here, so an admin with a factor can hold a one-factor session.
  two_factor: { required_for_enrolled: false },
};

const carolsApp = testAuthenticator('carol');
let app: AppFixture;
beforeAll(async () => {
  app = await startApp(CONFIG, {
    alice: { password: PASSWORD, role: 'admin' },
    bob: { password: PASSWORD, factors: testAuthenticator('bob', { recovery: true }).factors },
    carol: { password: PASSWORD, role: 'admin', factors: carolsApp.factors },
  });
});
afterAll(() => app.close());

describe('second factors on /admin', () => {
  it('lists who has which factor, and resets them (as postern user reset-2fa), logged', async () => {
    const alice = await signedIn(app, 'alice', PASSWORD);
    const page = await alice.get(`${ADMIN}?user=bob`);
    expect(page.body).toContain('<dt>Second factors</dt><dd>totp, recovery:10/10</dd>');
    expect(page.body).toContain('Reset second factors');
    expect((await adminPost(alice, 'reset-factors', { user: 'bob' })).status).toBeLessThan(400);
    expect(usersOnDisk(app).get('bob')?.factors).toBeUndefined();
  });

  it('an admin who has a factor and signed in without it is refused until they use it', async () => {
    const carol = await signedIn(app, 'carol', PASSWORD);
    const page = await carol.get(ADMIN);
    expect(page.status).toBe(403);
    expect(page.body).toContain('The administration page needs a second factor');
    const stepUp = await carol.submitForm(`${PUBLIC}/login/2fa?rd=${encodeURIComponent(ADMIN)}`, { code: await carolsApp.code(Date.now()) });
    expect(stepUp.status).toBe(303);
    expect(stepUp.header('location')).toBe(ADMIN);
    expect((await carol.get(ADMIN)).status).toBe(200);
  });
});
