/**
 * The configuration reference: every key, its default and what it accepts.
 *
 * One `z.strictObject` per top-level section, composed in `SECTIONS`; to add a section, write its
 * object below and add one entry there. Each key carries a doc comment and a single message
 * stating what it expects (`must be ...`); the loader prefixes the key path and appends the value
 * seen, so messages here never repeat the key or the value.
 *
 * Every leaf key can also be set from the environment (`POSTERN_` + path upper-cased, `.` → `_`);
 * config/keys.ts reads them from this schema's JSON Schema, so a new key needs no other wiring.
 *
 * Durations are written as '24h', '30m', '2h30m' or 0 and come out in milliseconds. Relative paths
 * are resolved by the loader against the directory of the config file.
 */
import { isIP } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { accessSectionSchema } from '../access/schema.js';
import { isSubjectText, SUBJECT_SYNTAX } from '../access/rules.js';
import { DEFAULT_DEVICE_SPEC, DEFAULT_THROTTLE_SPECS } from '../auth/login-throttle.js';
import { parseRateLimit } from '../auth/rate-limit-spec.js';
import { TRUSTED_PROXY_NAMES, trustedProxyProblem } from '../http/trusted-proxies.js';
import { isWithinDomain } from '../net/domain.js';
import { parseDuration } from './duration.js';

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

const MAPPING = 'must be a mapping';

// ---------------------------------------------------------------------------------------------
// Leaf builders: each takes the one message said for every way the value can be wrong.

function integer(min: number, max: number) {
  const error = `must be an integer between ${min} and ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

function text(error: string, valid: (value: string) => boolean = (value) => value.length > 0) {
  return z.string({ error }).refine(valid, { error });
}

/** A duration between `min` and `max`; with `off`, 0 is also allowed and means "disabled". */
function duration(min: string, max: string, { off = false } = {}) {
  const minMs = parseDuration(min)!;
  const maxMs = parseDuration(max)!;
  const range = off ? `must be 0 (off) or between ${min} and ${max}` : `must be between ${min} and ${max}`;
  const examples = "a duration such as '24h', '30m' or '2h30m'";
  const syntax = `must be ${off ? `0 (off) or ${examples}` : examples}, between ${min} and ${max}`;
  return z.union([z.string(), z.number()], { error: syntax }).transform((value, ctx) => {
    // A bare number is only 0: '3600' could mean seconds or milliseconds, so it needs a unit.
    const ms = typeof value === 'number' ? (value === 0 ? 0 : undefined) : parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: syntax, input: value });
      return z.NEVER;
    }
    if (!(off && ms === 0) && (ms < minMs || ms > maxMs)) {
      ctx.addIssue({ code: 'custom', message: range, input: value });
      return z.NEVER;
    }
    return ms;
  });
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/i;

function isHostname(value: string): boolean {
  return HOSTNAME.test(value);
}

/** `http(s)://host[:port][/path]` without credentials, query or fragment; trailing '/' removed. */
function normalisePublicUrl(value: string): string | undefined {
  if (value.includes('?') || value.includes('#') || !URL.canParse(value)) return undefined;
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '' || url.hostname === '') return undefined;
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/** The same check the trusted-proxy compiler applies, so nothing passes validation and then fails at start. */
const trustedProxy = z
  .string({ error: `must be an address, a CIDR or one of ${Object.keys(TRUSTED_PROXY_NAMES).join(', ')}` })
  .superRefine((value, ctx) => {
    const problem = trustedProxyProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: value });
  });

export const CLIENT_IP_HEADERS = ['x-real-ip', 'cf-connecting-ip', 'x-forwarded-for', 'forwarded'] as const;

const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const PUBLIC_URL_ERROR =
  "must be an absolute http(s) URL without credentials, query or fragment, such as 'https://auth.example.com'";
