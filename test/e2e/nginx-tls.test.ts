import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExampleTree } from '../support/examples.js';
import { freePort } from '../support/free-port.js';
import { TestClient } from '../support/http-client.js';
import { startNginx, type NginxProcess } from '../support/nginx.js';
import { startProxy, startStack, type Stack } from '../support/stack.js';

const USERS = { alice: { password: 'correct horse battery', role: 'admin' } };

let stack: Stack;
let nginx: NginxProcess;
let certificates: string;
let tls: { port: number; ca: string };
const browser = () => new TestClient(stack.ports.proxy, undefined, tls);

/** A self-signed certificate for example.com and *.example.com, made by the suite, valid for a day. */
function makeCertificate(): string {
  const dir = mkdtempSync(join(tmpdir(), 'postern-tls-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=example.com', '-addext', 'subjectAltName=DNS:example.com,DNS:*.example.com',
    '-keyout', join(dir, 'privkey.pem'), '-out', join(dir, 'fullchain.pem'),
  ], { stdio: 'ignore' });
  return dir;
}

beforeAll(async () => {
  certificates = makeCertificate();
  // postern.yml as published, with public_url set to https the way an operator may: from the environment.
  stack = await startStack('nginx/postern.yml', USERS, { POSTERN_SERVER_PUBLIC_URL: 'https://auth.example.com' });
  nginx = await startProxy(stack, async (ports) => {
    const withTls = { ...ports, proxyTls: await freePort(), certificates };
    const started = await startNginx('include postern-tls.conf;', ports.proxy, readExampleTree('nginx', withTls));
    tls = { port: withTls.proxyTls, ca: readFileSync(join(certificates, 'fullchain.pem'), 'utf8') };
    return started;
  });
}, 60_000);

afterAll(async () => {
  await nginx?.stop();
  await stack?.close();
  if (certificates) rmSync(certificates, { recursive: true, force: true });
});

describe('nginx over HTTPS, from examples/nginx/postern-tls.conf with a self-signed certificate', () => {
  it('redirects plain http to https for every host, before Postern is asked (it answers even with Postern down)', async () => {
    await stack.postern.stop();
    try {
      for (const url of ['http://app.example.com/photos?x=1', 'http://auth.example.com/login', 'http://share.example.com/share/a']) {
        const reply = await browser().get(url);
        expect(reply.status, url).toBe(301);
        expect(reply.header('location')).toBe(url.replace('http://', 'https://'));
      }
    } finally {
      await stack.postern.start();
    }
    expect(stack.app.seen).toHaveLength(0);
  });

  it('a sign-in started on http:// ends on the https:// app, with a Secure session cookie', async () => {
    const client = browser();
    const plain = await client.get('http://app.example.com/photos?x=1');
    expect(plain.status).toBe(301);
    const start = await client.get(plain.header('location')!);
    expect(start.status).toBe(302);
    expect(start.header('location')).toBe(`https://auth.example.com/login?rd=${encodeURIComponent('https://app.example.com/photos?x=1')}`);

    const reply = await client.submitForm(start.header('location')!, { username: 'alice', password: USERS.alice.password });
    expect(reply.status).toBe(303);
    expect(reply.header('location')).toBe('https://app.example.com/photos?x=1');
    const sessionCookie = ([] as string[]).concat(reply.headers['set-cookie'] ?? []).find((c) => c.startsWith('postern_session='));
    expect(sessionCookie).toMatch(/; secure/i);
    expect(sessionCookie).toMatch(/; domain=example\.com/i);

    const page = await client.get('https://app.example.com/photos?x=1');
    expect(page.status).toBe(200);
    expect(page.body).toContain('Hello alice');
    expect(stack.app.seen.at(-1)?.headers['remote-user']).toBe('alice');
    // The Secure cookie is never offered over plain http, and plain http is redirected anyway.
    expect(await client.jar.getCookieString('http://app.example.com/')).not.toContain('postern_session');
  });
});
