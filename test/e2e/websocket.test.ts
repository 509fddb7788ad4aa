import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLES_DIR, readExample, readExampleTree, substitute } from '../support/examples.js';
import { startCaddy } from '../support/caddy.js';
import { startNginx } from '../support/nginx.js';
import { startProxy, startStack } from '../support/stack.js';
import { TestClient } from '../support/http-client.js';
import { waitFor } from '../support/wait.js';
import { startTraefikDouble } from '../support/traefik-double.js';
import { traefikConfigFromExample } from '../support/traefik-example.js';
import { describeWebSocketFlows } from '../support/websocket-flows.js';

/** What `envsubst '$POSTERN_PROXY_SECRET'` (or the nginx image's templates) makes of the published template. */
function renderProxySecretTemplate(secret: string): string {
  const template = readFileSync(join(EXAMPLES_DIR, 'nginx/postern-proxy-secret.conf.template'), 'utf8');
  if (!template.includes('${POSTERN_PROXY_SECRET}')) throw new Error('postern-proxy-secret.conf.template no longer uses ${POSTERN_PROXY_SECRET}');
  return template.replaceAll('${POSTERN_PROXY_SECRET}', secret);
}

describeWebSocketFlows('nginx', {
  posternYml: 'nginx/postern.yml',
  withProxySecret: true,
  async start(ports, secret) {
    const files = { ...readExampleTree('nginx', ports), 'postern-proxy-secret.conf': renderProxySecretTemplate(secret!) };
    const nginx = await startNginx('include postern.conf;', ports.proxy, files);
    return { stop: () => nginx.stop() };
  },
});

describeWebSocketFlows('Traefik forwardAuth (test double)', {
  posternYml: 'traefik/postern.yml',
  withProxySecret: true,
  async start(ports, secret) {
    const config = traefikConfigFromExample(substitute(readExample('traefik/traefik.yml'), ports), substitute(readExample('traefik/dynamic.yml'), ports), 'web', {
      POSTERN_PROXY_SECRET: secret!,
    });
    const traefik = await startTraefikDouble(config, { port: ports.proxy });
    return { stop: () => traefik.close() };
  },
});

// The Caddy example belongs to the app-passwords work: run as published, without a proxy secret.
describeWebSocketFlows('Caddy', {
  posternYml: 'caddy/postern.yml',
  withProxySecret: false,
  async start(ports) {
    const caddy = await startCaddy(substitute(readExample('caddy/Caddyfile'), ports), ports.proxy);
    return { stop: () => caddy.stop() };
  },
});

describe('nginx without the proxy secret file, in front of a Postern that wants one', () => {
  // Verify answers 403; nginx's error_page then asks /forbidden, which does not check the secret (it
  // only explains a refusal) and sends this anonymous browser to sign in. What matters: no app page.
  it('lets nothing through to the app, and Postern logs which peer came without the secret', async () => {
    const stack = await startStack('nginx/postern.yml', { alice: { password: 'correct horse battery' } }, { POSTERN_SERVER_PROXY_SECRET: 'f0e1d2c3b4a5968778695a4b3c2d1e0f' });
    const nginx = await startProxy(stack, (ports) => startNginx('include postern.conf;', ports.proxy, readExampleTree('nginx', ports)));
    try {
      const reply = await new TestClient(stack.ports.proxy).get('http://app.example.com/private');
      expect(reply.status).not.toBe(200);
      expect(reply.body).not.toContain('Hello');
      expect(stack.app.seen).toHaveLength(0);
      // The log line travels through Postern's stdout pipe: it may arrive after the reply.
      const warning = await waitFor(() => stack.postern.logLines().find((l) => String(l.msg).includes('without the right X-Postern-Proxy-Secret')), {
        what: 'the proxy-secret log line',
      });
      expect(warning).toMatchObject({ proxy_secret: 'missing', peer: '127.0.0.1' });
    } finally {
      await nginx.stop();
      await stack.close();
    }
  });
});

describe('Traefik (double) without POSTERN_PROXY_SECRET, in front of a Postern that wants one', () => {
  it('sends no header (the empty template value deletes it), so verify answers 403 and the app sees nothing', async () => {
    const stack = await startStack('traefik/postern.yml', { alice: { password: 'correct horse battery' } }, { POSTERN_SERVER_PROXY_SECRET: 'f0e1d2c3b4a5968778695a4b3c2d1e0f' });
    const traefik = await startProxy(stack, (ports) =>
      startTraefikDouble(traefikConfigFromExample(substitute(readExample('traefik/traefik.yml'), ports), substitute(readExample('traefik/dynamic.yml'), ports)), { port: ports.proxy }),
    );
    try {
      const reply = await new TestClient(stack.ports.proxy).get('http://app.example.com/private');
      expect(reply.status).toBe(403);
      expect(reply.body).toBe('');
      expect(stack.app.seen).toHaveLength(0);
      const warning = await waitFor(() => stack.postern.logLines().find((l) => String(l.msg).includes('without the right X-Postern-Proxy-Secret')), {
        what: 'the proxy-secret log line',
      });
      expect(warning).toMatchObject({ proxy_secret: 'missing', peer: '127.0.0.1' });
    } finally {
      await traefik.close();
      await stack.close();
    }
  });
});