const PROXY_SECRET = /^[\x21\x23\x25-\x26\x28-\x5b\x5d-\x7e]{16,1024}$/;
const PROXY_SECRET_ERROR = "must be 16 to 1024 visible ASCII characters without quotes, '$' or '\\' (openssl rand -hex 32 makes one)";
const CLIENT_IP_HEADER_ERROR = `must be one of ${CLIENT_IP_HEADERS.join(', ')}`;

// ---------------------------------------------------------------------------------------------
// Sections

const server = z
  .strictObject(
    {
      /** Address to listen on: an IP address or a hostname. Default `0.0.0.0`. */
      address: text('must be an IP address or a hostname', (v) => isIP(v) !== 0 || isHostname(v)).default('0.0.0.0'),
      /** TCP port to listen on, 1..65535; 0 picks any free port (tests). Default 9190. */
      port: integer(0, 65535).default(9190),
      /**
       * Where people reach Postern's login page: an absolute http(s) URL, optionally with a path
       * prefix, without query or fragment. A trailing '/' is removed. Default `http://localhost:9190`.
       */
      public_url: z
        .string({ error: PUBLIC_URL_ERROR })
        .transform((value, ctx) => {
          const url = normalisePublicUrl(value);
          if (url === undefined) {
            ctx.addIssue({ code: 'custom', message: PUBLIC_URL_ERROR, input: value });
            return z.NEVER;
          }
          return url;
        })
        .prefault('http://localhost:9190'),
      /**
       * Peers whose forwarding headers are believed: IPv4/IPv6 addresses, CIDRs (host bits zero:
       * `10.0.0.0/8`, not `10.0.0.5/8`), or the names `loopback`, `private` and `docker`.
       * Comma-separated in the environment. Default `[loopback]`.
       */
      trusted_proxies: z.array(trustedProxy, { error: 'must be a list' }).default(() => ['loopback']),
      /**
       * A header a trusted proxy sets to the client address, read instead of walking
       * X-Forwarded-For: `x-real-ip`, `cf-connecting-ip`, `x-forwarded-for` or `forwarded`
       * (case-insensitive). Default: none.
       */
      client_ip_header: z
        .string({ error: CLIENT_IP_HEADER_ERROR })
        .transform((value, ctx) => {
          const name = value.toLowerCase();
          if (!(CLIENT_IP_HEADERS as readonly string[]).includes(name)) {
            ctx.addIssue({ code: 'custom', message: CLIENT_IP_HEADER_ERROR, input: value });
            return z.NEVER;
          }
          return name as (typeof CLIENT_IP_HEADERS)[number];
        })
        .optional(),
      /**
       * After SIGTERM: how long `/readyz` answers 503 while the listener still serves, so the load
       * balancer notices before the port closes; then in-flight requests get up to 10 s. 0..5m. Default `5s`.
       */
      shutdown_grace: duration('1s', '5m', { off: true }).prefault('5s'),
      /**
       * A secret the proxy sends in `X-Postern-Proxy-Secret` on every verify request; when set, a
       * verify request without it, or with another value, gets 403. For a Postern whose port more
       * than the proxy can reach. At least 16 characters, visible ASCII without quotes, `$` or `\`
       * (the proxies' configs carry it as written). Secret (`proxy_secret_file` or
       * `POSTERN_SERVER_PROXY_SECRET_FILE` read it from a file). Default: none (not checked).
       */
      proxy_secret: text(PROXY_SECRET_ERROR, (v) => PROXY_SECRET.test(v)).optional(),
    },
    { error: MAPPING },
  )
  .prefault({});

const DOMAIN_ERROR = "must be a hostname such as 'example.com' (no scheme, port or path)";

// Redis Sentinel and TLS: kept together so the whole feature reads in one place.
const SENTINEL_ERROR = "must be a list of sentinel addresses 'host:port' (port 1..65535, default 26379)";

/** `host`, `host:port` or `[ipv6]:port` → `{ host, port }`; undefined when it is none of these. */
function parseSentinel(value: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(value.trim());
  if (!match) return undefined;
  const host = match[1] ?? match[2]!;
  if (match[1] !== undefined ? isIP(host) !== 6 : isIP(host) === 0 && !isHostname(host)) return undefined;
  const port = match[3] === undefined ? 26379 : Number(match[3]);
  return port >= 1 && port <= 65535 ? { host, port } : undefined;
}

