/** The `oidc` section of the configuration: single sign-on through OpenID Connect providers. */
import { z } from 'zod';
import { MAPPING, duration, rateLimit, text } from './schema-shared.js';

export const OIDC_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
export const OIDC_LINK_MODES = ['none', 'email'] as const;

const CLAIM_ERROR = "must be a claim name such as 'preferred_username'";
const claimName = (fallback: string) => text(CLAIM_ERROR, (v) => /^[\x21-\x7e]+$/.test(v)).default(fallback);
export const ISSUER_ERROR = 'must be an absolute https URL without credentials, query or fragment (http only for a loopback host or when server.public_url is http)';
const GROUPS_PREFIX_ERROR = "must be at most 32 printable ASCII characters without spaces or commas, such as 'kc-'";
const EMAIL_RULE_ERROR = "must be an email address ('alice@example.com') or a domain written '@example.com'";

/** True for `localhost`, 127.0.0.0/8 and ::1: an identity provider on this machine may use plain http. */
export function isLoopbackHost(hostname: string): boolean {
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

export const oidc = z
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
