import { describe, expect, it } from 'vitest';
import { adaptCaddyfile } from '../support/caddy.js';
import { readExample } from '../support/examples.js';

interface Handler {
  handler: string;
  request?: { delete?: string[]; replace?: Record<string, unknown>; set?: Record<string, unknown> };
  rewrite?: { uri?: string };
  upstreams?: Array<{ dial: string }>;
}

/** Every handler of the app.example.com site, in the order Caddy runs them (depth first; a forward_auth's own handle_response comes after it). */
function handlersOf(json: unknown, host: string): Handler[] {
  const servers = (json as { apps: { http: { servers: Record<string, { routes: unknown[] }> } } }).apps.http.servers;
  const site = Object.values(servers)
    .flatMap((s) => s.routes)
    .find((r) => JSON.stringify((r as { match?: unknown }).match ?? '').includes(`"${host}"`));
  const out: Handler[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    if (typeof obj.handler === 'string') out.push(obj as unknown as Handler);
    for (const value of Object.values(obj)) walk(value);
  };
  walk(site);
  return out;
}

const IDENTITY = ['Remote-User', 'Remote-Role', 'Remote-Groups', 'Remote-Email', 'Remote-Name', 'Remote-Auth'];

describe.each(['caddy/Caddyfile', 'caddy/Caddyfile.tls'])('examples/%s, as `caddy adapt` sees it', (file) => {
  const adapted = adaptCaddyfile(readExample(file));
  if (!adapted.ok) throw new Error(adapted.output);
  const handlers = handlersOf(adapted.json, 'app.example.com');
  const forwardAuth = handlers.findIndex((h) => h.handler === 'reverse_proxy' && h.rewrite?.uri === '/verify/caddy?');
  const app = handlers.findIndex((h) => h.handler === 'reverse_proxy' && h.upstreams?.some((u) => u.dial === 'app:8080'));
  const deleted = (name: string) => handlers.findIndex((h) => h.handler === 'headers' && h.request?.delete?.includes(name));

  it('asks Postern before the app', () => {
    expect(forwardAuth).toBeGreaterThanOrEqual(0);
    expect(app).toBeGreaterThan(forwardAuth);
  });

  it.each([...IDENTITY, ...IDENTITY.map((h) => h.replace('-', '_'))])('deletes the client\'s %s before forward_auth (Caddy 2.9.0–2.11.1 skip copy_headers for an empty value)', (name) => {
    const at = deleted(name);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(at).toBeLessThan(forwardAuth);
  });

  it("sets the client's Authorization aside before forward_auth, so only Postern's answer reaches the app", () => {
    expect(deleted('Authorization')).toBeGreaterThanOrEqual(0);
    expect(deleted('Authorization')).toBeLessThan(forwardAuth);
    expect(JSON.stringify(handlers[forwardAuth])).toContain('Authorization');
  });

  it('removes the app password header and the session cookie after forward_auth, before the app', () => {
    const token = deleted('X-Postern-Token');
    const cookie = handlers.findIndex((h) => h.handler === 'headers' && JSON.stringify(h.request?.replace ?? {}).includes('postern_session'));
    for (const at of [token, cookie]) {
      expect(at).toBeGreaterThan(forwardAuth);
      expect(at).toBeLessThan(app);
    }
  });
});
