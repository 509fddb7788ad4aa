/**
 * A software authenticator for tests: an ES256 key pair from node:crypto, and the bytes a browser
 * would send for it, built by hand (attestation `none`, assertions signed over authenticatorData ||
 * SHA-256(clientDataJSON)). Every field a refusal test needs to get wrong can be overridden.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import type { Passkey } from '../../src/factors/passkey-parse.js';

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

/** What the relying party asked for, as far as an authenticator cares. */
export interface Ceremony {
  /** The challenge from the options (base64url). */
  readonly challenge: string;
  /** The page's origin, as the browser reports it in clientDataJSON. */
  readonly origin: string;
  /** The relying party id the authenticator scopes its key to (its SHA-256 is in authenticatorData). */
  readonly rpId: string;
}

export interface SoftAuthenticatorOptions {
  /** Whether the authenticator verifies its user (PIN, biometrics): the UV flag. Default true. */
  readonly userVerified?: boolean;
  /** The signature count it starts from; each assertion adds one. Default 0 (an authenticator that does not count stays 0). */
  readonly counter?: number;
  /** Whether it counts its signatures at all. Default true. */
  readonly counts?: boolean;
}

export class SoftAuthenticator {
  credentialId: string;
  #privateKey: KeyObject;
  #cosePublicKey: Uint8Array;
  readonly #userVerified: boolean;
  readonly #counts: boolean;
  /** The last count it signed (tests set it back to act as a clone). */
  counter: number;
  /** The user handle it was given at registration (base64url), returned with every assertion. */
  userHandle: string | undefined;

  constructor(opts: SoftAuthenticatorOptions = {}) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    this.#privateKey = privateKey;
    // COSE_Key: kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y.
    this.#cosePublicKey = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
    this.credentialId = b64url(randomBytes(32));
    this.#userVerified = opts.userVerified ?? true;
    this.#counts = opts.counts ?? true;
    this.counter = opts.counter ?? 0;
  }

  /** Another authenticator holding this one's key and credential (a cloned authenticator), counting from `counter`. */
  clone(counter: number): SoftAuthenticator {
    const copy = new SoftAuthenticator({ userVerified: this.#userVerified, counts: this.#counts, counter });
    copy.#privateKey = this.#privateKey;
    copy.#cosePublicKey = this.#cosePublicKey;
    copy.credentialId = this.credentialId;
    copy.userHandle = this.userHandle;
    return copy;
  }

  /** This credential as the users file holds it (`factors.passkeys`), as if registered on the account page. */
  passkey(name: string, created = Date.parse('2026-12-01T00:00:00Z')): Passkey {
    return { id: this.credentialId, name, publicKey: b64url(this.#cosePublicKey), transports: ['internal'], created, userVerified: this.#userVerified };
  }

  /** The `navigator.credentials.create()` result, as PublicKeyCredential.toJSON() writes it. */
  register(c: Ceremony & { readonly userHandle?: string; readonly type?: string }): Record<string, unknown> {
    this.userHandle = c.userHandle;
    const clientDataJSON = JSON.stringify({ type: c.type ?? 'webauthn.create', challenge: c.challenge, origin: c.origin, crossOrigin: false });
    const id = Buffer.from(this.credentialId, 'base64url');
    const length = Buffer.alloc(2);
    length.writeUInt16BE(id.length);
    const authData = Buffer.concat([this.#header(c.rpId, FLAG_AT), Buffer.alloc(16), length, id, this.#cosePublicKey]);
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]) as never);
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      response: { clientDataJSON: b64url(Buffer.from(clientDataJSON)), attestationObject: b64url(attestationObject), transports: ['internal'] },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** The `navigator.credentials.get()` result for this credential, signed, counting one more use. */
  assert(c: Ceremony & { readonly type?: string; readonly userHandle?: string | null }): Record<string, unknown> {
    if (this.#counts) this.counter += 1;
    const clientDataJSON = Buffer.from(JSON.stringify({ type: c.type ?? 'webauthn.get', challenge: c.challenge, origin: c.origin, crossOrigin: false }));
    const authData = this.#header(c.rpId, 0);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), this.#privateKey);
    const userHandle = c.userHandle === undefined ? this.userHandle : c.userHandle;
    return {
      id: this.credentialId,
      rawId: this.credentialId,
      type: 'public-key',
      response: { clientDataJSON: b64url(clientDataJSON), authenticatorData: b64url(authData), signature: b64url(signature), ...(userHandle ? { userHandle } : {}) },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** rpIdHash (32) | flags (1) | signCount (4, big-endian). */
  #header(rpId: string, extraFlags: number): Buffer {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(this.counter);
    const flags = FLAG_UP | (this.#userVerified ? FLAG_UV : 0) | extraFlags;
    return Buffer.concat([sha256(rpId), Buffer.from([flags]), count]);
  }
}
