import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { TestClient } from '../support/http-client.js';

const LOGIN = 'http://auth.example.com/login';

describe('the client address in audit lines and throttling', () => {
  let app: AppFixture;
  beforeAll(async () => {
    app = await startApp(
      {
        server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback', '10.0.0.0/8'] },
        session: { domain: 'example.com' },
        login: { rate_limit: '2/minute', account_rate_limit: '100/minute', account_address_rate_limit: '100/minute' },
      },
      { alice: { password: 'alice password' } },
    );
  });
  afterAll(() => app.close());

  async function failFrom(xff: string) {
    const client = new TestClient(app.port);
    const headers = { 'x-forwarded-for': xff };
    const page = await client.get(LOGIN, headers);
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
    await client.request(LOGIN, { method: 'POST', headers, body: new URLSearchParams({ csrf, username: 'alice', password: 'wrong' }) });
    return app.logs.filter((l) => l.event === 'login.failure' || l.event === 'login.throttled').at(-1)!;
  }

  it('keys a client behind two trusted hops on its own address, not a hop and not a spoofed entry', async () => {
    expect(await failFrom('6.6.6.6, 198.51.100.9, 10.0.0.5')).toMatchObject({ event: 'login.failure', client: '198.51.100.9' });
    expect(app.rawLog()).not.toContain('6.6.6.6');
  });

  it('limits that client however it rotates the spoofable left-hand entries', async () => {
    const client = new TestClient(app.port);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const headers = { 'x-forwarded-for': `203.0.113.${i}, 198.51.100.77, 10.0.0.5` };
      const page = await client.get(LOGIN, headers);
      const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
      statuses.push((await client.request(LOGIN, { method: 'POST', headers, body: new URLSearchParams({ csrf, username: `u${i}`, password: 'wrong' }) })).status);
    }
    expect(statuses).toEqual([401, 401, 429, 429]);
  });

  it('stops at a malformed entry and keys on the last good hop', async () => {
    expect(await failFrom('198.51.100.50, 0x7f.1, 10.0.0.5')).toMatchObject({ client: '10.0.0.5' });
    expect(await failFrom('garbage')).toMatchObject({ client: '127.0.0.1' });
  });
});
