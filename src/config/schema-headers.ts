/** The configuration sections naming HTTP headers: `headers` (identity towards the app) and `tokens` (credentials from clients). */
import { z } from 'zod';
import { HTTP_TOKEN, MAPPING, duration, text } from './schema-shared.js';

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

export const headers = z
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

export const tokens = z
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
