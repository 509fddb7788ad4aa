/**
 * Trusted devices: browsers that proved they know a user's password (see auth/device-trust.ts).
 * The store says which devices are trusted for whom, so that trust can be revoked explicitly
 * (`postern throttle clear --user`, user removal); the cookie's MAC binds it to the password.
 * One interface over Redis and memory; both pass test/integration/device-store.contract.test.ts.
 */

export interface DeviceRecord {
  /** The normalised username the device is trusted for. */
  readonly user: string;
  /** Epoch ms after which the trust has ended, whatever the store still holds. */
  readonly expires: number;
}

export interface DeviceStore {
  /** Trusts device `id` for `record.user` until `record.expires`. */
  add(id: string, record: DeviceRecord): Promise<void>;
  /** Undefined when unknown, revoked or expired. Rejects when the backend is down. */
  get(id: string): Promise<DeviceRecord | undefined>;
  /** Ends one device's trust (it reached its own limit). */
  remove(id: string): Promise<void>;
  /** Ends every device trust of `user` (normalised); returns how many were still trusted. */
  removeUser(user: string): Promise<number>;
}
