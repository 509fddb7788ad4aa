/** The `session` section of the configuration: the cookie, lifetimes, and the Redis store (URL or Sentinel, TLS). */
import { isIP } from 'node:net';
import { z } from 'zod';
import { MAPPING, duration, isHostname, text } from './schema-shared.js';

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

export const session = z
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