const redisSentinelKeys = {
  /**
   * Find the Redis primary through these Redis Sentinels (`host:port`, default port 26379) instead of
   * `url`; comma-separated in the environment. Needs `name`. Default: none.
   */
  sentinels: z
    .array(
      z.string({ error: SENTINEL_ERROR }).transform((value, ctx) => {
        const address = parseSentinel(value);
        if (address === undefined) {
          ctx.addIssue({ code: 'custom', message: SENTINEL_ERROR, input: value });
          return z.NEVER;
        }
        return address;
      }),
      { error: SENTINEL_ERROR },
    )
    .min(1, { error: SENTINEL_ERROR })
    .optional(),
  /** The Sentinel master group name (`sentinel monitor <name> ...`); required with `sentinels`. */
  name: text("must be a Sentinel master group name such as 'mymaster'", (v) => /^[A-Za-z0-9._-]+$/.test(v)).optional(),
  /** Password of the Redis primary and replicas found through `sentinels` (with `url`, put it in the URL). Secret (`password_file`). */
  password: text('must be a non-empty string').optional(),
  /** Password of the Sentinels themselves (`requirepass` in sentinel.conf). Secret (`sentinel_password_file`). */
  sentinel_password: text('must be a non-empty string').optional(),
  tls: z
    .strictObject(
      {
        /** TLS to the Sentinels and to the primary found through them. With `url`, TLS is `rediss://` instead. Default false. */
        enabled: z.boolean({ error: 'must be true or false' }).default(false),
        /** A PEM CA bundle that Redis's certificates must chain to, read at start (instead of the system CAs). Default: system CAs. */
        ca_file: text('must be a file path').optional(),
      },
      { error: MAPPING },
    )
    .prefault({}),
};

/** Cross-key rules of `session.redis`; each problem is reported at the key to change. */
function checkRedisKeys(
  redis: { url?: string | undefined; sentinels?: unknown; name?: string | undefined; password?: string | undefined; sentinel_password?: string | undefined; tls: { enabled: boolean; ca_file?: string | undefined } },
  ctx: z.core.$RefinementCtx,
): void {
  const problem = (path: (string | number)[], message: string): void => ctx.addIssue({ code: 'custom', path, message });
  if (redis.url !== undefined && redis.sentinels !== undefined) {
    problem(['sentinels'], 'and session.redis.url are both set; set only one (url for one Redis, sentinels for a Sentinel-managed one)');
    return;
  }
  if (redis.sentinels !== undefined && redis.name === undefined) problem(['name'], 'must be set with session.redis.sentinels (the master group name the Sentinels monitor)');
  for (const key of ['name', 'password', 'sentinel_password'] as const) {
    if (redis.sentinels === undefined && redis[key] !== undefined) problem([key], 'is only used with session.redis.sentinels, which is not set');
  }
  const rediss = redis.url?.startsWith('rediss:') ?? false;
  if (redis.url !== undefined && redis.tls.enabled) {
    problem(['tls', 'enabled'], "is for session.redis.sentinels; with session.redis.url, TLS is a 'rediss://' URL");
  } else if (redis.tls.ca_file !== undefined && !rediss && !redis.tls.enabled) {
    problem(['tls', 'ca_file'], "is set but TLS is off: use a 'rediss://' session.redis.url, or session.redis.tls.enabled with sentinels");
  }
}

