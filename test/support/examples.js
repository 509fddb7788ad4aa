// @ts-check
// The published example files with only their addresses substituted: shared by the tests and the
// benchmark (plain JavaScript, JSDoc types: see child.js).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/** A test client bound to this address is "at home" in the examples' access rules. */
export const HOME_CLIENT = '127.0.0.2';
const HOME_CLIENT_CIDR = `${HOME_CLIENT}/32`;

/** A test client bound to this address is the examples' load balancer (placeholder 192.0.2.10). */
export const LOAD_BALANCER = '127.0.0.5';

export const REPO_DIR = resolve(import.meta.dirname, '../..');
export const EXAMPLES_DIR = join(REPO_DIR, 'examples');

/**
 * Where the example files point, and where the test harness really runs each part.
 * @typedef {object} ExamplePorts
 * @property {number} postern Postern's port, for `postern:9190`.
 * @property {number} app The demo app's port, for `app:8080`.
 * @property {number} proxy The proxy's own port, for `listen 80` / `:80`.
 * @property {number} [redis] The test redis-server's port, for `redis:6379`.
 * @property {string} [issuer] The test identity provider's issuer, for `https://keycloak.example.com/realms/home`.
 * @property {number} [proxyTls] The proxy's TLS port, for `listen 443 ssl` (TLS variants only).
 * @property {string} [certificates] A folder with the suite's self-signed `fullchain.pem` and `privkey.pem`, for certbot's `/etc/letsencrypt/live/example.com`.
 */

/**
 * The only changes the harness makes to an example file: service addresses, the listening port,
 * the home network (192.168.1.0/24 becomes 127.0.0.2/32) and the load balancer (192.0.2.10 becomes
 * 127.0.0.5): addresses a test client can bind. TLS variants: `listen 443 ssl` moves to `proxyTls`
 * and the certificate folder to the suite's self-signed one.
 * Host names stay as written, so the test sends `Host: app.example.com` to loopback.
 * @param {string} text
 * @param {ExamplePorts} ports
 * @returns {string}
 */
export function substitute(text, ports) {
  return text
    .replaceAll('postern:9190', `127.0.0.1:${ports.postern}`)
    .replaceAll('app:8080', `127.0.0.1:${ports.app}`)
    // The app examples (examples/immich, examples/frigate) name their app's own service; the demo app plays it.
    .replaceAll('immich-server:2283', `127.0.0.1:${ports.app}`)
    .replaceAll('frigate:8971', `127.0.0.1:${ports.app}`)
    .replaceAll('redis:6379', `127.0.0.1:${ports.redis ?? 6379}`)
    .replaceAll('192.168.1.0/24', HOME_CLIENT_CIDR)
    .replaceAll('192.0.2.10', LOAD_BALANCER)
    .replaceAll('https://keycloak.example.com/realms/home', ports.issuer ?? 'https://keycloak.example.com/realms/home')
    .replace(/listen 80;/g, `listen 127.0.0.1:${ports.proxy};`)
    .replace(/listen 443 ssl;/g, ports.proxyTls === undefined ? 'listen 443 ssl;' : `listen 127.0.0.1:${ports.proxyTls} ssl;`)
    .replaceAll('/etc/letsencrypt/live/example.com', ports.certificates ?? '/etc/letsencrypt/live/example.com')
    .replace(/^(\s*)http_port 80$/m, `$1http_port ${ports.proxy}\n$1default_bind 127.0.0.1`);
}

/**
 * @param {string} path
 * @returns {string}
 */
export function readExample(path) {
  return readFileSync(join(EXAMPLES_DIR, path), 'utf8');
}

/**
 * Every file under an example folder, relative to it, substituted.
 * @param {string} folder
 * @param {ExamplePorts} ports
 * @returns {Record<string, string>}
 */
export function readExampleTree(folder, ports) {
  const root = join(EXAMPLES_DIR, folder);
  /** @type {Record<string, string>} */
  const out = {};
  /** @param {string} dir */
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else out[relative(root, full)] = substitute(readFileSync(full, 'utf8'), ports);
    }
  };
  walk(root);
  return out;
}

/**
 * An app example folder (examples/immich, examples/frigate) with the examples/nginx snippets its nginx file includes.
 * @param {string} folder
 * @param {ExamplePorts} ports
 * @returns {Record<string, string>}
 */
export function readNginxAppExample(folder, ports) {
  const snippets = Object.entries(readExampleTree('nginx', ports)).filter(([name]) => name.startsWith('snippets/'));
  return { ...readExampleTree(folder, ports), ...Object.fromEntries(snippets) };
}
