/** The configuration sections of the listeners and their output: `server`, `log` and `metrics`. */
import { isIP } from 'node:net';
import { z } from 'zod';
import { TRUSTED_PROXY_NAMES, trustedProxyProblem } from '../http/trusted-proxies.js';
import { MAPPING, duration, integer, isHostname, text } from './schema-shared.js';

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

const PUBLIC_URL_ERROR =
  "must be an absolute http(s) URL without credentials, query or fragment, such as 'https://auth.example.com'";
const PROXY_SECRET = /^[\x21\x23\x25-\x26\x28-\x5b\x5d-\x7e]{16,1024}$/;
const PROXY_SECRET_ERROR = "must be 16 to 1024 visible ASCII characters without quotes, '$' or '\\' (openssl rand -hex 32 makes one)";
const CLIENT_IP_HEADER_ERROR = `must be one of ${CLIENT_IP_HEADERS.join(', ')}`;

export const server = z
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

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const log = z
  .strictObject(
    {
      /** Least severe level written: fatal, error, warn, info, debug, trace or silent. Default `info`. */
      level: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    },
    { error: MAPPING },
  )
  .prefault({});

export const metrics = z
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