const session = z
  .strictObject(
    {
      /**
       * Key for the HMACs Postern keeps: the CSRF tokens of its forms, and the fingerprint of each
       * user's password hash kept in their sessions (a changed password ends older sessions). The
       * session cookie is not signed: it holds only a random id, and the session lives in the store.
       * At least 32 characters; changing it ends the sessions opened with a password. Secret
       * (`secret_file` or `POSTERN_SESSION_SECRET_FILE` read it from a file). Default: generated
       * once into `<data_dir>/session.secret`.
       */
      secret: text('must be a string of at least 32 characters', (v) => v.length >= 32).optional(),
      /** Name of the session cookie: letters, digits, '_' and '-'. Default `postern_session`. */
      cookie_name: text("must be a cookie name made of letters, digits, '_' and '-'", (v) =>
        /^[A-Za-z0-9_-]+$/.test(v),
      ).default('postern_session'),
      /**
       * Cookie domain, which is also the domain Postern protects: the host of `server.public_url`
       * or a parent of it. Lower-cased; one leading '.' is ignored. Default: the host of
       * `server.public_url`.
       */
      domain: z
        .string({ error: DOMAIN_ERROR })
        .transform((value, ctx) => {
          const domain = value.toLowerCase().replace(/^\./, '');
          if (!isHostname(domain)) {
            ctx.addIssue({ code: 'custom', message: DOMAIN_ERROR, input: value });
            return z.NEVER;
          }
          return domain;
        })
        .optional(),
      /** Longest a session lives after sign-in, 1h..720h. Default `24h`. */
      ttl: duration('1h', '720h').prefault('24h'),
      /** Sign out after this long without a request, 1m..720h; 0 turns it off. Default `0`. */
      inactivity: duration('1m', '720h', { off: true }).prefault(0),
      /** Session lifetime when "remember me" is ticked, 1h..8760h; 0 hides the checkbox. Default `720h`. */
      remember_me: duration('1h', '8760h', { off: true }).prefault('720h'),
      redis: z
        .strictObject(
          {
            /**
             * Store sessions in Redis at this `redis://` or `rediss://` URL instead of in memory.
             * Secret (may hold a password; `url_file` reads it from a file). Default: memory.
             */
            url: text('must be a redis:// or rediss:// URL', (v) => {
              if (!URL.canParse(v)) return false;
              const { protocol, pathname } = new URL(v);
              // The path is the database number: 'redis://host/abc' would make the client select NaN and retry forever.
              return (protocol === 'redis:' || protocol === 'rediss:') && /^(\/\d*)?$/.test(pathname);
            }).optional(),
            ...redisSentinelKeys,
          },
          { error: MAPPING },
        )
        .superRefine(checkRedisKeys)
        .prefault({}),
    },
    { error: MAPPING },
  )
  .prefault({});

/** Directory for state Postern writes (generated session secret, default users file). Default `./data`. */
const data_dir = text('must be a directory path').default('./data');

const users = z
  .strictObject(
    {
      /** The users file. Default `<data_dir>/users.yml`. */
      file: text('must be a file path').optional(),
      /** Fewest characters `postern user add|passwd` accepts in a password (`--force` skips it), 1..128. Default 12. */
      min_password_length: integer(1, 128).default(12),
      /** Parameters for new argon2id hashes; existing hashes keep their own. OWASP 2023: m=19 MiB, t=2, p=1. */
      argon2: z
        .strictObject(
          {
            /** Memory in KiB, 8192..1048576. Default 19456 (19 MiB). */
            memory_cost: integer(8192, 1_048_576).default(19_456),
            /** Iterations, 1..10. Default 2. */
            time_cost: integer(1, 10).default(2),
            /** Lanes, 1..16. Default 1. */
            parallelism: integer(1, 16).default(1),
          },
          { error: MAPPING },
        )
        .prefault({}),
    },
    { error: MAPPING },
  )
  .prefault({});

const secrets = z
  .strictObject(
    {
      /**
       * Key for the second-factor secrets kept in the users file (authenticator app secrets,
       * AES-256-GCM), at least 32 characters. Every replica needs the same one; a factor sealed under
       * another key is refused (logged) until `postern user reset-2fa`. Secret (`encryption_key_file`
       * or `POSTERN_SECRETS_ENCRYPTION_KEY_FILE`). Default: generated once into `<data_dir>/encryption.key`.
       */
      encryption_key: text('must be a string of at least 32 characters', (v) => v.length >= 32).optional(),
    },
    { error: MAPPING },
  )
  .prefault({});

