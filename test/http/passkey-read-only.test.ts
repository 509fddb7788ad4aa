import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serialiseUsers } from '../../src/auth/users-file-writer.js';
import { buildUsers, startApp, type AppFixture } from '../support/app-fixture.js';
import { clientFrom } from '../support/http-client.js';
import { readOnlyDirectory, type Mounted } from '../support/mounts.js';
import { passkeyFormOf, passkeySecondStep, registerPasskey } from '../support/passkey-flows.js';
import { SoftAuthenticator } from '../support/webauthn.js';

const LOGIN = 'http://auth.example.com/login';
const PAGE = 'http://auth.example.com/account/2fa/passkeys';
const key = new SoftAuthenticator();
const USERS = { alice: { password: 'alice password one', factors: { passkeys: [key.passkey('Phone')] } } };

let mounted: Mounted | undefined;
let app: AppFixture;
let usersText: string;

beforeAll(async () => {
  // The users file as a Kubernetes Secret holds it: in a read-only directory.
  usersText = serialiseUsers(await buildUsers(USERS));
  mounted = await readOnlyDirectory({ 'users.yml': usersText });
  if (!mounted) return;
  app = await startApp({ server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] }, session: { domain: 'example.com' }, users: { file: join(mounted.dir, 'users.yml') } }, USERS);
});
afterAll(async () => {
  await app?.close();
  await mounted?.cleanup();
});

describe('passkeys with a users file that cannot be written here', () => {
  it('adding or removing one says who can change it, and changes nothing', async (ctx) => {
    if (!mounted) return ctx.skip('no read-only directory can be made here (root without CAP_SYS_ADMIN)');
    const alice = clientFrom(app.port, '198.51.100.1');
    expect((await alice.submitForm(LOGIN, { username: 'alice', password: USERS.alice.password })).header('location')).toBe(`${LOGIN}/2fa`);
    expect((await passkeySecondStep(alice, `${LOGIN}/2fa`, key, 'example.com')).reply.status).toBe(303);

    const { reply: add } = await registerPasskey(alice, PAGE, new SoftAuthenticator(), 'Laptop');
    expect(add.status).toBe(503);
    expect(add.body).toContain('<title>Cannot change this here</title>');
    expect(add.body).toContain('Postern cannot save a change to your second factors: its users file is read-only on this server');
    expect(add.body).toContain('<code class="secret">postern user reset-2fa alice</code>');
    expect(app.logs.at(-1)).toMatchObject({ level: 50, event: 'two_factor.write_failed', user: 'alice' });

    const page = (await alice.get(PAGE)).body;
    const form = passkeyFormOf(page);
    const remove = await alice.request(`${PAGE}/remove`, { method: 'POST', body: new URLSearchParams({ csrf: form.fields.csrf!, id: key.credentialId, password: USERS.alice.password }) });
    expect(remove.status).toBe(503);
    expect(readFileSync(join(mounted.dir, 'users.yml'), 'utf8')).toBe(usersText);
  });
});
