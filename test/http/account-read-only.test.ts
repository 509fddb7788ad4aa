import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeUsersFileAtomic } from '../../src/auth/users-file-writer.js';
import { createAppPassword } from '../../src/tokens/manage.js';
import { buildUsers, startApp, type AppFixture } from '../support/app-fixture.js';
import { ACCOUNT, PORTAL, postAccountForm, signedIn } from '../support/account.js';
import { readOnlyDirectory, type Mounted } from '../support/mounts.js';

const USERS = { alice: { password: 'alice password one' } };

let mounted: Mounted | undefined;
let app: AppFixture;
let usersText: string;
let tokenId: string;

beforeAll(async () => {
  // The users file as a Kubernetes Secret holds it: one user with one app password, in a read-only directory.
  const scratch = mkdtempSync(join(tmpdir(), 'postern-account-ro-'));
  const draft = join(scratch, 'users.yml');
  await writeUsersFileAtomic(draft, await buildUsers(USERS));
  tokenId = (await createAppPassword(draft, 'alice', { name: 'immich phone', readOnly: false }, Date.now())).entry.id;
  usersText = readFileSync(draft, 'utf8');
  rmSync(scratch, { recursive: true, force: true });
  mounted = await readOnlyDirectory({ 'users.yml': usersText });
  if (!mounted) return;
  app = await startApp(
    { server: { public_url: PORTAL, trusted_proxies: ['loopback'] }, session: { domain: 'example.com' }, users: { file: join(mounted.dir, 'users.yml') } },
    USERS,
  );
  // The app reads the same users as the read-only file holds.
  writeFileSync(app.usersFile, usersText);
  await app.deps.users.reload?.();
});
afterAll(async () => {
  await app?.close();
  await mounted?.cleanup();
});

describe('a users file that cannot be written here', () => {
  it('answers each change with who can make it and the command to run, and changes nothing', async (ctx) => {
    if (!mounted) return ctx.skip('no read-only directory can be made here (root without CAP_SYS_ADMIN)');
    const alice = await signedIn(app.port, 'alice', USERS.alice.password, '198.51.100.1');
    const file = join(mounted.dir, 'users.yml');

    const password = await postAccountForm(alice, '/password', { current: USERS.alice.password, password: 'alice password two', confirm: 'alice password two' });
    expect(password.status).toBe(503);
    expect(password.body).toContain('<title>Cannot change this here</title>');
    expect(password.body).toContain('Postern cannot save your new password: its users file is read-only on this server');
    expect(password.body).toContain('<code class="secret">postern user passwd alice</code>');
    expect(password.body).toContain(`<a href="${ACCOUNT}">Back to your account</a>`);

    const create = await postAccountForm(alice, '/app-passwords', { name: "alice's phone", expires: '90d', hosts: 'photos.example.com', read_only: '1' });
    expect(create.status).toBe(503);
    expect(create.body).toContain(
      `<code class="secret">postern token create --user alice --name &#39;alice&#39;\\&#39;&#39;s phone&#39; --expires 90d --hosts photos.example.com --read-only</code>`,
    );

    const revoke = await postAccountForm(alice, '/app-passwords/revoke', {}, { id: tokenId });
    expect(revoke.status).toBe(503);
    expect(revoke.body).toContain(`<code class="secret">postern token revoke ${tokenId}</code>`);

    expect(readFileSync(file, 'utf8')).toBe(usersText);
    // Still signed in: nothing about the session changed either.
    expect((await alice.get(ACCOUNT)).status).toBe(200);
  });
});