const two_factor = z
  .strictObject(
    {
      /** A user with a second factor is asked for it at every password sign-in. Default true. */
      required_for_enrolled: z.boolean({ error: 'must be true or false' }).default(true),
      /** A user without a factor who meets a `policy: two_factor` rule is walked through TOTP enrolment there, instead of being sent to /account. Default false. */
      enrol_on_sign_in: z.boolean({ error: 'must be true or false' }).default(false),
      /** The name authenticator apps show beside the account. Default `Postern`. */
      issuer: text('must be a non-empty text without ":" or control characters', (v) => v.length > 0 && v.length <= 64 && !/[:\u0000-\u001f\u007f]/.test(v)).default('Postern'),
    },
    { error: MAPPING },
  )
  .prefault({});

const HEADER_ERROR = 'must be an HTTP header name (letters, digits and !#$%&\'*+-.^_`|~)';

/**
 * Names an identity header may not take: headers that frame or route the reply or the request
 * (a second Content-Length breaks the reply; a Host, Cookie or Authorization would be copied onto
 * the upstream request by the proxy), and the ones verify itself sets.
 */
const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'authorization', 'cache-control', 'connection', 'content-length', 'content-type', 'cookie', 'date', 'expect',
  'forwarded', 'host', 'keep-alive', 'location', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection',
  'set-cookie', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'www-authenticate', 'x-forwarded-for',
  'x-forwarded-host', 'x-forwarded-method', 'x-forwarded-proto', 'x-forwarded-uri', 'x-original-method',
  'x-original-url', 'x-real-ip',
]);

const headers = z
  .strictObject(
    {
      /** Header carrying the username to the upstream. Default `Remote-User`. */
      user: text(HEADER_ERROR, (v) => HTTP_TOKEN.test(v)).default('Remote-User'),
      /** Header carrying the user's role. Default `Remote-Role`. */
      role: text(HEADER_ERROR, (v) => HTTP_TOKEN.test(v)).default('Remote-Role'),
      /** Header carrying the user's groups, comma-separated. Default `Remote-Groups`. */
      groups: text(HEADER_ERROR, (v) => HTTP_TOKEN.test(v)).default('Remote-Groups'),
      /** Header carrying the user's email address. Default `Remote-Email`. */
      email: text(HEADER_ERROR, (v) => HTTP_TOKEN.test(v)).default('Remote-Email'),
      /** Header carrying the user's display name. Default `Remote-Name`. */
      name: text(HEADER_ERROR, (v) => HTTP_TOKEN.test(v)).default('Remote-Name'),
      /** Header saying how the request was authenticated: `session`, `token` (an app password) or `basic` (the account password). Default `Remote-Auth`. */
      auth: text(HEADER_ERROR, (v) => HTTP_TOKEN.test(v)).default('Remote-Auth'),
    },
    { error: MAPPING },
  )
  .prefault({})
  .superRefine((names, ctx) => {
    // Header names are case-insensitive: two keys naming one header would overwrite each other.
    const seen = new Map<string, string>();
    for (const [key, name] of Object.entries(names)) {
      if (RESERVED_HEADERS.has(name.toLowerCase())) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'must not be a header that HTTP, the proxy or verify itself uses (pick a name such as Remote-User)', input: name });
        continue;
      }
      const first = seen.get(name.toLowerCase());
      if (first === undefined) seen.set(name.toLowerCase(), key);
      else ctx.addIssue({ code: 'custom', path: [key], message: `must differ from headers.${first}`, input: name });
    }
  });

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const log = z
  .strictObject(
    {
      /** Least severe level written: fatal, error, warn, info, debug, trace or silent. Default `info`. */
      level: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    },
    { error: MAPPING },
  )
  .prefault({});

