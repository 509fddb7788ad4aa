import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type AppFixture } from '../support/app-fixture.js';
import { TestClient } from '../support/http-client.js';
import { askVerify } from '../support/verify-client.js';

/**
 * `/readyz` means "send me traffic": 503 only while this replica cannot decide verify requests (the
 * session store is unreachable) or is shutting down. Real Redis outages are in
 * integration/redis-sessions.test.ts, a provider that is down in integration/oidc-availability.test.ts,
 * SIGTERM on a real process in e2e/shutdown.test.ts; here the checks are set by hand to cover each case.
 */

const READYZ = 'http://auth.example.com/readyz';
const RD = 'https://photos.example.com/';
let storeUp = true;
let shuttingDown = false;
let app: AppFixture;

beforeAll(async () => {
  app = await startApp(
    { server: { public_url: 'http://auth.example.com', trusted_proxies: ['loopback'] }, session: { domain: 'example.com' } },
    {},
    {
      extraDeps: () => ({
        readiness: [{ name: 'session store', ready: async () => storeUp }],
        shuttingDown: () => shuttingDown,
      }),
    },
  );
});
afterAll(() => app.close());

async function readyz(): Promise<{ status: number; body: unknown; cacheControl: string | undefined }> {
  const reply = await new TestClient(app.port).get(READYZ);
  return { status: reply.status, body: JSON.parse(reply.body), cacheControl: reply.header('cache-control') };
}

describe('GET /readyz', () => {
  it.each([
    { storeUp: true, shuttingDown: false, status: 200, body: { status: 'ready' } },
    { storeUp: false, shuttingDown: false, status: 503, body: { status: 'unavailable', failing: ['session store'] } },
    { storeUp: true, shuttingDown: true, status: 503, body: { status: 'shutting down' } },
    { storeUp: false, shuttingDown: true, status: 503, body: { status: 'shutting down' } },
  ])('store up: $storeUp, shutting down: $shuttingDown → $status $body.status', async (row) => {
    storeUp = row.storeUp;
    shuttingDown = row.shuttingDown;
    expect(await readyz()).toEqual({ status: row.status, body: row.body, cacheControl: 'no-store' });
  });

  it('while shutting down, verify and the pages are still answered (the listener serves through the grace period)', async () => {
    storeUp = true;
    shuttingDown = true;
    const client = new TestClient(app.port);
    expect((await readyz()).status).toBe(503);
    expect((await askVerify(client, client, 'nginx', RD)).status).toBe(401);
    expect((await client.get('http://auth.example.com/login')).status).toBe(200);
    expect((await client.get('http://auth.example.com/healthz')).status).toBe(200);
    shuttingDown = false;
  });
});
