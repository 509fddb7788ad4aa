/**
 * deploy/compose.*.yml, without a Docker engine: each file runs the tested example files themselves
 * (bind-mounted, never copied), names its services the way the examples address them
 * (`postern:9190`, `app:8080`, `redis:6379`), and starts Postern with the mounted example
 * postern.yml, which the real config loader accepts together with the compose environment. For
 * Traefik, the Docker labels are the same configuration as examples/traefik/dynamic.yml.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative, resolve, sep } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';

const ROOT = resolve(import.meta.dirname, '../..');
const DEPLOY = join(ROOT, 'deploy');
const EXAMPLES = join(ROOT, 'examples');

type Obj = Record<string, unknown>;

interface ComposeService {
  image?: string;
  build?: string | { context: string };
  command?: string[] | string;
  environment?: Record<string, string> | string[];
  ports?: (string | { target: number; published: number | string })[];
  volumes?: (string | { type: string; source: string; target: string; read_only?: boolean })[];
  secrets?: (string | { source: string; target?: string })[];
  labels?: string[] | Record<string, string>;
}

interface ComposeFile {
  name: string;
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file?: string }>;
  volumes?: Record<string, unknown>;
}

interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
  /** A host path (bind mount) rather than a named volume. */
  bind: boolean;
}

function mounts(service: ComposeService): Mount[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return { source: v.source, target: v.target, readOnly: v.read_only === true, bind: v.type === 'bind' };
    const [source = '', target = '', mode = ''] = v.split(':');
    return { source, target, readOnly: mode.split(',').includes('ro'), bind: source.startsWith('.') || source.startsWith('/') };
  });
}

