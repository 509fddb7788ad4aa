/**
 * The configuration reference: every key, its default and what it accepts.
 *
 * One `z.strictObject` per top-level section, composed in `SECTIONS`; the sections live beside
 * this file in schema-<area>.ts (shared builders in schema-shared.ts). To add a section, write its
 * object in the module of its area and add one entry to `SECTIONS`. Each key carries a doc comment
 * and a single message stating what it expects (`must be ...`); the loader prefixes the key path
 * and appends the value seen, so messages never repeat the key or the value.
 *
 * Every leaf key can also be set from the environment (`POSTERN_` + path upper-cased, `.` → `_`);
 * config/keys.ts reads them from this schema, so a new key needs no other wiring.
 *
 * Durations are written as '24h', '30m', '2h30m' or 0 and come out in milliseconds. Relative paths
 * are resolved by the loader against the directory of the config file.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { accessSectionSchema } from '../access/schema.js';
import { isWithinDomain } from '../net/domain.js';
import { headers, tokens } from './schema-headers.js';
import { ISSUER_ERROR, isLoopbackHost, oidc } from './schema-oidc.js';
import { log, metrics, server } from './schema-server.js';
import { session } from './schema-session.js';
import { admin, data_dir, login, secrets, two_factor, users } from './schema-users.js';

export { CLIENT_IP_HEADERS, LOG_LEVELS } from './schema-server.js';
export { OIDC_AUTH_METHODS, OIDC_LINK_MODES } from './schema-oidc.js';

/**
 * Keys whose values never appear in a message and which may be given as `<key>_file` (in YAML or
 * as `POSTERN_<KEY>_FILE`): the file's content, trailing newline removed. A path segment that
 * meets a list applies to each item (`oidc.providers.client_secret`).
 */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'session.secret',
  'session.redis.url',
  'session.redis.password',
  'session.redis.sentinel_password',
  'oidc.providers.client_secret',
  'server.proxy_secret',
  'secrets.encryption_key',
]);

/** The top-level sections, in the order the reference lists them. */
const SECTIONS = {
  server,
  session,
  data_dir,
  users,
  headers,
  log,
  login,
  /** The admin page (see Administration in the README). */
  admin,
  /** Keys for what Postern keeps encrypted (second-factor secrets). */
  secrets,
  /** When a second factor is asked for (see "Account and second factor" in the README). */
  two_factor,
  /** Prometheus metrics on a separate listener (see Monitoring in the README). Off unless `metrics.port` is set. */
  metrics,
  /** App passwords and other credentials for clients that are not browsers (see the README's "Apps and devices"). */
  tokens,
  /** Access rules: who may reach which host, path and method (see the README). Absent: any signed-in user, on session.domain only. */
  access: accessSectionSchema.optional(),
  /** Single sign-on through OpenID Connect providers (see the README). Absent: password sign-in only. */
  oidc: oidc.optional(),
};

/** True when no issue so far concerns the value at any of `paths` (or at a mapping above them). */
function validSoFar(...paths: readonly string[]) {
  return (payload: z.core.ParsePayload): boolean =>
    !payload.issues.some((issue) => {
      if (issue.code === 'unrecognized_keys') return false; // Extra keys leave the known values intact.
      const at = (issue.path ?? []).map(String).join('.');
      return paths.some((path) => path === at || path.startsWith(`${at}.`) || at === '');
    });
}

export const configSchema = z.strictObject(SECTIONS).superRefine(
  (config, ctx) => {
    // The login page sets the cookie; a browser drops a Set-Cookie whose Domain does not cover the host.
    const { domain } = config.session;
    const host = new URL(config.server.public_url).hostname;
    if (domain !== undefined && !isWithinDomain(host, domain)) {
      ctx.addIssue({
        code: 'custom',
        path: ['session', 'domain'],
        message: `must be the host of server.public_url ('${host}') or a parent domain of it`,
      });
    }
  },
  // Runs alongside problems elsewhere, so that one start-up attempt reports this one too.
  { when: validSoFar('server.public_url', 'session.domain') },
).superRefine(
  (config, ctx) => {
    // Tokens and codes cross this connection: plain http only on this machine, or in an http-only (development) setup.
    if (config.server.public_url.startsWith('http:')) return;
    config.oidc?.providers.forEach((provider, index) => {
      const url = new URL(provider.issuer_url);
      if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
        ctx.addIssue({ code: 'custom', path: ['oidc', 'providers', index, 'issuer_url'], message: ISSUER_ERROR, input: provider.issuer_url });
      }
    });
  },
  { when: validSoFar('server.public_url', 'oidc') },
).superRefine(
  (config, ctx) => {
    // The app password header is removed towards the app; an identity header of the same name would be too.
    const taken = Object.entries(config.headers).find(([, name]) => name.toLowerCase() === config.tokens.header.toLowerCase());
    if (taken) ctx.addIssue({ code: 'custom', path: ['tokens', 'header'], message: `must differ from headers.${taken[0]}`, input: config.tokens.header });
  },
  { when: validSoFar('headers', 'tokens.header') },
).transform((config) => ({
  ...config,
  session: { ...config.session, domain: config.session.domain ?? new URL(config.server.public_url).hostname },
  users: { ...config.users, file: config.users.file ?? join(config.data_dir, 'users.yml') },
  oidc: config.oidc && {
    ...config.oidc,
    providers: config.oidc.providers.map((provider) => ({ ...provider, session_ttl: provider.session_ttl ?? config.session.ttl })),
  },
}));

/**
 * The validated configuration, with its paths (`data_dir`, `users.file`) still relative to the
 * directory of the config file: the loader resolves them.
 */
export type FileConfig = z.output<typeof configSchema>;
