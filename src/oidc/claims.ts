/**
 * From a provider's claims to the person who signs in: mapping (which claim fills which header),
 * the provider's allow-lists, and linking to local users. Pure functions; each refusal is a
 * SignInRefused with a message for the person and a reason for the log.
 */
import { createHash } from 'node:crypto';
import { hasControlChars, normaliseUsername, validateUsername } from '../auth/username.js';
import type { User, UserDirectory } from '../auth/user.js';
import type { OidcProviderSettings } from '../config/types.js';
import { SignInRefused } from './errors.js';

/** What the provider says about the person, mapped and checked. */
export interface ProviderIdentity {
  /** Issuer and subject: the key of this identity at the provider. */
  readonly iss: string;
  readonly sub: string;
  /** The username claim, normalised like local usernames. */
  readonly user: string;
  readonly role: string;
  readonly groups: readonly string[];
  /** As the provider gave it (maybe unverified), '' when absent; see `shownEmail`. */
  readonly email: string;
  readonly emailVerified: boolean;
  readonly name: string;
}

const MAX_TEXT = 256;
const MAX_GROUPS = 256;

// A high surrogate not followed by a low one, or a low one not preceded by a high one: no UTF-8 form.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A claim text fit for a header and a log line: a string, not empty, short, with no control characters and no lone surrogate. */
function cleanText(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > MAX_TEXT * 2) return undefined;
  const text = value.trim();
  return text === '' || text.length > MAX_TEXT || hasControlChars(text) || LONE_SURROGATE.test(text) ? undefined : text;
}

function groupsOf(value: unknown): string[] {
  const raw = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  const groups = new Set<string>();
  for (const item of raw) {
    const group = cleanText(item);
    if (group !== undefined && groups.size < MAX_GROUPS) groups.add(group);
  }
  return [...groups];
}

/** `email_verified` is a boolean in the standard; a few providers send the string "true". */
function isVerified(value: unknown): boolean {
  return value === true || value === 'true';
}

/** Maps the claims (ID token over UserInfo) to an identity, or refuses when the username cannot be used. */
export function mapClaims(settings: OidcProviderSettings, claims: Readonly<Record<string, unknown>>): ProviderIdentity {
  const names = settings.claims;
  const where = new URL(settings.issuer_url).host;
  const raw = claims[names.username];
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new SignInRefused(
      403,
      `Your account at ${where} has no username that can be used here. Ask the administrator.`,
      `claim '${names.username}' (username) is missing or not a string`,
      'warn',
    );
  }
  const problem = LONE_SURROGATE.test(raw) ? 'contains a lone surrogate (not text)' : validateUsername(raw.trim());
  if (problem !== undefined) {
    throw new SignInRefused(403, `Your username at ${where} cannot be used here. Ask the administrator.`, `claim '${names.username}' (username) ${problem}`, 'warn');
  }
  const email = cleanText(claims[names.email]);
  const role = names.role === undefined ? undefined : cleanText(claims[names.role]);
  return {
    iss: String(claims.iss),
    sub: String(claims.sub),
    user: normaliseUsername(raw.trim()),
    role: role ?? settings.default_role,
    groups: groupsOf(claims[names.groups]),
    email: email !== undefined && email.includes('@') ? email : '',
    emailVerified: isVerified(claims.email_verified),
    name: cleanText(claims[names.name]) ?? '',
  };
}

/**
 * The groups a session carries: each behind the provider's `groups_prefix`, so that two providers
 * emitting the same group name do not grant each other's access. `allowed_groups` (see admit) is
 * matched against the provider's own names, before the prefix.
 */
export function sessionGroups(settings: OidcProviderSettings, identity: ProviderIdentity): string[] {
  return identity.groups.map((group) => settings.groups_prefix + group);
}

/** The email for Remote-Email: '' when unverified and the provider requires verified emails. */
export function shownEmail(settings: OidcProviderSettings, identity: ProviderIdentity): string {
  return identity.emailVerified || !settings.require_verified_email ? identity.email : '';
}

