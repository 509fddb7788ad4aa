/**
 * Factor secrets at rest: AES-256-GCM under the encryption key (`secrets.encryption_key`, its
 * `_file`, or generated once into `<data_dir>/encryption.key`).
 *
 *   v1:<iv, 12 bytes, base64url>:<ciphertext + 16-byte tag, base64url>
 *
 * The key is derived from the configured text with HKDF-SHA256, so any text of 32 characters or
 * more will do. Each value is bound to what it is for (`context`, e.g. `totp:alice`) as associated
 * data: a secret copied under another user does not open. open() never throws: a value sealed
 * under another key, or tampered with, is `undefined`, and the caller refuses the factor.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEALED = /^v1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22,}$/;
/** The config key named in log lines about a value that does not open. */
export const ENCRYPTION_KEY_SETTING = 'secrets.encryption_key';
/** The file the key is generated into when the config gives none. */
export const ENCRYPTION_KEY_FILE = 'encryption.key';

export interface SecretBox {
  seal(plain: string, context: string): string;
  /** The plain text, or undefined when the value was sealed under another key or context, or altered. */
  open(sealed: string, context: string): string | undefined;
}

/** Whether `value` has the shape seal() writes (the users-file parser checks this; only open() can tell the key). */
export function isSealed(value: string): boolean {
  return SEALED.test(value);
}

export function createSecretBox(keyText: string): SecretBox {
  if (keyText.length < 32) throw new Error(`${ENCRYPTION_KEY_SETTING} must be at least 32 characters`);
  const key = Buffer.from(hkdfSync('sha256', keyText, Buffer.alloc(0), 'postern factor secrets v1', 32));
  return {
    seal(plain, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${VERSION}:${iv.toString('base64url')}:${body.toString('base64url')}`;
    },
    open(sealed, context) {
      if (!isSealed(sealed)) return undefined;
      const [, ivText, bodyText] = sealed.split(':') as [string, string, string];
      const iv = Buffer.from(ivText, 'base64url');
      const body = Buffer.from(bodyText, 'base64url');
      if (iv.length !== IV_BYTES || body.length <= TAG_BYTES) return undefined;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAAD(Buffer.from(context));
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
        return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
      } catch {
        return undefined; // wrong key, wrong context, or altered: the same answer
      }
    },
  };
}