const metrics = z
  .strictObject(
    {
      /** Address of the metrics listener (`GET /metrics`): an IP address or a hostname. Default `127.0.0.1`. */
      address: text('must be an IP address or a hostname', (v) => isIP(v) !== 0 || isHostname(v)).default('127.0.0.1'),
      /**
       * Port of the metrics listener, its own server apart from `server.port`, so the proxy never
       * reaches it; 0 picks any free port (tests). Default: none, metrics are off.
       */
      port: integer(0, 65535).optional(),
    },
    { error: MAPPING },
  )
  .prefault({});

const admin = z
  .strictObject(
    {
      /**
       * Who may use the admin page (`/admin`): `user:NAME`, `group:NAME` or `role:NAME`, as in
       * access rules' `subjects`. Default `["role:admin"]`; `[]` closes the page to everyone.
       */
      subjects: z.array(text(SUBJECT_SYNTAX, isSubjectText), { error: 'must be a list' }).default(() => ['role:admin']),
    },
    { error: MAPPING },
  )
  .prefault({});

/** A rate limit in the notation `"5/minute;20/hour"`; `off` (or '') disables it. */
function rateLimit(fallback: string) {
  return z
    .string({ error: 'must be a rate limit such as "5/minute;20/hour", or off' })
    .default(fallback)
    .transform((value, ctx) => {
      const parsed = parseRateLimit(value);
      if (parsed.ok) return parsed.windows;
      ctx.addIssue({ code: 'custom', message: parsed.error, input: value });
      return z.NEVER;
    });
}

const login = z
  .strictObject(
    {
      /** Failed sign-ins allowed per client address. Default `10/minute;50/hour`. */
      rate_limit: rateLimit(DEFAULT_THROTTLE_SPECS.perIp),
      /** Failed sign-ins allowed per username, across all addresses (stops distributed guessing). Default `20/minute;100/hour`. */
      account_rate_limit: rateLimit(DEFAULT_THROTTLE_SPECS.perUser),
      /** Failed sign-ins allowed per username from one address; a success clears it. Default `5/minute;20/hour`. */
      account_address_rate_limit: rateLimit(DEFAULT_THROTTLE_SPECS.perUserIp),
      /**
       * How long a browser that signed in with the right password stays a trusted device for that
       * username: its attempts are judged by login.device_rate_limit alone. 0 turns device trust off. Default `2160h` (90 days).
       */
      device_ttl: duration('1h', '8760h', { off: true }).prefault('2160h'),
      /** Failed sign-ins allowed per trusted device; reaching it ends the device's trust. Default `5/minute;20/hour`. */
      device_rate_limit: rateLimit(DEFAULT_DEVICE_SPEC).refine((windows) => windows.length > 0, {
        error: 'must have at least one window, such as "5/minute;20/hour" (to turn device trust off, set login.device_ttl to 0)',
      }),
      /** "Sign in with a passkey" started per client address (each keeps a challenge in the session store for 15 minutes). Default `30/minute;300/hour`. */
      passkey_rate_limit: rateLimit('30/minute;300/hour'),
    },
    { error: MAPPING },
  )
  // The four windows come out as the one value the throttle takes (`login.throttle`).
  .transform(({ rate_limit, account_rate_limit, account_address_rate_limit, device_rate_limit, ...rest }) => ({
    ...rest,
    throttle: { perIp: rate_limit, perUser: account_rate_limit, perUserIp: account_address_rate_limit, perDevice: device_rate_limit },
  }))
  .prefault({});

const tokens = z
  .strictObject(
    {
      /** Header a client may carry an app password in (besides `Authorization: Bearer` and Basic). Default `X-Postern-Token`. */
      header: text(HEADER_ERROR, (v) => HTTP_TOKEN.test(v) && !RESERVED_HEADERS.has(v.toLowerCase())).default('X-Postern-Token'),
      /** Accept `Authorization: Basic` with a user's account password (not only app passwords). Default false. */
      basic_account_password: z.boolean({ error: 'must be true or false' }).default(false),
      /** How long a verified Basic account password is remembered (one hash per window). Default `5m`. */
      basic_cache_ttl: duration('1s', '1h').prefault('5m'),
    },
    { error: MAPPING },
  )
  .prefault({});