function emailAllowed(rules: readonly string[], email: string): boolean {
  const address = email.toLowerCase();
  return rules.some((rule) => (rule.startsWith('@') ? address.endsWith(rule) : address === rule));
}

/**
 * Who a provider admits, as a short fingerprint kept in the sessions it opens: when the admission
 * rules change (a group or an address taken off the lists, `two_factor` turned off or on), those
 * sessions end, and each person is checked against the new rules at their next sign-in.
 */
export function admissionFingerprint(settings: OidcProviderSettings): string {
  const rules = {
    groups: settings.allowed_groups,
    emails: settings.allowed_emails,
    verified: settings.require_verified_email,
    link: settings.link_local_users,
    // Only when set: sessions opened before the key existed keep their fingerprint.
    ...(settings.groups_prefix === '' ? {} : { prefix: settings.groups_prefix }),
    // Only when set, likewise. A session opened while the provider was marked counts as two factors
    // by that marking alone: it must not outlive the marking.
    ...(settings.two_factor ? { two_factor: true } : {}),
  };
  return createHash('sha256').update(JSON.stringify(rules)).digest('base64url').slice(0, 16);
}

/** The provider's allow-lists: `allowed_groups`, then `allowed_emails` (verified, unless the provider says otherwise). */
export function admit(settings: OidcProviderSettings, identity: ProviderIdentity): void {
  const { allowed_groups: groups, allowed_emails: emails } = settings;
  if (groups.length > 0 && !identity.groups.some((g) => groups.includes(g))) {
    throw new SignInRefused(
      403,
      'Your account is not in a group that may sign in here. Ask the administrator if you need access.',
      `none of the groups [${identity.groups.join(', ')}] is in allowed_groups`,
    );
  }
  if (emails.length > 0) {
    if (identity.email === '') {
      throw new SignInRefused(403, 'Your account has no email address, and only some addresses may sign in here.', 'no email claim while allowed_emails is set');
    }
    if (settings.require_verified_email && !identity.emailVerified) {
      throw new SignInRefused(
        403,
        `Your email address is not verified at ${new URL(settings.issuer_url).host}. Verify it there, then sign in again.`,
        'email not verified (require_verified_email) while allowed_emails is set',
      );
    }
    if (!emailAllowed(emails, identity.email)) {
      throw new SignInRefused(403, 'Your email address may not sign in here. Ask the administrator if you need access.', 'email not in allowed_emails');
    }
  }
}

export type Account = { readonly kind: 'local'; readonly user: User } | { readonly kind: 'provider' };

/**
 * Who the person signs in as. With `link_local_users: email`, a verified email equal to exactly one
 * local user's email signs in as that local user. Otherwise as the provider identity, unless a local
 * user has the same username: that is refused, because the apps behind Postern would see one
 * Remote-User for two people.
 */
export function chooseAccount(settings: OidcProviderSettings, identity: ProviderIdentity, users: UserDirectory): Account {
  if (settings.link_local_users === 'email' && identity.emailVerified && identity.email !== '') {
    const address = identity.email.toLowerCase();
    const matches = users.all().filter((u) => u.email !== '' && u.email.toLowerCase() === address);
    if (matches.length > 1) {
      throw new SignInRefused(403, 'Your email address belongs to more than one account here. Ask the administrator.', `verified email matches ${matches.length} local users`, 'warn');
    }
    const [user] = matches;
    if (user !== undefined) {
      if (user.disabled) throw new SignInRefused(403, 'Your account here is disabled.', `linked local user '${user.username}' is disabled`);
      return { kind: 'local', user };
    }
  }
  if (users.find(identity.user)) {
    throw new SignInRefused(
      403,
      `An account named ${identity.user} already exists here, so this sign-in cannot be used for it. Ask the administrator.`,
      `username '${identity.user}' is a local user and link_local_users (${settings.link_local_users}) did not link them`,
      'warn',
    );
  }
  return { kind: 'provider' };
}
