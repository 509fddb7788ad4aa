/**
 * The configuration sections about accounts and signing in: `data_dir`, `users`, `secrets`,
 * `two_factor`, `admin` and `login`.
 */
import { z } from 'zod';
import { isSubjectText, SUBJECT_SYNTAX } from '../access/rules.js';
import { DEFAULT_DEVICE_SPEC, DEFAULT_THROTTLE_SPECS } from '../auth/throttle-defaults.js';
import { MAPPING, duration, integer, rateLimit, text } from './schema-shared.js';

/** Directory for state Postern writes (generated session secret, default users file). Default `./data`. */
export const data_dir = text('must be a directory path').default('./data');

export const users = z
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

export const secrets = z
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

export const two_factor = z
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

export const admin = z
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

export const login = z
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
