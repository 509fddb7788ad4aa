/**
 * Passkeys (WebAuthn) through @simplewebauthn/server: the options a page hands to the browser, and
 * the checks of what the browser sends back. No Koa, no session: the caller keeps the challenge
 * (factors/passkey-ceremony.ts) and passes it in.
 *
 * - Relying party id: `session.domain`, so one passkey serves the portal and every protected host.
 *   Origin: `server.public_url`'s origin, the only page that runs a ceremony.
 * - A response made for another challenge, origin or RP id, for the other ceremony, or signed by
 *   a key that is not the one registered, is refused with a stable reason (for the log).
 * - The signature counter is judged here, not by the library, and only after the signature is
 *   valid: a forged response cannot make a real authenticator look cloned. It moves forward in the
 *   counter store atomically, so two replicas cannot both accept one count.
 * - The WebAuthn user handle is an HMAC of the username under the session secret: stable for a
 *   user, meaningless to anyone else (WebAuthn asks that it hold no personal data).
 */
import { createHmac } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isoBase64URL } from '@simplewebauthn/server/helpers';
import type { User } from '../auth/user.js';
import type { PasskeyCounterStore } from '../store/passkey-counter-store.js';
import { isCredentialId, TRANSPORTS, type Passkey } from './passkey-parse.js';

export interface PasskeyDeps {
  /** `session.domain`. */
  readonly rpId: string;
  /** The origin of `server.public_url`. */
  readonly origin: string;
  /** The session secret: keys the user handle. */
  readonly secret: string;
  readonly counters: PasskeyCounterStore;
  readonly now: () => number;
}

/** Why a response was refused; stable texts for the log. */
export type PasskeyRefusal =
  | 'malformed response'
  | 'wrong challenge'
  | 'wrong origin'
  | 'wrong rp id'
  | 'wrong ceremony'
  | 'unknown credential'
  | 'wrong user handle'
  | 'bad signature'
  | 'counter went back'
  | 'invalid response';

export type RegistrationResult = { readonly ok: true; readonly passkey: Passkey } | { readonly ok: false; readonly reason: PasskeyRefusal };

export type AuthenticationResult =
  | { readonly ok: true; readonly user: User; readonly passkey: Passkey; readonly userVerified: boolean }
  | { readonly ok: false; readonly reason: PasskeyRefusal; readonly user?: string; readonly detail?: Record<string, number> };

/** The owner of a credential id, and the passkey, among the users this ceremony accepts. */
export type CredentialLookup = (credentialId: string) => { readonly user: User; readonly passkey: Passkey } | undefined;

/** How long the browser may take: the user has to find and touch an authenticator. */
export const CEREMONY_TIMEOUT_MS = 120_000;
/** A credential response is a few hundred bytes (attestation `none`); anything far larger is not one. */
const MAX_RESPONSE_LENGTH = 12_000;

/**
 * The one reader of a credential response from a form field: JSON of an object naming a public-key
 * credential by a base64url id, or undefined. The library checks everything inside `response`.
 */
export function parseCredentialResponse(text: unknown): (RegistrationResponseJSON & AuthenticationResponseJSON) | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_RESPONSE_LENGTH) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || !isCredentialId(v.id) || v.rawId !== v.id || v.type !== 'public-key') return undefined;
  if (typeof v.response !== 'object' || v.response === null || Array.isArray(v.response)) return undefined;
  return { ...v, clientExtensionResults: {} } as unknown as RegistrationResponseJSON & AuthenticationResponseJSON;
}

/** The library's refusals, in our words (its messages name the check that failed). */
function refusalOf(err: unknown): PasskeyRefusal {
  const message = err instanceof Error ? err.message : '';
  if ((err as Error | undefined)?.name === 'UnexpectedRPIDHash') return 'wrong rp id';
  if (/response challenge/i.test(message)) return 'wrong challenge';
  if (/origin/i.test(message)) return 'wrong origin';
  if (/response type/i.test(message)) return 'wrong ceremony';
  return 'invalid response';
}

