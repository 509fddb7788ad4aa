import { createHmac, randomBytes } from 'node:crypto';
import type { DeviceStore } from '../store/device-store.js';
import { constantEquals } from './constant-equals.js';
import type { User, UserDirectory } from './user.js';
import { normaliseUsername } from './username.js';

/**
 * Trusted devices (OWASP's "device cookies"): a browser that signed in with the right password gets
 * a cookie naming a device, and its later attempts for that username are judged by the device's own
 * limit only, so that a storm of guesses from elsewhere, which fills the per-user and per-address
 * windows, does not lock the owner out.
 *
 * The cookie is `<id>.<mac>`: a random id and an HMAC, under a key derived from the server secret, of
 * the id, the username and the fingerprint of the user's password hash. A device is trusted for an
 * attempt when all of these hold, cheapest first:
 *   1. the cookie has that shape;
 *   2. the username the attempt names exists and is enabled;
 *   3. the MAC matches for that username and its CURRENT password (a password change ends the
 *      trust of every device at once, without any store);
 *   4. the store still trusts the id for that username, until its expiry (explicit revocation:
 *      `postern throttle clear --user`, user removal, a device that reached its own limit).
 * Anything else (absent, forged, expired, another user's, the store down) is "no device": the
 * ordinary limits apply, never an error.
 */

export interface DeviceTrust {
  /** The device the cookie proves for `username`, or undefined. Never rejects. */
  recognise(cookie: string | undefined, username: string): Promise<string | undefined>;
  /** A new trusted device for `user`: the cookie value, or undefined when the store could not keep it. */
  issue(user: User): Promise<string | undefined>;
  /** Ends one device's trust. Never rejects. */
  forget(deviceId: string): Promise<void>;
  /** Ends every device trust of `username`; returns how many. Rejects when the store is down (the CLI must say so). */
  revokeUser(username: string): Promise<number>;
}

export interface DeviceTrustOptions {
  readonly store: DeviceStore;
  /** The server secret; the MAC key is derived from it, so that no other MAC of ours can pass for one. */
  readonly secret: string;
  readonly users: UserDirectory;
  /** The fingerprint of a user's password hash (identity.ts createPasswordFingerprint). */
  readonly passwordFingerprint: (user: User) => string;
  /** How long a device stays trusted, in ms. */
  readonly ttlMs: number;
  readonly now: () => number;
  /** The store failed; the attempt goes on with the ordinary limits. Called once per outage. */
  readonly onStoreFailure?: (err: Error) => void;
}

/** `<22 base64url: 16 random bytes>.<43 base64url: HMAC-SHA256>`. */
const COOKIE_SHAPE = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/** Whether a cookie value has a device cookie's shape: what the address gate may look at before the body is read. */
export function looksLikeDeviceCookie(value: string | undefined): boolean {
  return value !== undefined && COOKIE_SHAPE.test(value);
}

export function createDeviceTrust(opts: DeviceTrustOptions): DeviceTrust {
  const key = createHmac('sha256', opts.secret).update('postern device trust v1').digest();
  const mac = (id: string, user: User): string =>
    createHmac('sha256', key).update(`${id}\n${normaliseUsername(user.username)}\n${opts.passwordFingerprint(user)}`).digest('base64url');
  let down = false;
  const failed = (err: unknown): void => {
    if (down) return;
    down = true;
    opts.onStoreFailure?.(err instanceof Error ? err : new Error(String(err)));
  };
  const answered = <T>(value: T): T => {
    down = false;
    return value;
  };

  return {
    async recognise(cookie, username) {
      const parts = cookie === undefined ? null : COOKIE_SHAPE.exec(cookie);
      if (!parts) return undefined;
      const user = opts.users.find(username);
      if (!user || user.disabled) return undefined;
      const id = parts[1]!;
      if (!constantEquals(parts[2]!, mac(id, user))) return undefined;
      try {
        const record = answered(await opts.store.get(id));
        return record !== undefined && record.user === normaliseUsername(user.username) && record.expires > opts.now() ? id : undefined;
      } catch (err) {
        failed(err);
        return undefined;
      }
    },

    async issue(user) {
      const id = randomBytes(16).toString('base64url');
      try {
        answered(await opts.store.add(id, { user: normaliseUsername(user.username), expires: opts.now() + opts.ttlMs }));
      } catch (err) {
        failed(err);
        return undefined;
      }
      return `${id}.${mac(id, user)}`;
    },

    async forget(deviceId) {
      try {
        answered(await opts.store.remove(deviceId));
      } catch (err) {
        failed(err);
      }
    },

    revokeUser(username) {
      return opts.store.removeUser(normaliseUsername(username));
    },
  };
}