export const OIDC_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
export const OIDC_LINK_MODES = ['none', 'email'] as const;

const CLAIM_ERROR = "must be a claim name such as 'preferred_username'";
const claimName = (fallback: string) => text(CLAIM_ERROR, (v) => /^[\x21-\x7e]+$/.test(v)).default(fallback);
const ISSUER_ERROR = 'must be an absolute https URL without credentials, query or fragment (http only for a loopback host or when server.public_url is http)';
const GROUPS_PREFIX_ERROR = "must be at most 32 printable ASCII characters without spaces or commas, such as 'kc-'";
const EMAIL_RULE_ERROR = "must be an email address ('alice@example.com') or a domain written '@example.com'";

/** True for `localhost`, 127.0.0.0/8 and ::1: an identity provider on this machine may use plain http. */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname === '[::1]';
}

const oidcProvider = z.strictObject(
  {
    /** Used in URLs (`/oidc/<id>/start`, `/oidc/<id>/callback`) and in logs: lower-case letters, digits and '-', unique. */
    id: text("must be lower-case letters, digits and '-' (at most 32), such as 'keycloak'", (v) => /^[a-z0-9-]{1,32}$/.test(v)),
    /** The text of this provider's button on the sign-in page. Default `Sign in with <id>`. */
    button_text: text('must be a non-empty text').optional(),
    /**
     * The provider's issuer identifier; its metadata is discovered at
     * `<issuer_url>/.well-known/openid-configuration` and its `issuer` must equal this value.
     */
    issuer_url: text(ISSUER_ERROR, (v) => {
      if (v.includes('?') || v.includes('#') || !URL.canParse(v)) return false;
      const url = new URL(v);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '';
    }),
    /** The client id registered at the provider. */
    client_id: text('must be a non-empty text'),
    /** The client secret; absent for a public client. Secret (`client_secret_file` reads it from a file). */
    client_secret: text('must be a non-empty text').optional(),
    /** Scopes requested; must include `openid`. Default `openid email profile`. */
    scope: text("must be a space-separated list of scopes that includes 'openid'", (v) => v.split(' ').includes('openid')).default(
      'openid email profile',
    ),
    /**
     * How Postern authenticates at the token endpoint: `client_secret_basic`, `client_secret_post` or
     * `none` (public client, PKCE only). Default: `client_secret_basic` with a secret, `none` without.
     */
    token_endpoint_auth_method: z.enum(OIDC_AUTH_METHODS, { error: `must be one of ${OIDC_AUTH_METHODS.join(', ')}` }).optional(),
    /** Which claims (from the ID token, then the UserInfo endpoint) fill the identity headers. */
    claims: z
      .strictObject(
        {
          /** Becomes Remote-User after the same normalisation and checks as local usernames. Default `preferred_username`. */
          username: claimName('preferred_username'),
          /** Default `email`. Shown only when `email_verified` is true, unless `require_verified_email` is false. */
          email: claimName('email'),
          /** Default `name`. */
          name: claimName('name'),
          /** A list of strings (or one string). Default `groups`. */
          groups: claimName('groups'),
          /** Absent (the default): everyone gets `default_role`. */
          role: text(CLAIM_ERROR, (v) => /^[\x21-\x7e]+$/.test(v)).optional(),
        },
        { error: MAPPING },
      )
      .prefault({}),
    /** Role when the role claim is not configured or not present. Default `viewer`. */
    default_role: text('must be a non-empty text without control characters', (v) => v.length > 0 && !/[\u0000-\u001f\u007f]/.test(v)).default('viewer'),
    /** Only members of at least one of these groups may sign in; empty: anyone the provider authenticates. */
    allowed_groups: z.array(text('must be a non-empty group name'), { error: 'must be a list' }).default(() => []),
    /** Only these addresses (or '@domain' suffixes) may sign in; empty: any. Case-insensitive. */
    allowed_emails: z
      .array(text(EMAIL_RULE_ERROR, (v) => /^[^@\s]*@[^@\s]+$/.test(v)), { error: 'must be a list' })
      .default(() => []),
    /** An unverified email neither passes `allowed_emails` nor reaches Remote-Email. Default true. */
    require_verified_email: z.boolean({ error: 'must be true or false' }).default(true),
    /**
     * `email`: a provider identity whose verified email equals a local user's email signs in as
     * that local user. `none` (the default): never; a provider username equal to a local username is refused.
     */
    link_local_users: z.enum(OIDC_LINK_MODES, { error: `must be one of ${OIDC_LINK_MODES.join(', ')}` }).default('none'),
    /**
     * Put before every group this provider emits (`kc-` makes `admins` arrive as `kc-admins`), so two
     * providers cannot grant each other's groups. `allowed_groups` still names the provider's own
     * groups. Default empty.
     */
    groups_prefix: z
      .string({ error: GROUPS_PREFIX_ERROR })
      .refine((v) => /^[\x21-\x2b\x2d-\x7e]{0,32}$/.test(v), { error: GROUPS_PREFIX_ERROR })
      .default(''),
    /** Lifetime of a session opened through this provider. Default: `session.ttl`. */
    session_ttl: duration('5m', '720h').optional(),
    /**
     * Every sign-in through this provider counts as two factors (it enforces its own). Default false:
     * only when its ID token's `amr` says so (`mfa`, or a factor such as `otp` or `hwk` beside another).
     */
    two_factor: z.boolean({ error: 'must be true or false' }).default(false),
  },
  { error: MAPPING },
).transform((provider) => ({
  ...provider,
  button_text: provider.button_text ?? `Sign in with ${provider.id}`,
  // Chosen from the secret when not configured: a confidential client with one, a public client without.
  token_endpoint_auth_method: provider.token_endpoint_auth_method ?? (provider.client_secret === undefined ? 'none' : 'client_secret_basic'),
  allowed_emails: provider.allowed_emails.map((rule) => rule.toLowerCase()),
}));