export function createPasskeys(deps: PasskeyDeps) {
  const expected = { expectedOrigin: deps.origin, expectedRPID: deps.rpId };

  function userHandle(username: string): Uint8Array {
    return createHmac('sha256', deps.secret).update(`postern passkey user handle\0${username}`).digest();
  }

  return {
    /** For `navigator.credentials.create()`: a new passkey for `user`, none of `existing` again. */
    registrationOptions(user: User, existing: readonly Passkey[]): Promise<PublicKeyCredentialCreationOptionsJSON> {
      return generateRegistrationOptions({
        rpName: deps.rpId,
        rpID: deps.rpId,
        userName: user.username,
        userDisplayName: user.name || user.username,
        userID: userHandle(user.username) as Uint8Array<ArrayBuffer>,
        timeout: CEREMONY_TIMEOUT_MS,
        attestationType: 'none',
        excludeCredentials: existing.map((p) => ({ id: p.id, transports: [...p.transports] })),
        // Discoverable when the authenticator can (passwordless sign-in needs it); user verification when it can.
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      });
    },

    /** Checks a `create()` response against `challenge`; the new passkey (named `name`) when it holds. */
    async verifyRegistration(args: { user: User; name: string; response: unknown; challenge: string }): Promise<RegistrationResult> {
      const response = parseCredentialResponse(args.response);
      if (response === undefined) return { ok: false, reason: 'malformed response' };
      let info;
      try {
        const verified = await verifyRegistrationResponse({ response, expectedChallenge: args.challenge, ...expected, requireUserVerification: false });
        if (!verified.verified) return { ok: false, reason: 'invalid response' };
        info = verified.registrationInfo;
      } catch (err) {
        return { ok: false, reason: refusalOf(err) };
      }
      const { credential } = info;
      await deps.counters.advance(credential.id, credential.counter);
      const transports = (credential.transports ?? []).filter((t) => (TRANSPORTS as readonly string[]).includes(t));
      const passkey: Passkey = {
        id: credential.id,
        name: args.name,
        publicKey: isoBase64URL.fromBuffer(credential.publicKey),
        transports,
        created: deps.now(),
        userVerified: info.userVerified,
      };
      return { ok: true, passkey: Object.freeze(passkey) };
    },

    /**
     * For `navigator.credentials.get()`. Without `allow`: any discoverable passkey of this site
     * (passwordless sign-in). With it: one of these (the second step of a known user).
     */
    authenticationOptions(allow?: readonly Passkey[]): Promise<PublicKeyCredentialRequestOptionsJSON> {
      return generateAuthenticationOptions({
        rpID: deps.rpId,
        timeout: CEREMONY_TIMEOUT_MS,
        userVerification: 'preferred',
        ...(allow ? { allowCredentials: allow.map((p) => ({ id: p.id, transports: [...p.transports] })) } : {}),
      });
    },

    /** Checks a `get()` response against `challenge`, for a credential `find` knows; moves its counter forward. */
    async verifyAuthentication(args: { response: unknown; challenge: string; find: CredentialLookup }): Promise<AuthenticationResult> {
      const response = parseCredentialResponse(args.response);
      if (response === undefined) return { ok: false, reason: 'malformed response' };
      const found = args.find(response.id);
      if (found === undefined) return { ok: false, reason: 'unknown credential' };
      const { user, passkey } = found;
      const refuse = (reason: PasskeyRefusal, detail?: Record<string, number>): AuthenticationResult => ({ ok: false, reason, user: user.username, ...(detail ? { detail } : {}) });
      // A discoverable credential names its user: it must be the owner the users file says.
      const handle = response.response.userHandle;
      if (handle !== undefined && handle !== isoBase64URL.fromBuffer(userHandle(user.username) as Uint8Array<ArrayBuffer>)) return refuse('wrong user handle');
      let info;
      try {
        const verified = await verifyAuthenticationResponse({
          response,
          expectedChallenge: args.challenge,
          ...expected,
          // Counter 0: the library's own counter check is skipped; ours follows a valid signature.
          credential: { id: passkey.id, publicKey: isoBase64URL.toBuffer(passkey.publicKey), counter: 0, transports: [...passkey.transports] },
          requireUserVerification: false,
        });
        if (!verified.verified) return refuse('bad signature');
        info = verified.authenticationInfo;
      } catch (err) {
        return refuse(refusalOf(err));
      }
      const advanced = await deps.counters.advance(passkey.id, info.newCounter);
      if (!advanced.ok) return refuse('counter went back', { counter: info.newCounter, stored: advanced.stored });
      return { ok: true, user, passkey, userVerified: info.userVerified };
    },
  };
}

export type Passkeys = ReturnType<typeof createPasskeys>;