function environment(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

function labels(service: ComposeService): Record<string, string> {
  const l = service.labels ?? {};
  if (!Array.isArray(l)) return l;
  return Object.fromEntries(l.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

function publishedPorts(service: ComposeService): string[] {
  return (service.ports ?? []).map((p) => (typeof p === 'string' ? p : `${p.published}:${p.target}`));
}

/** The repository path a compose-relative host path points at. */
function hostPath(source: string): string {
  return resolve(DEPLOY, source);
}

const PROXIES = {
  nginx: {
    service: 'nginx',
    image: 'nginx:1.27-alpine',
    // Where the official image reads them.
    configMounts: {
      '/etc/nginx/conf.d/postern.conf': 'nginx/postern.conf',
      '/etc/nginx/snippets': 'nginx/snippets',
      // Rendered by the image into /etc/nginx/postern-proxy-secret.conf (NGINX_ENVSUBST_OUTPUT_DIR), which the snippets include.
      '/etc/nginx/templates/postern-proxy-secret.conf.template': 'nginx/postern-proxy-secret.conf.template',
    },
  },
  caddy: {
    service: 'caddy',
    image: 'caddy:2.11.2', // 2.11.2+: GHSA-7r4p-vjf4-gxv4
    configMounts: { '/etc/caddy/Caddyfile': 'caddy/Caddyfile' },
  },
  traefik: {
    service: 'traefik',
    // A release with every option the example uses: underscoreHeadersStrategy needs v3.6.22.
    image: 'traefik:v3.6.24',
    configMounts: { '/etc/traefik/traefik.yml': 'traefik/traefik.yml' },
  },
} as const;

/** The service addresses the example files use, and the port each service must listen on. */
const ADDRESSES = { postern: 9190, app: 8080, redis: 6379 } as const;

const temp = mkdtempSync(join(tmpdir(), 'postern-compose-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

for (const [proxy, expected] of Object.entries(PROXIES)) {
  const file = `compose.${proxy}.yml`;
  const compose = parse(readFileSync(join(DEPLOY, file), 'utf8')) as ComposeFile;
  const services = compose.services;
  const posternService = services.postern!;

  describe(`deploy/${file}`, () => {
    it(`has the services postern, app, redis and ${expected.service}, on the chosen images`, () => {
      expect(Object.keys(services).sort()).toEqual([expected.service, 'app', 'postern', 'redis'].sort());
      expect(services[expected.service]!.image).toBe(expected.image);
      expect(services.redis!.image).toBe('redis:7-alpine');
      expect(services.app!.image).toMatch(/^traefik\/whoami(:|$)/);
      expect(compose.name).toBe(`postern-${proxy}`);
    });

    it('builds Postern from the repository Dockerfile', () => {
      const build = posternService.build;
      const context = typeof build === 'string' ? build : build?.context;
      expect(context && hostPath(context)).toBe(ROOT);
      expect(existsSync(join(ROOT, 'Dockerfile'))).toBe(true);
      expect(posternService.image).toBeUndefined();
    });

    it(`publishes port 80 on ${expected.service} and nothing on the other services`, () => {
      expect(publishedPorts(services[expected.service]!)).toEqual(['80:80']);
      for (const name of Object.keys(services).filter((n) => n !== expected.service)) expect(publishedPorts(services[name]!), name).toEqual([]);
    });

    it('bind-mounts example files from examples/ read-only, never copies (the Docker socket aside, for Traefik)', () => {
      const binds = Object.entries(services).flatMap(([name, s]) => mounts(s).filter((m) => m.bind).map((m) => ({ name, ...m })));
      expect(binds.length).toBeGreaterThan(0);
      for (const bind of binds) {
        if (proxy === 'traefik' && bind.name === 'traefik' && bind.source === '/var/run/docker.sock') {
          expect(bind.readOnly).toBe(true);
          continue;
        }
        const path = hostPath(bind.source);
        expect(path.startsWith(EXAMPLES + sep), `${bind.source} is under examples/`).toBe(true);
        expect(existsSync(path), `${bind.source} exists`).toBe(true);
        expect(bind.readOnly, `${bind.source} is read-only`).toBe(true);
      }
      // Named volumes are declared; nothing else is mounted.
      const named = Object.values(services).flatMap((s) => mounts(s).filter((m) => !m.bind).map((m) => m.source));
      expect(named.filter((v) => !(v in (compose.volumes ?? {})))).toEqual([]);
    });

    it(`mounts the ${proxy} example config where the official ${expected.image} image reads it`, () => {
      const proxyMounts = mounts(services[expected.service]!).filter((m) => m.bind && m.source.startsWith('.'));
      const byTarget = Object.fromEntries(proxyMounts.map((m) => [m.target, relative(EXAMPLES, hostPath(m.source)).split(sep).join('/')]));
      expect(byTarget).toEqual(expected.configMounts);
    });

    if (proxy === 'nginx') {
      it('renders the proxy-secret template beside nginx.conf, empty unless POSTERN_PROXY_SECRET is set', () => {
        const env = environment(services.nginx!);
        expect(env.NGINX_ENVSUBST_OUTPUT_DIR).toBe('/etc/nginx');
        expect(env.POSTERN_PROXY_SECRET).toBe('${POSTERN_PROXY_SECRET:-}');
        expect(readFileSync(join(EXAMPLES, 'nginx/snippets/postern-authrequest.conf'), 'utf8')).toMatch(/^\s*include postern-proxy-secret\*\.conf;/m);
      });
    }

    it(`runs Postern with --config pointing at the mounted examples/${proxy}/postern.yml`, () => {
      const command = posternService.command;
      expect(Array.isArray(command)).toBe(true);
      const [verb, flag, configPath] = command as string[];
      expect([verb, flag]).toEqual(['serve', '--config']);
      const mount = mounts(posternService).find((m) => m.target === configPath);
      expect(mount && relative(EXAMPLES, hostPath(mount.source)).split(sep).join('/')).toBe(`${proxy}/postern.yml`);
      // Postern's data volume is the image's /data.
      expect(mounts(posternService).find((m) => m.target === '/data')?.bind).toBe(false);
    });

    it('gives Postern its session secret as a compose secret file, named by POSTERN_SESSION_SECRET_FILE, kept out of git', () => {
      const env = environment(posternService);
      expect(posternService.secrets).toEqual(['postern_session_secret']);
      expect(env.POSTERN_SESSION_SECRET_FILE).toBe('/run/secrets/postern_session_secret');
      const secretFile = hostPath(compose.secrets!.postern_session_secret!.file!);
      expect(relative(DEPLOY, secretFile)).toBe(join('secrets', 'postern_session_secret'));
      expect(readFileSync(join(DEPLOY, 'secrets/.gitignore'), 'utf8')).toMatch(/^\*$/m);
    });

    it('the mounted postern.yml and the compose environment make a valid config for the real loader', () => {
      const secretFile = join(temp, `${proxy}-session-secret`);
      writeFileSync(secretFile, 'a-session-secret-of-at-least-32-characters\n');
      const env = { ...environment(posternService), POSTERN_SESSION_SECRET_FILE: secretFile, POSTERN_DATA_DIR: '/data' };
      const configMount = mounts(posternService).find((m) => m.target === (posternService.command as string[])[2])!;
      const { config, warnings } = parseConfig(parse(readFileSync(hostPath(configMount.source), 'utf8')), env, '/config');
      expect(warnings).toEqual([]);
      expect(config.session.secret).toBe('a-session-secret-of-at-least-32-characters');
      expect(config.data_dir).toBe('/data');
      expect(config.users.file).toBe('/data/users.yml');
      // The Redis it names is this file's redis service.
      expect(new URL(config.session.redis.url!).host).toBe(`redis:${ADDRESSES.redis}`);
      // The proxy reaches Postern from the compose network: Docker's private ranges.
      expect(config.server.trusted_proxies).toContain('docker');
    });

    it('every service address the mounted example files use (postern:9190, app:8080, redis:6379) is a service here, on that port', () => {
      const mounted = Object.values(services).flatMap((s) => mounts(s).filter((m) => m.bind && m.source.startsWith('.')).map((m) => hostPath(m.source)));
      // With Traefik's Docker provider the labels say it: an address in a value, or a port on a container.
      const fromLabels = Object.entries(services).flatMap(([container, s]) =>
        Object.entries(labels(s)).map(([key, value]) => (/\.loadbalancer\.server\.port$/i.test(key) ? `${container}:${value}` : value)),
      );
      const text = [...mounted.flatMap((p) => filesIn(p)).map((p) => readFileSync(p, 'utf8')), ...fromLabels].join('\n');
      const used = Object.entries(ADDRESSES).filter(([name, port]) => text.includes(`${name}:${port}`));
      expect(used.map(([name]) => name).sort()).toEqual(['app', 'postern', 'redis']);
      for (const [name] of used) expect(services[name], name).toBeDefined();
      // whoami listens on 80 unless told otherwise; Postern (9190) and Redis (6379) use their defaults.
      expect(services.app!.command).toEqual([`--port=${ADDRESSES.app}`]);
      expect(environment(posternService).POSTERN_SERVER_PORT).toBeUndefined();
    });

    if (proxy === 'nginx') {
      it('every include in the mounted nginx files resolves to a mounted file', () => {
        const nginxMounts = mounts(services.nginx!).filter((m) => m.bind);
        const inContainer = (path: string): string | undefined => {
          const mount = nginxMounts.find((m) => path === m.target || path.startsWith(`${m.target}/`));
          return mount && join(hostPath(mount.source), path.slice(mount.target.length));
        };
        const includes = nginxMounts
          .flatMap((m) => filesIn(hostPath(m.source)))
          .flatMap((p) => [...readFileSync(p, 'utf8').matchAll(/^\s*include\s+([^;\s]+);/gm)].map((match) => match[1]!));
        expect(includes.length).toBeGreaterThan(0);
        for (const include of new Set(includes)) {
          if (include.includes('*')) continue; // a wildcard include may match no file: nginx accepts that
          const file = inContainer(posix.resolve('/etc/nginx', include));
          expect(file !== undefined && existsSync(file), `include ${include}`).toBe(true);
        }
      });
    }

    if (proxy === 'traefik') {
      // The file provider's {{ env "X" }} is the labels' ${X:-}: the same variable, each in its own syntax.
      const dynamicText = readFileSync(join(EXAMPLES, 'traefik/dynamic.yml'), 'utf8').replace(/\{\{\s*env\s+"(\w+)"\s*\}\}/g, '$${$1:-}');
      const dynamic = lowerKeys(parse(dynamicText)) as { http: { routers: Obj; middlewares: Obj; services: Obj } };
      const fromLabels = labelsAsFileProvider(services);

      it('the static config it mounts enables the Docker provider, without which Traefik ignores the labels', () => {
        const staticConfig = parse(readFileSync(join(EXAMPLES, 'traefik/traefik.yml'), 'utf8')) as { providers?: { docker?: { exposedByDefault?: boolean } | null } };
        expect(Object.keys(staticConfig.providers ?? {})).toContain('docker');
        // Exposed by default or not, every container that carries routing labels says traefik.enable=true.
        for (const [name, service] of Object.entries(services)) {
          const l = labels(service);
          if (Object.keys(l).some((k) => k.startsWith('traefik.http.'))) expect(l['traefik.enable'], name).toBe('true');
        }
      });

      it('its router labels are the routers of examples/traefik/dynamic.yml: rules, entry points, middlewares, services', () => {
        expect(fromLabels.routers).toEqual(normaliseLists(dynamic.http.routers));
      });

      it('its forwardAuth middleware labels are the middleware of examples/traefik/dynamic.yml, option for option', () => {
        expect(fromLabels.middlewares).toEqual(normaliseLists(dynamic.http.middlewares));
      });

      it('each service of dynamic.yml (http://NAME:PORT) is the container NAME, with its label pointing at PORT', () => {
        const expectedServices = Object.fromEntries(
          Object.entries(dynamic.http.services).map(([name, s]) => {
            const url = new URL(((s as Obj).loadbalancer as { servers: { url: string }[] }).servers[0]!.url);
            return [name, { container: url.hostname, port: url.port }];
          }),
        );
        expect(fromLabels.services).toEqual(expectedServices);
      });
    }
  });
}

/** Every file at `path` (itself, or everything under a directory). */
function filesIn(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
}

// ---------------------------------------------------------------------------------------------
// Traefik: Docker labels as the file provider's structure

/** Options whose label value is a comma-separated list and whose file form is a YAML list. */
const LIST_OPTIONS = new Set(['entrypoints', 'middlewares', 'authresponseheaders', 'authrequestheaders', 'addauthcookiestoresponse']);

/**
 * `traefik.http.<section>.<name>.<path...>=value` labels → `{ <section>: { <name>: { ... } } }`, keys
 * lower-cased (Traefik matches label keys case-insensitively), lists split, scalars kept as text.
 * Services become the container that carries them and the port their label names.
 */
function labelsAsFileProvider(services: Record<string, ComposeService>): { routers: Obj; middlewares: Obj; services: Obj } {
  const out = { routers: {} as Obj, middlewares: {} as Obj, services: {} as Obj };
  for (const [container, service] of Object.entries(services)) {
    for (const [key, value] of Object.entries(labels(service))) {
      const path = key.toLowerCase().split('.');
      if (path[0] !== 'traefik' || path[1] !== 'http') continue;
      const [, , section, name, ...rest] = path as [string, string, string, string, ...string[]];
      if (section === 'services') {
        expect(rest).toEqual(['loadbalancer', 'server', 'port']);
        out.services[name] = { container, port: value };
        continue;
      }
      expect(['routers', 'middlewares'], key).toContain(section);
      const leaf = rest.at(-1)!;
      let node = ((out[section as 'routers' | 'middlewares'][name] ??= {}) as Obj);
      for (const segment of rest.slice(0, -1)) node = (node[segment] ??= {}) as Obj;
      expect(node[leaf], `${key} set twice`).toBeUndefined();
      node[leaf] = LIST_OPTIONS.has(leaf) ? value.split(',').map((v) => v.trim()) : value;
    }
  }
  return out;
}

function lowerKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(lowerKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toLowerCase(), lowerKeys(v)]));
  }
  return value;
}

/** The file provider's values as labels carry them: lists of text, every scalar as text. */
function normaliseLists(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => String(v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normaliseLists(v)]));
  }
  return String(value);
}