const oidc = z
  .strictObject(
    {
      /** With exactly one provider and `password_login: false`, /login goes straight to the provider. Default false. */
      auto_launch: z.boolean({ error: 'must be true or false' }).default(false),
      /** Show the username and password form (and accept it). Default true. */
      password_login: z.boolean({ error: 'must be true or false' }).default(true),
      /** The OpenID Connect providers, one button each on the sign-in page. */
      providers: z.array(oidcProvider, { error: 'must be a list of providers' }).default(() => []),
      /** Sign-ins started per client address (each keeps a record in the session store for 15 minutes). Default `30/minute;300/hour`. */
      start_rate_limit: rateLimit('30/minute;300/hour'),
    },
    { error: MAPPING },
  )
  .superRefine((section, ctx) => {
    const seen = new Set<string>();
    section.providers.forEach((provider, index) => {
      const at = (key: string) => ['providers', index, key];
      if (seen.has(provider.id)) ctx.addIssue({ code: 'custom', path: at('id'), message: 'must be unique among oidc.providers', input: provider.id });
      seen.add(provider.id);
      const method = provider.token_endpoint_auth_method;
      if (method !== 'none' && provider.client_secret === undefined) {
        ctx.addIssue({ code: 'custom', path: at('client_secret'), message: `must be set when token_endpoint_auth_method is ${method}` });
      }
      if (method === 'none' && provider.client_secret !== undefined) {
        ctx.addIssue({ code: 'custom', path: at('client_secret'), message: 'must not be set when token_endpoint_auth_method is none' });
      }
    });
    if (!section.password_login && section.providers.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['password_login'], message: 'may be false only when oidc.providers lists at least one provider', input: false });
    }
    if (section.auto_launch && (section.providers.length !== 1 || section.password_login)) {
      ctx.addIssue({ code: 'custom', path: ['auto_launch'], message: 'may be true only with exactly one provider and oidc.password_login false', input: true });
    }
  });

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
